package io.migrategate.demo;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.migrategate.cluster.BuiltImages;
import io.migrategate.cluster.GateInstall;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.core.UsageException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * {@code demo/run}: migrate-gate gating a real rollout on real pods. Local mode (default): the
 * local cluster with its real node ({@code local-cluster/up --real-node}), this build's images
 * loaded into it, the gate installed from {@code manifests/base}. {@code --cluster}: the cluster of
 * {@code KUBECONFIG}, with the gate installed there.
 */
public final class DemoMain {
  static final int EXIT_OK = 0;
  static final int EXIT_EXPECTATION_FAILED = 1;
  static final int EXIT_SETUP_FAILED = 2;
  static final int EXIT_USAGE = 64;

  private DemoMain() {}

  public static void main(String[] args) {
    // fabric8 and the JDK client log through SLF4J (no binding here: silent).
    System.exit(run(List.of(args), System.getenv(), System.out));
  }

  /** Runs the demo, printing to {@code out}; returns the exit code. */
  public static int run(List<String> args, Map<String, String> env, PrintStream out) {
    long start = startNanos();
    Project project;
    DemoOptions options;
    try {
      project = Project.locate();
      options = DemoOptions.parse(args, env, project.root());
    } catch (UsageException e) {
      out.println("demo: " + e.getMessage());
      return EXIT_USAGE;
    } catch (IllegalStateException e) {
      out.println("demo: " + e.getMessage());
      return EXIT_SETUP_FAILED;
    }
    if (options.help()) {
      out.println(DemoOptions.usage());
      return EXIT_OK;
    }
    LiveView view = new LiveView(out, options.color(), start);
    Run run = new Run(options, project, view);
    // Ctrl-C: stop (or keep) what the demo started, as at a normal end.
    Thread onInterrupt = new Thread(run::finish, "demo-interrupted");
    Runtime.getRuntime().addShutdownHook(onInterrupt);
    try {
      run.play();
      view.plain("");
      view.ok(
          String.format(
              Locale.ROOT,
              "demo finished in %.1f s: every expected outcome was observed",
              view.elapsedSeconds()));
      return EXIT_OK;
    } catch (ExpectationFailed e) {
      view.plain("");
      view.line(LiveView.Kind.FAIL, null, "demo FAILED: " + e.getMessage());
      run.hintLogs();
      return EXIT_EXPECTATION_FAILED;
    } catch (SetupException e) {
      view.plain("");
      view.line(LiveView.Kind.FAIL, null, "demo could not set up: " + e.getMessage());
      run.hintLogs();
      return EXIT_SETUP_FAILED;
    } catch (KubernetesClientException e) {
      view.plain("");
      view.line(
          LiveView.Kind.FAIL, null, "demo stopped: the Kubernetes API answered " + apiError(e));
      run.hintLogs();
      return EXIT_SETUP_FAILED;
    } catch (RuntimeException e) {
      view.plain("");
      view.line(LiveView.Kind.FAIL, null, "demo stopped: " + e);
      run.hintLogs();
      return EXIT_SETUP_FAILED;
    } finally {
      run.finish();
      try {
        Runtime.getRuntime().removeShutdownHook(onInterrupt);
      } catch (IllegalStateException e) {
        // already shutting down: the hook runs finish(), which does its work once
      }
    }
  }

  /** The API's own message (fabric8's exception text repeats the whole Status object). */
  private static String apiError(KubernetesClientException e) {
    if (e.getStatus() != null && e.getStatus().getMessage() != null) {
      return e.getCode() + ": " + e.getStatus().getMessage();
    }
    return e.getMessage();
  }

  /** When demo/run started (its clock), so the live view's times continue the script's. */
  private static long startNanos() {
    long now = System.nanoTime();
    String scriptStart = System.getProperty("migrategate.demo.startMillis");
    if (scriptStart != null) {
      try {
        long sinceScriptStart = System.currentTimeMillis() - Long.parseLong(scriptStart);
        if (sinceScriptStart >= 0 && sinceScriptStart < 3_600_000) {
          return now - sinceScriptStart * 1_000_000;
        }
      } catch (NumberFormatException e) {
        // not from demo/run: count from now
      }
    }
    return now;
  }

  /** One run of the demo and what it must stop or leave running. */
  private static final class Run {
    private final DemoOptions options;
    private final Project project;
    private final LiveView view;
    private final List<AutoCloseable> stopAtEnd = new ArrayList<>();
    private LocalCluster cluster;
    private KubernetesClient client;
    private GateInstall gate;
    private final java.util.concurrent.atomic.AtomicBoolean finished =
        new java.util.concurrent.atomic.AtomicBoolean();

    Run(DemoOptions options, Project project, LiveView view) {
      this.options = options;
      this.project = project;
      this.view = view;
    }

    void play() {
      if (options.realCluster()) {
        playOnConfiguredCluster();
        return;
      }
      List<Path> missing = project.missingBuildOutputs();
      if (!missing.isEmpty()) {
        throw new SetupException(
            "missing "
                + missing.stream().map(project::relative).toList()
                + ": build them with demo/run (it builds what is missing) or mvn -B -DskipTests"
                + " package -pl images,demo -am");
      }
      startRealNode();
      installGate();
      Observer observer = new Observer(client, options.namespace(), view);
      String kubeconfig = "--kubeconfig=" + cluster.kubeconfig();
      ShopScenario.Cli cli =
          new ShopScenario.Cli(
              List.of(cluster.binDir().resolve("kubectl").toString(), kubeconfig),
              List.of(
                  project.root().resolve("bin/kubectl-migrate_gate").toString(),
                  "status",
                  kubeconfig));
      ShopScenario scenario = new ShopScenario(client, options, view, observer, Optional.of(cli));
      scenario.createNamespace();
      stopAtEnd.add(observer);
      observer.start();
      scenario.run();
    }

