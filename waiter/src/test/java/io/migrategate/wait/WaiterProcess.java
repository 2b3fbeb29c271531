package io.migrategate.wait;

import io.migrategate.cluster.LocalCluster;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The packaged waiter jar run as its own process, with the JVM options of the image entrypoint
 * (waiter/target/waiter.jvmopts) and the AppCDS archive, as the kubelet would run it.
 */
final class WaiterProcess implements AutoCloseable {
  private final Process process;
  private final Path stdout;
  private final Path terminationLog;

  /** System.nanoTime() when the process was seen to exit. */
  private final CompletableFuture<Long> exitedAtNanos;

  private WaiterProcess(Process process, Path stdout, Path terminationLog) {
    this.process = process;
    this.stdout = stdout;
    this.terminationLog = terminationLog;
    this.exitedAtNanos = process.onExit().thenApply(p -> System.nanoTime());
  }

  /**
   * {@code java <the image's JVM options> [-XX:SharedArchiveFile=<archive>] -jar <packaged jar>}:
   * the waiter as the image entrypoint runs it, from waiter/target.
   */
  static List<String> javaCommand() {
    Path target =
        Path.of(System.getProperty("migrategate.projectRoot", "..")).resolve("waiter/target");
    Path jar = target.resolve("migrate-gate-waiter.jar").toAbsolutePath();
    Path jvmOptions = target.resolve("waiter.jvmopts").toAbsolutePath();
    if (!Files.isRegularFile(jar) || !Files.isRegularFile(jvmOptions)) {
      throw new AssertionError(
          "the packaged waiter is missing ("
              + jar
              + "); cluster tests run after package (mvn verify)");
    }
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("@" + jvmOptions);
    Path archive = target.resolve("migrate-gate-waiter.jsa").toAbsolutePath();
    if (Files.isRegularFile(archive)) {
      command.add("-XX:SharedArchiveFile=" + archive);
    }
    command.add("-jar");
    command.add(jar.toString());
    return command;
  }

  /** Starts the waiter with {@code args}; its output and termination log go to {@code dir}. */
  static WaiterProcess start(Path dir, String... args) {
    return start(dir, List.of(), args);
  }

  /**
   * Starts the waiter behind {@code wrapper} (e.g. {@code /usr/bin/time -f %M -o file}) with {@code
   * args}; its output and termination log go to {@code dir}.
   */
  static WaiterProcess start(Path dir, List<String> wrapper, String... args) {
    List<String> command = new ArrayList<>(wrapper);
    command.addAll(javaCommand());
    command.addAll(List.of(args));
    Path terminationLog = dir.resolve("termination-log");
    command.add("--termination-log");
    command.add(terminationLog.toString());
    Path stdout = dir.resolve("waiter.log");
    try {
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(stdout.toFile())
              .start();
      return new WaiterProcess(process, stdout, terminationLog);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
  }

  /**
   * Waits for the exit and returns the exit code; fails the test if it runs past {@code timeout}.
   */
  int awaitExit(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError(
            "the waiter is still running after " + timeout + "; its log:\n" + log());
      }
      return process.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** Waits until the log holds {@code fragment}, failing (with the log) after {@code timeout}. */
  void awaitLog(String fragment, Duration timeout) {
    try {
      LocalCluster.await(
          "waiter log line containing \"" + fragment + "\"",
          timeout,
          () -> {
            if (log().contains(fragment)) {
              return true;
            }
            // Read again once it is seen dead: it may have logged and exited between the two.
            if (!process.isAlive() && !log().contains(fragment)) {
              throw new AssertionError(
                  "the waiter exited "
                      + process.exitValue()
                      + " before logging \""
                      + fragment
                      + "\":\n"
                      + log());
            }
            return false;
          });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "\nwaiter log:\n" + log(), e);
    }
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** System.nanoTime() at which the exit was observed (after {@link #awaitExit}). */
  long exitedAtNanos() {
    return exitedAtNanos.join();
  }

  String log() {
    try {
      return Files.readString(stdout, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  String terminationMessage() {
    try {
      return Files.readString(terminationLog, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no termination log: " + e + ")";
    }
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
    }
  }
}
