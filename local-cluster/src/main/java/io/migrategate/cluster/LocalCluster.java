package io.migrategate.cluster;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A real local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok)
 * run by the scripts in {@code local-cluster/}; this class is only their Java handle, so the
 * scripts stay the one launcher (tests, demo and users share it).
 *
 * <p>One per JVM: {@link #shared()} reuses a control plane that is already running (for example one
 * started by {@code .ci/run}) and otherwise starts one and stops it when the JVM exits.
 */
public final class LocalCluster {

  private static LocalCluster shared;

  private final Path scriptsDir;
  private final Path kubeconfig;
  private final Path binDir;
  private final Path stateDir;
  private final KubernetesClient client;

  private LocalCluster(Path scriptsDir, Path kubeconfig, Map<String, String> paths) {
    this.scriptsDir = scriptsDir;
    this.kubeconfig = kubeconfig;
    this.binDir = Path.of(paths.get("KUBE_BIN_DIR"));
    this.stateDir = Path.of(paths.get("STATE_DIR"));
    this.client = newClient(kubeconfig);
  }

  /**
   * The control plane of this test run, started on first use. Several test JVMs (Maven modules, or
   * parallel runs) share it: each holds a shared lock on {@code users.lock} in the state folder
   * while it lives; the last one to exit stops a control plane that a test JVM started. One started
   * outside the tests ({@code .ci/run}, a user's {@code local-cluster/up}) is left running.
   */
  public static synchronized LocalCluster shared() {
    if (shared == null) {
      Path scripts = scriptsDir();
      boolean alreadyRunning = run(scripts, Duration.ofMinutes(2), "status").exitCode() == 0;
      ScriptResult up = run(scripts, Duration.ofMinutes(60), "up");
      if (up.exitCode() != 0) {
        throw new IllegalStateException(
            "local-cluster/up failed (exit " + up.exitCode() + "):\n" + up.output());
      }
      Path kubeconfig = Path.of(up.lastLine());
      shared =
          new LocalCluster(
              scripts, kubeconfig, parsePaths(run(scripts, Duration.ofSeconds(10), "paths")));
      shared.registerUser(!alreadyRunning);
    }
    return shared;
  }

