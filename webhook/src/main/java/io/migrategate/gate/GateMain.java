package io.migrategate.gate;

import io.migrategate.gate.admission.AdmissionReviewer;
import io.migrategate.gate.admission.ConfirmedJobStatus;
import io.migrategate.gate.admission.InjectionConfig;
import io.migrategate.gate.admission.JobStatusView;
import io.migrategate.gate.admission.LookupResult;
import io.migrategate.gate.admission.OwnerLookup;
import io.migrategate.gate.admission.OwnerRef;
import io.migrategate.gate.admission.PodAdmissionReviewer;
import io.migrategate.gate.admission.TrustFollowingReviewer;
import io.migrategate.gate.admission.WaitEndpoint;
import io.migrategate.gate.jobs.KubernetesJobTracking;
import io.migrategate.gate.kube.FatalErrors;
import io.migrategate.gate.kube.KubernetesAccess;
import io.migrategate.gate.observability.GateLog;
import io.migrategate.gate.observability.GateLogProvider;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import sun.misc.Signal;

/**
 * {@code java -jar migrate-gate-webhook.jar}: parses flags and env, starts the {@link Gate}, and on
 * SIGTERM (or SIGINT) drains it and exits 0.
 */
public final class GateMain {
  static final int EXIT_STOPPED = 0;
  static final int EXIT_START_FAILED = 1;
  static final int EXIT_USAGE = 64;

  private GateMain() {}

  public static void main(String[] args) {
    // Library logging (Vert.x, fabric8, admission) goes through the gate's own log format.
    System.setProperty("slf4j.provider", GateLogProvider.class.getName());
    System.setProperty("slf4j.internal.verbosity", "WARN");
    // A thread that dies of an OutOfMemoryError ends the process (FatalErrors); others are
    // reported as the JVM reports them.
    Thread.setDefaultUncaughtExceptionHandler(
        (thread, error) -> {
          FatalErrors.exitIfFatal("thread " + thread.getName(), error);
          System.err.print("Exception in thread \"" + thread.getName() + "\" ");
          error.printStackTrace();
        });
    System.exit(run(args, System.getenv(), System.out, System.err, GateMain::defaultReviewer));
  }

  static int run(
      String[] args,
      Map<String, String> env,
      PrintStream out,
      PrintStream err,
      ReviewerFactory reviewers) {
    List<String> arguments = Arrays.asList(args);
    if (arguments.contains("--help") || arguments.contains("-h")) {
      out.print(GateConfig.usage());
      return EXIT_STOPPED;
    }
    GateConfig config;
    try {
      config = GateConfig.parse(arguments, env);
    } catch (UsageException e) {
      err.println("migrate-gate: " + e.getMessage());
      return EXIT_USAGE;
    }
    GateLog log = new GateLog(config.logFormat(), err);
    GateLog.useForLibraries(log);
    Gate gate;
    try {
      gate = Gate.start(config, reviewers, log);
    } catch (Gate.StartException e) {
      log.error("start failed", "error", e.getMessage());
      return EXIT_START_FAILED;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runnable drain =
        () -> {
          StopDeadline.arm(
              config.drainDelay().plus(config.shutdownTimeout()).plus(StopDeadline.MARGIN),
              err,
              Runtime.getRuntime()::halt);
          gate.drainAndStop();
          stopped.countDown();
        };
    // A handled SIGTERM lets the drain finish and the process exit 0; a plain shutdown hook
    // would exit 143. The hook stays as the fallback for other ways the JVM is told to stop.
    Runtime.getRuntime().addShutdownHook(new Thread(gate::drainAndStop, "migrate-gate-shutdown"));
    for (String name : List.of("TERM", "INT")) {
      try {
        Signal.handle(
            new Signal(name), signal -> new Thread(drain, "migrate-gate-sig" + name).start());
      } catch (IllegalArgumentException e) {
        log.warn("cannot handle signal, relying on the shutdown hook", "signal", name);
      }
    }
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return EXIT_STOPPED;
  }

  /**
   * The production reviewer: pod injection with informer-backed owner lookups. Without {@code
   * --admission-client-ca} (and without {@code --admission-fast-path=on}) every gated pod gets its
   * waiter: the fast path's answer would tell any caller of the admission port whether another
   * namespace's Jobs succeeded.
   */
  static AdmissionReviewer defaultReviewer(
      GateConfig config, KubernetesAccess kubernetes, Supplier<Optional<String>> gateTrust) {
    if (config.waitUrl() != null && config.waitCaFile() == null) {
      // Self-managed TLS: waiters must trust the CAs of the gate's own CA Secret, which rotate.
      return new TrustFollowingReviewer(
          gateTrust,
          caPem ->
              podReviewer(
                  config, kubernetes, caPem.map(pem -> new WaitEndpoint(config.waitUrl(), pem))));
    }
    return podReviewer(config, kubernetes, waitEndpoint(config));
  }

  private static AdmissionReviewer podReviewer(
      GateConfig config, KubernetesAccess kubernetes, Optional<WaitEndpoint> waitEndpoint) {
    InjectionConfig injection =
        new InjectionConfig(
            config.waiterImage(),
            config.waiterResources(),
            config.ownerLookupFailurePolicy(),
            config.namespace(),
            Set.copyOf(config.excludedNamespaces()),
            InjectionConfig.DEFAULT_RUN_AS_USER,
            waitEndpoint);
    KubernetesJobTracking jobs =
        kubernetes.jobTracking(config.namespace(), config.ledgerKeySecret(), config.ledgerPolicy());
    return new PodAdmissionReviewer(
        injection,
        ownerReferencesWithUid(kubernetes.ownerLookup(config.ownerLookupTimeout())),
        config.fastPathOn()
            ? new ConfirmedJobStatus(jobs.tracker(), jobs::currentRun)
            : JobStatusView.NONE);
  }

  /**
   * Owner lookups for owner references that name their owner's uid, as every pod the API server
   * stores does (it refuses an ownerReference without one); a reference without a uid is answered
   * "not found" without any lookup. The uid is what keeps an unauthenticated caller of the
   * admission port from reading another namespace's workload annotations with a forged review: the
   * gate answers about a workload only when the review names its uid, which that caller cannot
   * read. A wrong uid is "not found" too (the lookup compares uids), the same answer as for a
   * workload that does not exist.
   */
  static OwnerLookup ownerReferencesWithUid(OwnerLookup owners) {
    return new OwnerLookup() {
      @Override
      public LookupResult lookup(String namespace, OwnerRef owner) {
        return owner.uid().isEmpty()
            ? new LookupResult.NotFound()
            : owners.lookup(namespace, owner);
      }

      @Override
      public LookupResult lookupFresh(String namespace, OwnerRef owner) {
        return owner.uid().isEmpty()
            ? new LookupResult.NotFound()
            : owners.lookupFresh(namespace, owner);
      }
    };
  }

  /** Gate mode for injected waiters when configured with a CA file (GateConfig checked it). */
  private static Optional<WaitEndpoint> waitEndpoint(GateConfig config) {
    if (config.waitUrl() == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(new WaitEndpoint(config.waitUrl(), Files.readString(config.waitCaFile())));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read --wait-ca-file " + config.waitCaFile(), e);
    }
  }
}
