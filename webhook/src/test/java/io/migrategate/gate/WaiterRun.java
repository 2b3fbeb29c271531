package io.migrategate.gate;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The waiter as its own process, configured by environment like the injected container. Uses the
 * packaged jar with the image's JVM options (waiter/target, built earlier in the reactor) when it
 * is there, else this JVM's class path.
 */
final class WaiterRun implements AutoCloseable {
  private final Process process;
  private final StringBuffer output = new StringBuffer();
  private final Path terminationLog;
  private final Thread reader;

  /** System.nanoTime() when the process was seen to exit. */
  final CompletableFuture<Long> exitedAtNanos;

  private WaiterRun(Process process, Path terminationLog) {
    this.process = process;
    this.terminationLog = terminationLog;
    this.exitedAtNanos = process.onExit().thenApply(p -> System.nanoTime());
    this.reader =
        new Thread(
            () -> {
              try (BufferedReader lines =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                  output.append(line).append('\n');
                }
              } catch (IOException e) {
                // the process is gone
              }
            },
            "waiter-output");
    reader.setDaemon(true);
    reader.start();
  }

  static WaiterRun start(Path dir, Map<String, String> env) {
    try {
      Files.createDirectories(dir);
      Path terminationLog = dir.resolve("termination-log");
      ProcessBuilder builder = new ProcessBuilder(command()).redirectErrorStream(true);
      builder.environment().keySet().removeIf(key -> key.startsWith("MIGRATE_GATE_"));
      builder.environment().putAll(env);
      builder.environment().put("MIGRATE_GATE_TERMINATION_LOG", terminationLog.toString());
      return new WaiterRun(builder.start(), terminationLog);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Gate-mode env for Jobs {@code jobs} of {@code namespace}. */
  static Map<String, String> gateEnv(
      String gateUrl, String caPem, Path tokenFile, String namespace, String jobs) {
    return Map.of(
        "MIGRATE_GATE_NAMESPACE", namespace,
        "MIGRATE_GATE_JOBS", jobs,
        "MIGRATE_GATE_URL", gateUrl,
        "MIGRATE_GATE_CA", caPem,
        "MIGRATE_GATE_TOKEN_FILE", tokenFile.toString(),
        "MIGRATE_GATE_TIMEOUT", "3m");
  }

  static List<String> command() {
    Path target =
        Path.of(System.getProperty("migrategate.projectRoot", "..")).resolve("waiter/target");
    Path jar = target.resolve("migrate-gate-waiter.jar").toAbsolutePath();
    Path jvmOptions = target.resolve("waiter.jvmopts").toAbsolutePath();
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    if (Files.isRegularFile(jar) && Files.isRegularFile(jvmOptions)) {
      command.add("@" + jvmOptions);
      Path archive = target.resolve("migrate-gate-waiter.jsa").toAbsolutePath();
      if (Files.isRegularFile(archive)) {
        command.add("-XX:SharedArchiveFile=" + archive);
      }
      command.add("-jar");
      command.add(jar.toString());
    } else {
      command.add("-XX:TieredStopAtLevel=1");
      command.add("-XX:+UseSerialGC");
      command.add("-cp");
      command.add(System.getProperty("java.class.path"));
      command.add("io.migrategate.wait.WaiterMain");
    }
    return command;
  }

  String output() {
    return output.toString();
  }

  boolean logged(String event) {
    return output.toString().contains("event=" + event);
  }

  int awaitExit(Duration timeout) throws Exception {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("the waiter did not exit within " + timeout + ":\n" + output());
    }
    exitedAtNanos.get(5, TimeUnit.SECONDS);
    // The last lines may still be in the pipe: the reader ends at its end of file.
    reader.join(5_000);
    return process.exitValue();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  String terminationLog() throws IOException {
    return Files.exists(terminationLog) ? Files.readString(terminationLog).trim() : "";
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
