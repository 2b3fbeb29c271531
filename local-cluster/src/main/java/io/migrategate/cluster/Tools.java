package io.migrategate.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * kubectl and helm as local-cluster/build made them (compiled from their Go modules), run with a
 * deadline and a kubeconfig; helm's caches kept out of the user's home.
 */
public final class Tools {
  /** What one command did. */
  public record Result(List<String> command, int exitCode, String stdout, String stderr) {
    /** This result, or an error naming the command, its exit code and its output. */
    public Result requireSuccess() {
      if (exitCode != 0) {
        throw new IllegalStateException(
            String.join(" ", command) + " failed (exit " + exitCode + "):\n" + stderr + stdout);
      }
      return this;
    }
  }

  private static final Duration TIMEOUT = Duration.ofMinutes(3);
  private static Map<String, String> paths;

  private Tools() {}

  /** The repository root (the folder holding local-cluster/). */
  public static Path projectRoot() {
    return LocalCluster.scriptsDir().getParent();
  }

  public static Result kubectl(Path kubeconfig, String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(paths().get("KUBE_BIN_DIR"), "kubectl").toString());
    command.add("--kubeconfig=" + kubeconfig);
    command.addAll(List.of(args));
    return run(command, Map.of());
  }

  /**
   * A shell script as a reader of the docs runs it: this build's kubectl and helm first on the
   * PATH, KUBECONFIG set.
   */
  public static Result shell(Path kubeconfig, String script) {
    String path =
        paths().get("KUBE_BIN_DIR")
            + ":"
            + paths().get("HELM_BIN_DIR")
            + ":"
            + System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    return run(
        List.of("bash", "-c", script), Map.of("PATH", path, "KUBECONFIG", kubeconfig.toString()));
  }

  public static Result helm(Path kubeconfig, String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(paths().get("HELM_BIN_DIR"), "helm").toString());
    command.add("--kubeconfig=" + kubeconfig);
    command.addAll(List.of(args));
    Path home = projectRoot().resolve("target/helm-home");
    return run(
        command,
        Map.of(
            "HELM_CACHE_HOME", home.resolve("cache").toString(),
            "HELM_CONFIG_HOME", home.resolve("config").toString(),
            "HELM_DATA_HOME", home.resolve("data").toString()));
  }

  /**
   * The archive of one of the real node's own images ({@code busybox}, {@code pause}, {@code
   * coredns}) as {@code local-cluster/build --real-node} wrote it, for clusters that need it loaded
   * (K3s).
   */
  public static Path nodeImageArchive(String name) {
    Path dir = Path.of(paths().get("NODE_IMAGE_DIR"));
    try (var files = Files.list(dir)) {
      return files
          .filter(f -> f.getFileName().toString().matches(name + "-[0-9a-f]+\\.tar"))
          .findFirst()
          .orElseThrow(
              () ->
                  new IllegalStateException(
                      "no " + name + " image in " + dir + ": run local-cluster/build --real-node"));
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot list " + dir + ": run local-cluster/build --real-node", e);
    }
  }

  private static synchronized Map<String, String> paths() {
    if (paths == null) {
      // The real node's paths are a superset: the tools, and where its images are written.
      Result result =
          run(
              List.of(LocalCluster.scriptsDir().resolve("paths").toString(), "--real-node"),
              Map.of());
      result.requireSuccess();
      Map<String, String> values = new HashMap<>();
      for (String line : result.stdout().split("\n")) {
        int eq = line.indexOf('=');
        if (eq > 0) {
          values.put(line.substring(0, eq), line.substring(eq + 1).trim());
        }
      }
      paths = values;
    }
    return paths;
  }

  private static Result run(List<String> command, Map<String, String> env) {
    try {
      Path out = Files.createTempFile("local-cluster-tool-", ".out");
      Path err = Files.createTempFile("local-cluster-tool-", ".err");
      try {
        ProcessBuilder builder =
            new ProcessBuilder(command)
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        builder.environment().putAll(env);
        Process process = builder.start();
        if (!process.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly();
          throw new IllegalStateException(
              String.join(" ", command) + " did not finish within " + TIMEOUT);
        }
        return new Result(
            List.copyOf(command),
            process.exitValue(),
            Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted: " + command, e);
    }
  }
}
