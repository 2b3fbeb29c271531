package io.migrategate.demo;

import io.fabric8.kubernetes.api.model.authentication.TokenRequest;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.cluster.TokenKubeconfig;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The gate as a platform team would run it outside the cluster: its objects applied from {@code
 * manifests/overlays/local} with kubectl, the gate jar started on this host with its own
 * ServiceAccount's token (not admin), ready when {@code /readyz} says so and the API server has
 * reached it through the webhook configuration.
 */
final class HostGate implements AutoCloseable {
  /** The waiter image the gate injects (the base's default; nothing pulls it locally). */
  static final String WAITER_IMAGE = "ghcr.io/migrate-gate/waiter:0.1.0";

  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

  private final DemoOptions options;
  private final Project project;
  private final KubernetesClient admin;
  private final Path adminKubeconfig;
  private final Path kubectl;
  private final LiveView view;
  private final Path runDir;
  private final String name;
  private Process process;
  private Thread logFollower;
  private volatile boolean following = true;
  private Path installedFrom;

  HostGate(
      DemoOptions options,
      Project project,
      KubernetesClient admin,
      Path adminKubeconfig,
      Path kubectl,
      LiveView view) {
    this.options = options;
    this.project = project;
    this.admin = admin;
    this.adminKubeconfig = adminKubeconfig;
    this.kubectl = kubectl;
    this.view = view;
    this.runDir = project.runDir(options.instance());
    this.name = options.gateName();
  }

  Path logFile() {
    return runDir.resolve("gate.log");
  }

  Optional<Long> pid() {
    return Optional.ofNullable(process).map(Process::pid);
  }

  /** kubectl apply of the local overlay (or of a test instance's overlay on top of it). */
  void install() {
    stopPreviousKeptGate();
    requirePortFree(options.gatePort());
    awaitNamespaceGone();
    installedFrom = overlay();
    view.step(
        "installing the gate: kubectl apply --server-side -k " + project.relative(installedFrom));
    Commands.run(
            List.of(
                kubectl.toString(),
                "--kubeconfig",
                adminKubeconfig.toString(),
                "apply",
                "--server-side",
                "-k",
                installedFrom.toString()),
            Duration.ofSeconds(60))
        .requireSuccess("kubectl apply");
    view.ok(
        "installed: namespace "
            + name
            + ", ServiceAccount, RBAC, empty CA Secret, MutatingWebhookConfiguration "
            + name
            + " -> https://127.0.0.1:"
            + options.gatePort()
            + "/mutate");
  }

  /**
   * A gate kept by a previous run remembers that run's Jobs in its success ledger (ConfigMaps in
   * its namespace); the demo's namespace starts from nothing, so its entries go. The gate is not
   * running at this point: nothing holds them in memory.
   */
  void forgetLedger(String demoNamespace) {
    admin
        .configMaps()
        .inNamespace(name)
        .withLabel("migrate.io/ledger-namespace", demoNamespace)
        .delete();
  }

  /** Starts the gate process and returns when the API server reaches it through the webhook. */
  void start(String probeNamespace) {
    Path kubeconfig = writeGateKubeconfig();
    int probePort = freePort();
    List<String> command = new ArrayList<>();
    if (options.keep() && Files.isExecutable(Path.of("/usr/bin/setsid"))) {
      // Its own session: the kept gate outlives this terminal's Ctrl-C and the demo.
      command.add("/usr/bin/setsid");
    }
    command.addAll(
        List.of(
            javaBin(),
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-Xmx256m",
            "-Xshare:auto",
            "-jar",
            project.gateJar().toString(),
            "--port",
            Integer.toString(options.gatePort()),
            "--probe-port",
            Integer.toString(probePort),
            "--kubeconfig",
            kubeconfig.toString(),
            "--namespace",
            name,
            "--waiter-image",
            WAITER_IMAGE,
            // Its own CA in the (empty) Secret the manifests created, serving certificates for
            // 127.0.0.1 minted in memory, the caBundle of its webhook configuration kept in sync.
            "--tls-mode",
            "self-managed",
            "--tls-ca-secret",
            options.caSecretName(),
            "--webhook-configuration",
            name,
            "--tls-service",
            name,
            "--tls-ip-sans",
            "127.0.0.1",
            // Gate mode: injected waiters ask this gate (no RBAC for the app's ServiceAccount).
            "--wait-url",
            "https://127.0.0.1:" + options.gatePort(),
            // The demo stops a gate nobody routes to any more: no need to drain.
            "--drain-delay",
            "0s",
            "--shutdown-timeout",
            "2s"));
    view.step(
        "starting the gate on this host: java -jar "
            + project.relative(project.gateJar())
            + " --port "
            + options.gatePort()
            + " --tls-mode self-managed (as ServiceAccount "
            + name
            + "/"
            + name
            + ", not admin)");
    Path log = logFile();
    try {
      Files.deleteIfExists(log);
      process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
              .start();
      Files.writeString(runDir.resolve("gate.pid"), process.pid() + "\n");
    } catch (IOException e) {
      throw new SetupException("cannot start the gate: " + e.getMessage(), e);
    }
    followLog(log);
    awaitReady(probePort);
    WebhookProbe.await(admin, probeNamespace, view);
  }

