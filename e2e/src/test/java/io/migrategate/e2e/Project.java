package io.migrategate.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
 * The build this suite tests: the image archives of {@code mvn package} (target/images), the
 * manifests, and kubectl and helm as local-cluster/build made them.
 */
final class Project {
  /** One image as target/images/images.json lists it. */
  record Image(String name, String reference, Path archive) {
    /** The reference without its tag ({@code migrate-gate.local/waiter}). */
    String repository() {
      return reference.substring(0, reference.lastIndexOf(':'));
    }

    String tag() {
      return reference.substring(reference.lastIndexOf(':') + 1);
    }
  }

  /** What one command did. */
  record Result(List<String> command, int exitCode, String stdout, String stderr) {
    Result requireSuccess() {
      if (exitCode != 0) {
        throw new AssertionError(
            String.join(" ", command) + " failed (exit " + exitCode + "):\n" + stderr + stdout);
      }
      return this;
    }
  }

  static final Path ROOT = root();
  private static final Map<String, String> PATHS = paths();

  private Project() {}

  /** The gate's and the waiter's images, as built by this build. */
  static Image image(String name) {
    Path summary = ROOT.resolve("target/images/images.json");
    if (!Files.isRegularFile(summary)) {
      throw new IllegalStateException(
          summary + " is missing: the images are built by mvn -B package (module images)");
    }
    try {
      for (JsonNode node : new ObjectMapper().readTree(summary.toFile())) {
        if (node.get("name").asText().equals(name)) {
          return new Image(
              name, node.get("reference").asText(), Path.of(node.get("archive").asText()));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    throw new IllegalStateException("no image " + name + " in " + summary);
  }

  static Path manifests() {
    return ROOT.resolve("manifests");
  }

  static Result kubectl(Path kubeconfig, String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(PATHS.get("KUBE_BIN_DIR"), "kubectl").toString());
    command.add("--kubeconfig=" + kubeconfig);
    command.addAll(List.of(args));
    return run(command, Map.of());
  }

  static Result helm(Path kubeconfig, String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(PATHS.get("HELM_BIN_DIR"), "helm").toString());
    command.add("--kubeconfig=" + kubeconfig.toString());
    command.addAll(List.of(args));
    Path home = ROOT.resolve("e2e/target/helm-home");
    return run(
        command,
        Map.of(
            "HELM_CACHE_HOME", home.resolve("cache").toString(),
            "HELM_CONFIG_HOME", home.resolve("config").toString(),
            "HELM_DATA_HOME", home.resolve("data").toString()));
  }

  private static Result run(List<String> command, Map<String, String> env) {
    try {
      Path out = Files.createTempFile("e2e-tool-", ".out");
      Path err = Files.createTempFile("e2e-tool-", ".err");
      try {
        ProcessBuilder builder =
            new ProcessBuilder(command)
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        builder.environment().putAll(env);
        Process process = builder.start();
        Duration timeout = Duration.ofMinutes(3);
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly();
          throw new AssertionError(String.join(" ", command) + " did not finish within " + timeout);
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
      throw new AssertionError("interrupted: " + command, e);
    }
  }

  private static Path root() {
    String property = System.getProperty("migrategate.projectRoot");
    if (property != null && Files.isDirectory(Path.of(property, "manifests"))) {
      return Path.of(property).toAbsolutePath();
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isExecutable(dir.resolve("local-cluster/paths"))) {
        return dir;
      }
    }
    throw new IllegalStateException("cannot find the project root: set -Dmigrategate.projectRoot");
  }

  private static Map<String, String> paths() {
    Result result = run(List.of(ROOT.resolve("local-cluster/paths").toString()), Map.of());
    result.requireSuccess();
    Map<String, String> values = new HashMap<>();
    for (String line : result.stdout().split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        values.put(line.substring(0, eq), line.substring(eq + 1).trim());
      }
    }
    return values;
  }
}
