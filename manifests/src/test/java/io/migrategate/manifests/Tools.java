package io.migrategate.manifests;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
 * kubectl and helm as the control plane's build left them (local-cluster/build compiles both from
 * their Go modules; nothing is downloaded), and a way to run them with a deadline.
 */
final class Tools {
  /** What one command did. */
  record Result(List<String> command, int exitCode, String stdout, String stderr) {
    Result requireSuccess() {
      if (exitCode != 0) {
        throw new AssertionError(
            String.join(" ", command) + " failed with exit code " + exitCode + ":\n" + stderr);
      }
      return this;
    }
  }

  private static final Duration TIMEOUT = Duration.ofMinutes(2);
  private static Tools instance;

  final Path projectRoot;
  final Path kubectl;
  final Path helm;

  /** The version the local control plane runs; helm renders for it. */
  final String kubeVersion;

  private Tools(Path projectRoot, Map<String, String> paths) {
    this.projectRoot = projectRoot;
    this.kubectl = Path.of(paths.get("KUBE_BIN_DIR"), "kubectl");
    this.helm = Path.of(paths.get("HELM_BIN_DIR"), "helm");
    this.kubeVersion = paths.get("KUBE_VERSION");
  }

  /** The tools, or the test is skipped saying how to build them. */
  static synchronized Tools get() {
    if (instance == null) {
      Path root = projectRoot();
      Result paths = run(List.of(root.resolve("local-cluster/paths").toString()), null);
      paths.requireSuccess();
      Map<String, String> values = new HashMap<>();
      for (String line : paths.stdout().split("\n")) {
        int eq = line.indexOf('=');
        if (eq > 0) {
          values.put(line.substring(0, eq), line.substring(eq + 1).trim());
        }
      }
      instance = new Tools(root, values);
    }
    assumeTrue(
        Files.isExecutable(instance.kubectl) && Files.isExecutable(instance.helm),
        "kubectl and helm are not built yet ("
            + instance.kubectl
            + ", "
            + instance.helm
            + "): run local-cluster/build, which compiles them from their Go modules");
    return instance;
  }

  Path manifests() {
    return projectRoot.resolve("manifests");
  }

  Path chart() {
    return manifests().resolve("helm/migrate-gate");
  }

  Result kubectl(Path kubeconfig, String stdin, String... args) {
    List<String> command = new ArrayList<>();
    command.add(kubectl.toString());
    if (kubeconfig != null) {
      command.add("--kubeconfig=" + kubeconfig);
    }
    command.addAll(List.of(args));
    return run(command, stdin);
  }

  Result helm(String... args) {
    List<String> command = new ArrayList<>();
    command.add(helm.toString());
    command.addAll(List.of(args));
    return run(command, null);
  }

  private static Path projectRoot() {
    String property = System.getProperty("migrategate.projectRoot");
    if (property != null && Files.isDirectory(Path.of(property, "manifests"))) {
      return Path.of(property).toAbsolutePath();
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isExecutable(dir.resolve("local-cluster/paths"))
          && Files.isDirectory(dir.resolve("manifests"))) {
        return dir;
      }
    }
    throw new IllegalStateException(
        "cannot find the project root (local-cluster/paths and manifests/): run the tests from"
            + " inside the repository or set -Dmigrategate.projectRoot");
  }

  private static Result run(List<String> command, String stdin) {
    try {
      Path out = Files.createTempFile("manifests-tool-", ".out");
      Path err = Files.createTempFile("manifests-tool-", ".err");
      try {
        ProcessBuilder builder =
            new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        // helm keeps caches and plugins under $HOME; keep it from touching the user's.
        builder.environment().put("HELM_CACHE_HOME", tempHelmHome().resolve("cache").toString());
        builder.environment().put("HELM_CONFIG_HOME", tempHelmHome().resolve("config").toString());
        builder.environment().put("HELM_DATA_HOME", tempHelmHome().resolve("data").toString());
        if (stdin == null) {
          builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        }
        Process process = builder.start();
        if (stdin != null) {
          try (var in = process.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
          }
        }
        if (!process.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly();
          throw new AssertionError(String.join(" ", command) + " did not finish within " + TIMEOUT);
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
      throw new UncheckedIOException("cannot run " + String.join(" ", command), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted running " + String.join(" ", command), e);
    }
  }

  private static Path helmHome;

  private static synchronized Path tempHelmHome() throws IOException {
    if (helmHome == null) {
      helmHome = Files.createTempDirectory("manifests-helm-home-");
    }
    return helmHome;
  }
}