  private void registerUser(boolean startedHere) {
    Path marker = stateDir.resolve("started-by-tests");
    try {
      if (startedHere) {
        Files.writeString(marker, ProcessHandle.current().pid() + "\n");
      }
      FileChannel lockFile =
          FileChannel.open(
              stateDir.resolve("users.lock"),
              StandardOpenOption.CREATE,
              StandardOpenOption.READ,
              StandardOpenOption.WRITE);
      FileLock userLock = lockFile.lock(0, Long.MAX_VALUE, true);
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    try {
                      userLock.release();
                      FileLock last = lockFile.tryLock();
                      if (last != null && Files.exists(marker)) {
                        run(scriptsDir, Duration.ofSeconds(60), "down");
                      }
                    } catch (IOException | RuntimeException e) {
                      System.err.println("[local-cluster] could not stop the control plane: " + e);
                    }
                  },
                  "local-cluster-down"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot register with the control plane in " + stateDir, e);
    }
  }

  /** Admin kubeconfig file. */
  public Path kubeconfig() {
    return kubeconfig;
  }

  /** A fabric8 client with cluster-admin rights, shared; do not close it. */
  public KubernetesClient client() {
    return client;
  }

  /** A new admin client (for tests that need their own connection pool or close it). */
  public KubernetesClient newClient() {
    return newClient(kubeconfig);
  }

  /** The API server URL, e.g. {@code https://127.0.0.1:34567}. */
  public String apiServerUrl() {
    return client.getConfiguration().getMasterUrl().replaceAll("/$", "");
  }

  /**
   * Creates a namespace with a unique name starting with {@code prefix}, with the given labels, and
   * waits until its default ServiceAccount exists (pods are rejected before that).
   */
  public String createNamespace(String prefix, Map<String, String> labels) {
    String name =
        prefix.toLowerCase(Locale.ROOT)
            + "-"
            + Long.toString(ThreadLocalRandom.current().nextLong(36L * 36 * 36 * 36 * 36), 36);
    client
        .namespaces()
        .resource(
            new NamespaceBuilder()
                .withNewMetadata()
                .withName(name)
                .withLabels(new HashMap<>(labels))
                .endMetadata()
                .build())
        .create();
    await(
        "ServiceAccount " + name + "/default created by kube-controller-manager",
        Duration.ofSeconds(90),
        () -> client.serviceAccounts().inNamespace(name).withName("default").get() != null);
    return name;
  }

  /** Stops and starts kube-apiserver on the same port, returns when it is ready again. */
  public void restartApiServer() {
    restart("kube-apiserver");
  }

  /**
   * Restarts one component (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok).
   */
  public void restart(String component) {
    ScriptResult result = run(scriptsDir, Duration.ofMinutes(3), "restart", component);
    if (result.exitCode() != 0) {
      throw new IllegalStateException(
          "local-cluster/restart " + component + " failed:\n" + result.output());
    }
  }

  /** The folder holding kubectl, kube-apiserver, etcd, ... of the cached build. */
  public Path binDir() {
    return binDir;
  }

  /**
   * Log file of one component (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
   * kwok).
   */
  public Path logFile(String component) {
    return stateDir.resolve("logs").resolve(component + ".log");
  }

  /**
   * Waits for a condition with a deadline, failing with {@code description} on timeout. Exceptions
   * thrown by the condition count as "not yet" (the API server may be restarting); the last one is
   * reported on timeout.
   */
  public static void await(String description, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    RuntimeException last = null;
    long pauseMillis = 10;
    while (true) {
      try {
        if (condition.getAsBoolean()) {
          return;
        }
      } catch (RuntimeException e) {
        last = e;
      }
      if (System.nanoTime() > deadline) {
        AssertionError error =
            new AssertionError("timed out after " + timeout + " waiting for: " + description);
        if (last != null) {
          error.initCause(last);
        }
        throw error;
      }
      try {
        // Polling back-off between checks of an external system, not synchronization by sleeping.
        TimeUnit.MILLISECONDS.sleep(pauseMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for: " + description, e);
      }
      pauseMillis = Math.min(pauseMillis * 2, 200);
    }
  }

  private static KubernetesClient newClient(Path kubeconfig) {
    try {
      Config config = Config.fromKubeconfig(Files.readString(kubeconfig));
      config.setRequestTimeout(15_000);
      config.setConnectionTimeout(5_000);
      return new KubernetesClientBuilder().withConfig(config).build();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read kubeconfig " + kubeconfig, e);
    }
  }

  /** Finds {@code local-cluster/} from the repo root system property or by walking up from cwd. */
  static Path scriptsDir() {
    String root = System.getProperty("migrategate.projectRoot");
    if (root != null && Files.isExecutable(Path.of(root, "local-cluster", "up"))) {
      return Path.of(root, "local-cluster").toAbsolutePath();
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isExecutable(dir.resolve("local-cluster/up"))) {
        return dir.resolve("local-cluster");
      }
    }
    throw new IllegalStateException(
        "cannot find local-cluster/up: set -Dmigrategate.projectRoot=<repo root> or run from inside the repository");
  }

  private static Map<String, String> parsePaths(ScriptResult result) {
    Map<String, String> paths = new HashMap<>();
    for (String line : result.output().split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        paths.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    return paths;
  }

  record ScriptResult(int exitCode, String output, String lastLine) {}

  static ScriptResult run(Path scriptsDir, Duration timeout, String script, String... args) {
    List<String> command = new java.util.ArrayList<>();
    command.add(scriptsDir.resolve(script).toString());
    command.addAll(List.of(args));
    try {
      Path stdout = Files.createTempFile("local-cluster-", ".out");
      try {
        // stderr (progress, errors) goes to the test's own stderr; stdout is the script's answer.
        Process process =
            new ProcessBuilder(command)
                .redirectOutput(stdout.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly();
          throw new IllegalStateException(
              "local-cluster/" + script + " did not finish within " + timeout);
        }
        String output = Files.readString(stdout, StandardCharsets.UTF_8);
        String[] lines = output.strip().split("\n");
        return new ScriptResult(process.exitValue(), output, lines[lines.length - 1].strip());
      } finally {
        Files.deleteIfExists(stdout);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + command, e);
    }
  }
}