  /** Leave the gate running after the demo (--keep). */
  void keep() {
    process = null;
  }

  @Override
  public void close() {
    following = false;
    if (process != null && process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
    }
    if (process != null) {
      try {
        Files.deleteIfExists(runDir.resolve("gate.pid"));
      } catch (IOException e) {
        // a stale pid file is checked against the process's command line before use
      }
    }
    if (logFollower != null) {
      logFollower.interrupt();
    }
  }

  /** Removes what {@link #install()} applied (the demo's own objects go with their namespace). */
  void uninstall() {
    if (installedFrom == null) {
      return;
    }
    Commands.run(
        List.of(
            kubectl.toString(),
            "--kubeconfig",
            adminKubeconfig.toString(),
            "delete",
            "-k",
            installedFrom.toString(),
            "--ignore-not-found",
            "--wait=false"),
        Duration.ofSeconds(60));
  }

  /**
   * The shipped overlay as is for the real demo; a test instance layers its own overlay on it (like
   * a platform team would): suffixed names, its own port, its webhook limited to namespaces
   * labelled with the instance, so it never touches pods of other tests sharing the cluster.
   */
  private Path overlay() {
    if (options.instance().isEmpty() && options.gatePort() == DemoOptions.DEFAULT_GATE_PORT) {
      return project.localOverlay();
    }
    Path dir = runDir.resolve("overlay");
    String base = dir.relativize(project.localOverlay()).toString();
    StringBuilder webhookPatch = new StringBuilder();
    for (int i = 0; i < 3; i++) {
      webhookPatch
          .append("      - op: replace\n")
          .append("        path: /webhooks/")
          .append(i)
          .append("/clientConfig/url\n")
          .append("        value: https://127.0.0.1:")
          .append(options.gatePort())
          .append("/mutate\n");
      if (!options.instance().isEmpty()) {
        webhookPatch
            .append("      - op: add\n")
            .append("        path: /webhooks/")
            .append(i)
            .append("/namespaceSelector/matchExpressions/-\n")
            .append("        value: {key: ")
            .append(ShopScenario.INSTANCE_LABEL)
            .append(", operator: In, values: [")
            .append(options.instance())
            .append("]}\n");
      }
    }
    StringBuilder kustomization = new StringBuilder();
    kustomization
        .append("# Generated by the demo for a test instance; see HostGate.overlay().\n")
        .append("resources: [")
        .append(base)
        .append("]\n");
    if (!options.instance().isEmpty()) {
      kustomization
          .append("namespace: ")
          .append(name)
          .append('\n')
          .append("nameSuffix: -")
          .append(options.instance())
          .append('\n');
    }
    kustomization
        .append("patches:\n")
        .append("  - target: {kind: MutatingWebhookConfiguration}\n")
        .append("    patch: |-\n")
        .append(webhookPatch);
    if (!options.instance().isEmpty()) {
      // resourceNames are not names kustomize knows to suffix.
      kustomization
          .append("  - target: {kind: ClusterRole, name: migrate-gate-tls}\n")
          .append("    patch: |-\n")
          .append("      - op: replace\n")
          .append("        path: /rules/0/resourceNames/0\n")
          .append("        value: ")
          .append(name)
          .append('\n');
    }
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("kustomization.yaml"), kustomization.toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return dir;
  }

  /** A kubeconfig with a token of the gate's own ServiceAccount: the gate runs least-privilege. */
  private Path writeGateKubeconfig() {
    TokenRequest request =
        new TokenRequestBuilder()
            .withNewSpec()
            // A day: a gate kept by --keep keeps working through an evening of poking around.
            .withExpirationSeconds(86_400L)
            .endSpec()
            .build();
    String token =
        admin
            .serviceAccounts()
            .inNamespace(name)
            .withName(name)
            .tokenRequest(request)
            .getStatus()
            .getToken();
    Config config = admin.getConfiguration();
    return TokenKubeconfig.write(
        runDir.resolve("gate.kubeconfig"), config, config.getMasterUrl(), name, token, name);
  }

