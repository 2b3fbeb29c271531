package io.migrategate.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.migrategate.cluster.GateInstall;
import io.migrategate.cluster.Tools;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/** What every installation of the gate must show, wherever and under whatever name it runs. */
final class GateChecks {
  private GateChecks() {}

  static void assertTwoServingReplicas(GateInstall gate) {
    List<Pod> pods = gate.pods();
    assertEquals(2, pods.size(), "gate pods in " + gate.namespace() + ": " + pods);
    assertFalse(pods.stream().anyMatch(p -> !Workloads.ready(p)), "every gate pod is ready");
  }

  /**
   * A Deployment annotated with a suspended migration Job: its pod waits in migrate-wait, which
   * calls this installation's Service, and starts once the Job succeeded.
   */
  static void assertPodsWaitForTheirMigration(E2eCluster cluster, GateInstall gate, String prefix) {
    try (Scene scene = new Scene(cluster, prefix)) {
      scene.create(Workloads.job("migrate", "echo schema", true));
      scene.deploy(Workloads.app("shop", "v1", 1, Map.of("migrate.io/job", "migrate")));
      Pod waiting =
          scene.awaitPod("shop", "v1", "waiting in migrate-wait", Workloads::waiterRunning);
      String url =
          waiting.getSpec().getInitContainers().stream()
              .filter(c -> c.getName().equals("migrate-wait"))
              .flatMap(c -> c.getEnv().stream())
              .filter(e -> e.getName().equals("MIGRATE_GATE_URL"))
              .map(EnvVar::getValue)
              .findFirst()
              .orElse(null);
      assertEquals(gate.waitUrl(), url, "the waiter calls this installation's Service");
      scene.resume("migrate");
      Pod started = scene.awaitPod("shop", "v1", "Ready", Workloads::ready);
      ContainerStatus waiter = Workloads.waiter(started).orElseThrow();
      assertEquals(0, waiter.getState().getTerminated().getExitCode(), waiter.toString());
    }
  }

  /**
   * Annotated pods created while something ran: how many, which the API server rejected, which it
   * admitted without migrate-wait (each with the time and what was said).
   */
  record Admissions(int attempts, List<String> rejected, List<String> notInjected) {
    /** While a gate serves, both are failures: the webhook is fail-closed. */
    List<String> failures() {
      List<String> all = new ArrayList<>(rejected);
      all.addAll(notInjected);
      return all;
    }
  }

  /**
   * Creates annotated pods (dry run: the API server calls the gate, nothing is stored or scheduled)
   * one after another in namespace default while {@code action} runs.
   */
  static Admissions admissionsDuring(E2eCluster cluster, Runnable action) {
    AtomicBoolean done = new AtomicBoolean();
    AtomicInteger attempts = new AtomicInteger();
    List<String> rejected = new CopyOnWriteArrayList<>();
    List<String> notInjected = new CopyOnWriteArrayList<>();
    Thread load =
        new Thread(
            () -> {
              while (!done.get()) {
                attempts.incrementAndGet();
                try {
                  Pod answered =
                      cluster
                          .client()
                          .pods()
                          .inNamespace("default")
                          .resource(Workloads.probePod())
                          .dryRun()
                          .create();
                  if (!Workloads.injected(answered)) {
                    notInjected.add(Instant.now() + " admitted without migrate-wait");
                  }
                } catch (KubernetesClientException e) {
                  rejected.add(Instant.now() + " " + e.getCode() + " " + e.getMessage());
                }
              }
            },
            "admissions");
    load.start();
    try {
      action.run();
    } finally {
      done.set(true);
      try {
        load.join(Duration.ofSeconds(30).toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return new Admissions(attempts.get(), List.copyOf(rejected), List.copyOf(notInjected));
  }

  /**
   * When the gate's webhook configuration and its Service were deleted while {@code action} ran, as
   * the API server's watches report them (empty: not deleted).
   */
  record Deletions(Optional<Instant> webhookConfiguration, Optional<Instant> service) {}

  static Deletions deletionsDuring(E2eCluster cluster, GateInstall gate, Runnable action) {
    AtomicReference<Instant> webhookConfiguration = new AtomicReference<>();
    AtomicReference<Instant> service = new AtomicReference<>();
    KubernetesClient client = cluster.client();
    try (Watch webhooks =
            client
                .admissionRegistration()
                .v1()
                .mutatingWebhookConfigurations()
                .withName(gate.name())
                .watch(onDeleted(webhookConfiguration));
        Watch services =
            client
                .services()
                .inNamespace(gate.namespace())
                .withName(gate.name())
                .watch(onDeleted(service))) {
      action.run();
    }
    return new Deletions(
        Optional.ofNullable(webhookConfiguration.get()), Optional.ofNullable(service.get()));
  }

  private static <T> Watcher<T> onDeleted(AtomicReference<Instant> when) {
    return new Watcher<>() {
      @Override
      public void eventReceived(Action action, T resource) {
        if (action == Action.DELETED) {
          when.compareAndSet(null, Instant.now());
        }
      }

      @Override
      public void onClose(WatcherException cause) {}
    };
  }

  /**
   * The gate's ServiceAccount may patch the caBundle of its webhook configuration (self-managed
   * TLS), and nothing else there: the CA-bundle-only policy finds that identity through the
   * ServiceAccount wherever the installation put it.
   */
  static void assertOnlyTheCaBundleMayChange(E2eCluster cluster, GateInstall gate) {
    String as = "--as=system:serviceaccount:" + gate.namespace() + ":" + gate.name();
    String caBundle =
        cluster
            .client()
            .admissionRegistration()
            .v1()
            .mutatingWebhookConfigurations()
            .withName(gate.name())
            .get()
            .getWebhooks()
            .get(0)
            .getClientConfig()
            .getCaBundle();
    // What self-managed TLS does: allowed.
    Tools.kubectl(
            cluster.kubeconfig(),
            as,
            "patch",
            "mutatingwebhookconfiguration",
            gate.name(),
            "--type=json",
            "-p",
            "[{\"op\":\"replace\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\""
                + caBundle
                + "\"}]")
        .requireSuccess();
    // What a stolen gate token could do without the ValidatingAdmissionPolicy: denied.
    for (String patch :
        List.of(
            "[{\"op\":\"replace\",\"path\":\"/webhooks/0/rules/0/resources\",\"value\":[\"pods\",\"secrets\"]}]",
            "[{\"op\":\"replace\",\"path\":\"/webhooks/1/failurePolicy\",\"value\":\"Fail\"}]",
            "[{\"op\":\"remove\",\"path\":\"/webhooks/0/namespaceSelector\"}]")) {
      Tools.Result denied =
          Tools.kubectl(
              cluster.kubeconfig(),
              as,
              "patch",
              "mutatingwebhookconfiguration",
              gate.name(),
              "--type=json",
              "-p",
              patch);
      assertNotEquals(0, denied.exitCode(), "the gate's identity changed its webhook: " + patch);
      assertTrue(
          denied.stderr().contains("may change only the CA bundle of its webhook configuration"),
          denied.stderr());
    }
    Tools.Result relabel =
        Tools.kubectl(
            cluster.kubeconfig(), as, "label", "mutatingwebhookconfiguration", gate.name(), "x=y");
    assertTrue(relabel.stderr().contains("not its metadata"), relabel.stderr());
  }
}