    private void startRealNode() {
      view.step(
          "local cluster with a real node: local-cluster/up --real-node (control plane, containerd,"
              + " kubelet, kube-proxy, CoreDNS on this machine; reused when already running)");
      if (options.keep()) {
        // Started here as a user would, it is not this JVM's to stop at exit: --keep.
        Commands.run(
                List.of(project.root().resolve("local-cluster/up").toString(), "--real-node"),
                Duration.ofMinutes(60))
            .requireSuccess("local-cluster/up --real-node");
      }
      try {
        cluster = LocalCluster.realNode();
      } catch (RuntimeException e) {
        throw new SetupException(
            "the local cluster's real node did not start: "
                + e.getMessage()
                + "\n(it needs root and Debian's containerd, runc and CNI plugins, which"
                + " local-cluster/build --real-node installs; local-cluster/README.md)",
            e);
      }
      client = cluster.client();
      view.ok(
          "cluster ready: "
              + cluster.apiServerUrl()
              + " (kube-apiserver v1.35, node "
              + cluster.nodeName()
              + ": kubelet, containerd, runc)");
    }

    private void installGate() {
      BuiltImages.Image webhook = BuiltImages.webhook();
      BuiltImages.Image waiter = BuiltImages.waiter();
      view.step(
          "load this build's images into the node (no registry): "
              + webhook.reference()
              + ", "
              + waiter.reference());
      cluster.loadImages(webhook.archive(), waiter.archive());
      if (client
              .admissionRegistration()
              .v1()
              .mutatingWebhookConfigurations()
              .withName(GateInstall.NAME)
              .get()
          != null) {
        view.step("removing the gate left by an earlier run (--keep)");
        GateInstall.existing(client, cluster.kubeconfig()).uninstall();
      }
      view.step(
          "install the gate as a platform team would: kubectl apply --server-side -k of"
              + " manifests/base with images: set to this build's (2 replicas, Service, PDB,"
              + " NetworkPolicy, self-managed TLS)");
      gate = GateInstall.kustomize(client, cluster.kubeconfig());
      view.ok(
          "gate serving: Deployment migrate-gate/migrate-gate 2/2 available, caBundle written by"
              + " the gate, the API server calls it");
    }

    /** --cluster: the gate as installed there (or from --manifests), the cluster's own kubelet. */
    private void playOnConfiguredCluster() {
      client = new KubernetesClientBuilder().build();
      view.step("cluster of KUBECONFIG: " + client.getConfiguration().getMasterUrl());
      RealClusterGate.ensureInstalled(client, options, view);
      Observer observer = new Observer(client, options.namespace(), view);
      ShopScenario scenario = new ShopScenario(client, options, view, observer, Optional.empty());
      scenario.createNamespace();
      WebhookProbe.await(client, options.namespace(), view);
      stopAtEnd.add(observer);
      observer.start();
      scenario.run();
    }

    void hintLogs() {
      if (gate != null) {
        view.info(
            "the gate's log: kubectl -n "
                + GateInstall.NAMESPACE
                + " logs deploy/"
                + GateInstall.NAME
                + " (KUBECONFIG="
                + cluster.kubeconfig()
                + ")");
      }
      if (cluster != null) {
        view.info(
            "cluster logs (kubelet, containerd, API server, ...): "
                + cluster.logFile("kubelet").getParent());
      }
    }

    void finish() {
      if (!finished.compareAndSet(false, true)) {
        return;
      }
      try {
        stopOrKeep();
      } catch (RuntimeException e) {
        view.info("cleaning up: " + e.getMessage());
      }
    }

    private void stopOrKeep() {
      for (int i = stopAtEnd.size() - 1; i >= 0; i--) {
        try {
          stopAtEnd.get(i).close();
        } catch (Exception e) {
          // stopping what the demo started is best effort at its end
        }
      }
      if (options.keep()) {
        keepRunning();
        return;
      }
      if (client != null) {
        client.namespaces().withName(options.namespace()).delete();
      }
      if (gate != null) {
        gate.uninstall();
      }
      if (options.realCluster() && client != null) {
        client.close();
      }
    }

    private void keepRunning() {
      if (options.realCluster()) {
        view.plain("");
        view.plain("Kept: namespace " + options.namespace() + " in the cluster of KUBECONFIG.");
        return;
      }
      if (cluster == null) {
        return;
      }
      Path kubectl = cluster.binDir().resolve("kubectl");
      view.plain("");
      view.plain("Kept running (--keep): the cluster with its real node, and the gate.");
      view.plain("  export KUBECONFIG=" + cluster.kubeconfig());
      view.plain("  alias kubectl=" + kubectl);
      view.plain("  kubectl -n " + options.namespace() + " get deploy,rs,pods,jobs -o wide");
      view.plain(
          "  kubectl -n " + options.namespace() + " describe pods -l app.kubernetes.io/version=v3");
      view.plain("  kubectl -n " + GateInstall.NAMESPACE + " logs deploy/" + GateInstall.NAME);
      view.plain(
          "Stop: "
              + project.relative(project.root().resolve("local-cluster/down"))
              + " --real-node");
    }
  }
}