  private void awaitReady(int probePort) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + probePort + "/readyz"))
            .timeout(Duration.ofSeconds(2))
            .build();
    Waits.until(
        "the gate's /readyz answering 200",
        START_TIMEOUT,
        () -> {
          if (!process.isAlive()) {
            throw new SetupException(
                "the gate exited with code "
                    + process.exitValue()
                    + " during start-up; its log "
                    + logFile()
                    + " ends with:\n"
                    + tail(logFile(), 15));
          }
          try {
            return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
          } catch (IOException e) {
            return false;
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SetupException("interrupted", e);
          }
        },
        SetupException::new);
    view.ok(
        "gate ready: /readyz 200 (probe port "
            + probePort
            + ", log "
            + project.relative(logFile())
            + ")");
  }

  private void followLog(Path log) {
    logFollower =
        new Thread(
            () -> {
              try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "r")) {
                StringBuilder partial = new StringBuilder();
                byte[] buffer = new byte[8192];
                while (following && !Thread.currentThread().isInterrupted()) {
                  int read = file.read(buffer);
                  if (read <= 0) {
                    // tail -f: nothing new yet; look again shortly.
                    TimeUnit.MILLISECONDS.sleep(100);
                    continue;
                  }
                  partial.append(new String(buffer, 0, read, StandardCharsets.UTF_8));
                  int newline;
                  while ((newline = partial.indexOf("\n")) >= 0) {
                    String line = partial.substring(0, newline);
                    partial.delete(0, newline + 1);
                    if (following) {
                      LogLine.gateSummary(line)
                          .ifPresent(text -> view.line(LiveView.Kind.GATE, "", text));
                    }
                  }
                }
              } catch (IOException e) {
                // the log went away with the demo's run folder
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "gate-log");
    logFollower.setDaemon(true);
    logFollower.start();
  }

  /** A previous run's uninstall may still be deleting the gate's namespace. */
  private void awaitNamespaceGone() {
    var namespace = admin.namespaces().withName(name).get();
    if (namespace == null || namespace.getMetadata().getDeletionTimestamp() == null) {
      return;
    }
    view.step("waiting for namespace " + name + " of a previous run to finish terminating");
    Waits.until(
        "namespace " + name + " to be deleted",
        Duration.ofSeconds(90),
        () -> admin.namespaces().withName(name).get() == null,
        SetupException::new);
  }

  /** A gate a previous {@code demo/run --keep} left running holds the port: stop it first. */
  private void stopPreviousKeptGate() {
    Path pidFile = runDir.resolve("gate.pid");
    if (!Files.isRegularFile(pidFile)) {
      return;
    }
    try {
      long pid = Long.parseLong(Files.readString(pidFile).strip());
      Optional<ProcessHandle> previous = ProcessHandle.of(pid);
      boolean isGate =
          previous
              .flatMap(handle -> handle.info().commandLine())
              .map(line -> line.contains(project.gateJar().getFileName().toString()))
              .orElse(false);
      if (previous.isPresent() && isGate) {
        view.step("stopping the gate a previous demo/run --keep left running (pid " + pid + ")");
        ProcessHandle handle = previous.get();
        handle.destroy();
        try {
          handle.onExit().get(15, TimeUnit.SECONDS);
        } catch (Exception e) {
          handle.destroyForcibly();
        }
      }
      Files.deleteIfExists(pidFile);
    } catch (IOException | NumberFormatException e) {
      // unreadable pid file: nothing we started is known to run
    }
  }

  private static void requirePortFree(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    } catch (IOException e) {
      throw new SetupException(
          "port "
              + port
              + " on 127.0.0.1 is in use, and the gate must listen there (the webhook"
              + " configuration of manifests/overlays/local calls https://127.0.0.1:"
              + port
              + "/mutate): stop what listens there, or give --gate-port");
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  static void writePrivate(Path file, String content) {
    try {
      Files.deleteIfExists(file);
      Files.createFile(
          file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(file, content);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  static String tail(Path file, int lines) {
    try {
      List<String> all = Files.readAllLines(file);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e.getMessage() + ")";
    }
  }
}
