package io.migrategate.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Measurements the scenarios make on the way (a waiter's peak memory, ...), appended as lines
 * {@code name value unit} to {@code e2e/target/e2e-figures/figures.txt} and printed, so a run
 * leaves the numbers it saw.
 */
final class Figures {
  private Figures() {}

  static void record(String name, double value, String unit) {
    String line = name + " " + value + " " + unit;
    System.out.println("[e2e figure] " + line);
    Path dir = Path.of(System.getProperty("migrategate.e2e.figures", "target/e2e-figures"));
    try {
      Files.createDirectories(dir);
      Files.writeString(
          dir.resolve("figures.txt"),
          line + "\n",
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
