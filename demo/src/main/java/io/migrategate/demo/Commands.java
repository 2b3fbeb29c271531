package io.migrategate.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a short command (kubectl, local-cluster/up) with a deadline and keeps what it printed. */
final class Commands {
  record Result(List<String> command, int exitCode, String stdout, String stderr) {
    Result requireSuccess(String what) {
      if (exitCode != 0) {
        throw new SetupException(
            what
                + " failed (exit "
                + exitCode
                + "): "
                + String.join(" ", command)
                + "\n"
                + (stderr.isBlank() ? stdout : stderr).strip());
      }
      return this;
    }
  }

  private Commands() {}

  static Result run(List<String> command, Duration timeout) {
    return run(command, null, timeout);
  }

  /** With {@code stdin} as the command's standard input (none: /dev/null). */
  static Result run(List<String> command, String stdin, Duration timeout) {
    try {
      Path stdout = Files.createTempFile("migrate-gate-demo-", ".out");
      Path stderr = Files.createTempFile("migrate-gate-demo-", ".err");
      Path input = Files.createTempFile("migrate-gate-demo-", ".in");
      try {
        Files.writeString(input, stdin == null ? "" : stdin, StandardCharsets.UTF_8);
        Process process =
            new ProcessBuilder(command)
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(input.toFile()))
                .start();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly();
          throw new SetupException(
              String.join(" ", command) + " did not finish within " + timeout.toSeconds() + " s");
        }
        return new Result(
            command,
            process.exitValue(),
            Files.readString(stdout, StandardCharsets.UTF_8),
            Files.readString(stderr, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(stdout);
        Files.deleteIfExists(stderr);
        Files.deleteIfExists(input);
      }
    } catch (IOException e) {
      throw new SetupException(
          "cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SetupException("interrupted running " + String.join(" ", command), e);
    }
  }
}
