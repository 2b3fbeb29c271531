package io.migrategate.cluster;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the local-cluster scripts (and other commands) for tests, stdout and stderr together. */
final class Scripts {
  private Scripts() {}

  record Result(int exitCode, String output) {
    /** The last non-blank line (the scripts print their answer last, e.g. the kubeconfig path). */
    String lastLine() {
      String[] lines = output.strip().split("\n");
      return lines[lines.length - 1].strip();
    }
  }

  /** {@code local-cluster/SCRIPT ARGS...} with extra environment variables. */
  static Result run(Map<String, String> env, String script, String... args) {
    List<String> command = new ArrayList<>();
    command.add(LocalCluster.scriptsDir().resolve(script).toString());
    command.addAll(List.of(args));
    return execute(env, command);
  }

  static Result command(String... command) {
    return execute(Map.of(), List.of(command));
  }

  /** {@code local-cluster/paths ARGS...} as a map. */
  static Map<String, String> paths(String... args) {
    Result result = run(Map.of(), "paths", args);
    assertTrue(result.exitCode() == 0, result.output());
    Map<String, String> paths = new HashMap<>();
    for (String line : result.output().split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        paths.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    return paths;
  }

  private static Result execute(Map<String, String> env, List<String> command) {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putAll(env);
    try {
      Process process = builder.start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(process.waitFor(10, TimeUnit.MINUTES), command + " finished");
      return new Result(process.exitValue(), output);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + command, e);
    }
  }
}
