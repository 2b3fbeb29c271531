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
 * A real local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) run by
 * the scripts in {@code local-cluster/}; this class is only their Java handle, so the scripts stay
 * the one launcher (tests, demo and users share it). Two flavours, each with its own state folder,
 * which can run side by side:
 *
 * <ul>
 *   <li>{@link #shared()}: kwok's fake node {@code kwok-node-0} (nothing really runs; fast);
 *   <li>{@link #realNode()}: a real node {@value #NODE_NAME} on this machine (containerd, kubelet,
 *       CNI bridge, kube-proxy, CoreDNS; needs root), whose pods run the images loaded with {@link
 *       #loadImages} and {@value #BUSYBOX_IMAGE}.
 * </ul>
 *
 * <p>One of each per JVM: each reuses a cluster that is already running (for example one started by
 * {@code .ci/run}) and otherwise starts one and stops it when the last test JVM using it exits.
 */
public final class LocalCluster {

  /** The real node's name ({@link #realNode()}). */
  public static final String NODE_NAME = "migrate-gate-node";

  /**
   * A shell image for tests and demo Jobs on the real node: Debian's busybox-static with its applet
   * links ({@code sh -c}, {@code sleep}, {@code wget}, {@code nslookup}, {@code httpd}, ...), no
   * registry behind it: use {@code imagePullPolicy: IfNotPresent} or {@code Never}. Its {@code
   * wget} has no usable TLS client, and its {@code -T} option crashes (use {@code timeout 5 wget}).
   */
  public static final String BUSYBOX_IMAGE = "migrate-gate.local/busybox:1";

  /**
   * The address pods reach the host at (the CNI bridge's gateway); the API server listens there.
   */
  public static final String NODE_IP = "10.244.0.1";

  private static LocalCluster shared;
  private static LocalCluster realNode;

  private final Path scriptsDir;
  private final Path kubeconfig;
  private final Path binDir;
  private final Path stateDir;
  private final boolean isRealNode;
  private final KubernetesClient client;

  private LocalCluster(
      Path scriptsDir, Path kubeconfig, Map<String, String> paths, boolean isRealNode) {
    this.scriptsDir = scriptsDir;
    this.kubeconfig = kubeconfig;
    this.binDir = Path.of(paths.get("KUBE_BIN_DIR"));
    this.stateDir = Path.of(paths.get("STATE_DIR"));
    this.isRealNode = isRealNode;
    this.client = newClient(kubeconfig);
  }

  /**
   * The control plane of this test run with kwok's fake node, started on first use. Several test
   * JVMs (Maven modules, or parallel runs) share it: each holds a shared lock on {@code users.lock}
   * in the state folder while it lives; the last one to exit stops a control plane that a test JVM
   * started. One started outside the tests ({@code .ci/run}, a user's {@code local-cluster/up}) is
   * left running.
   */
  public static synchronized LocalCluster shared() {
    if (shared == null) {
      shared = start(false);
    }
    return shared;
  }

  /**
   * The real-node cluster of this test run ({@code local-cluster/up --real-node}: the same control
   * plane plus containerd, kubelet, kube-proxy and CoreDNS on this machine, as root), started on
   * first use, shared between test JVMs and stopped ({@code down --real-node}, which restores the
   * host) like {@link #shared()}. Independent of the kwok cluster: both can run at once.
   */
  public static synchronized LocalCluster realNode() {
    if (realNode == null) {
      realNode = start(true);
    }
    return realNode;
  }

  private static LocalCluster start(boolean isRealNode) {
    Path scripts = scriptsDir();
    String[] flag = isRealNode ? new String[] {"--real-node"} : new String[0];
    String command = isRealNode ? "local-cluster/up --real-node" : "local-cluster/up";
    boolean alreadyRunning = run(scripts, Duration.ofMinutes(2), "status", flag).exitCode() == 0;
    ScriptResult up = run(scripts, Duration.ofMinutes(60), "up", flag);
    if (up.exitCode() != 0) {
      throw new IllegalStateException(
          command + " failed (exit " + up.exitCode() + "):\n" + up.output());
    }
    Path kubeconfig = Path.of(up.lastLine());
    LocalCluster cluster =
        new LocalCluster(
            scripts,
            kubeconfig,
            parsePaths(run(scripts, Duration.ofSeconds(10), "paths", flag)),
            isRealNode);
    cluster.registerUser(!alreadyRunning);
    return cluster;
  }

  private void registerUser(boolean startedHere) {
    Path marker = stateDir.resolve("started-by-tests");
    String[] downArgs = isRealNode ? new String[] {"--real-node"} : new String[0];
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
                        run(scriptsDir, Duration.ofSeconds(120), "down", downArgs);
                      }
                    } catch (IOException | RuntimeException e) {
                      System.err.println(
                          "[local-cluster] could not stop the "
                              + (isRealNode ? "real-node cluster: " : "control plane: ")
                              + e);
                    }
                  },
                  isRealNode ? "local-cluster-down-real-node" : "local-cluster-down"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot register with the control plane in " + stateDir, e);
    }
  }

  /** Whether this is the real-node flavour ({@link #realNode()}). */
  public boolean isRealNode() {
    return isRealNode;
  }

  /** The cluster's one node: {@value #NODE_NAME} on the real node, {@code kwok-node-0} on kwok. */
  public String nodeName() {
    return isRealNode ? NODE_NAME : "kwok-node-0";
  }

  /**
   * Loads image archives (docker-save or OCI tar: {@code docker save}, Jib's {@code buildTar},
   * {@code local-cluster/lib/image-writer.py}) into the real node's containerd, no registry needed;
   * pods use them with {@code imagePullPolicy: IfNotPresent} or {@code Never}. Fails naming the
   * archive that does not load.
   */
  public void loadImages(Path... archives) {
    if (!isRealNode) {
      throw new UnsupportedOperationException(
          "kwok's fake node runs no images: use LocalCluster.realNode() to load images");
    }
    String[] args = new String[archives.length + 1];
    args[0] = "--real-node";
    for (int i = 0; i < archives.length; i++) {
      args[i + 1] = archives[i].toAbsolutePath().toString();
    }
    ScriptResult result = run(scriptsDir, Duration.ofMinutes(10), true, "load-images", args);
    if (result.exitCode() != 0) {
      throw new IllegalStateException(
          "local-cluster/load-images failed (exit " + result.exitCode() + "):\n" + result.output());
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

  /** The state folder: {@code pki/}, {@code logs/}, {@code kubeconfig}, ... */
  public Path stateDir() {
    return stateDir;
  }

  /** Stops and starts kube-apiserver on the same port, returns when it is ready again. */
  public void restartApiServer() {
    restart("kube-apiserver");
  }

  /**
   * Restarts one component (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, and
   * kwok, or on the real node containerd, kubelet, kube-proxy).
   */
  public void restart(String component) {
    ScriptResult result =
        isRealNode
            ? run(scriptsDir, Duration.ofMinutes(3), "restart", "--real-node", component)
            : run(scriptsDir, Duration.ofMinutes(3), "restart", component);
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
   * Log file of one component (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok,
   * or on the real node containerd, kubelet, kube-proxy, images).
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

  static KubernetesClient newClient(Path kubeconfig) {
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
    return run(scriptsDir, timeout, false, script, args);
  }

  /** With {@code withStderr}, the script's errors are part of the result instead of our stderr. */
  static ScriptResult run(
      Path scriptsDir, Duration timeout, boolean withStderr, String script, String... args) {
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
                .redirectErrorStream(withStderr)
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
