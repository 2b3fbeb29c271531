package io.migrategate.wait;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import io.migrategate.core.JobVerdict;
import io.migrategate.core.JobVerdictTest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged waiter as a separate process against the local control plane: the real Job
 * controller decides, kwok plays the pods.
 */
@LocalClusterTest
class WaiterClusterTest {
  private static final Duration EXIT = Duration.ofSeconds(60);
  private static final Duration LOG = Duration.ofSeconds(30);

  /**
   * Generous for a loaded 2-core CI machine; the measured figure is in docs/benchmarks/waiter.md.
   */
  private static final Duration REACTION_BOUND = Duration.ofSeconds(2);

  @TempDir Path dir;

  @Test
  void blocksWhileTheJobRunsAndExitsZeroRightAfterItSucceeds(LocalCluster cluster)
      throws Exception {
    KubernetesClient admin = cluster.client();
    String ns = cluster.createNamespace("waiter-run", Map.of());
    create(admin, ns, job("db-migrate", false, false, "4s", null));
    CompletableFuture<Long> succeededAt = firstSuccessCondition(admin, ns, "db-migrate");
    try (WaiterProcess waiter = startAdmin(cluster, ns, "db-migrate")) {
      waiter.awaitLog("msg=\"running (1 active)\"", LOG);
      assertTrue(waiter.isAlive(), "the waiter must block while the Job runs");

      assertEquals(0, waiter.awaitExit(EXIT), waiter.log());
      long conditionSeen = succeededAt.get(10, TimeUnit.SECONDS);
      Duration reaction = Duration.ofNanos(waiter.exitedAtNanos() - conditionSeen);
      assertTrue(
          reaction.compareTo(REACTION_BOUND) < 0,
          "exited " + reaction.toMillis() + " ms after the success condition appeared");
      assertTrue(waiter.log().contains("event=succeeded"), waiter.log());
    }
  }

  @Test
  void exitsTwoWithTheTerminationMessageWhenTheJobFails(LocalCluster cluster) {
    String ns = cluster.createNamespace("waiter-fail", Map.of());
    create(cluster.client(), ns, job("db-migrate", false, true, null, null));
    try (WaiterProcess waiter = startAdmin(cluster, ns, "db-migrate")) {
      assertEquals(2, waiter.awaitExit(EXIT), waiter.log());
      assertEquals(
          "job "
              + ns
              + "/db-migrate failed: BackoffLimitExceeded: Job has reached the specified backoff limit\n",
          waiter.terminationMessage());
    }
  }

  @Test
  void keepsWaitingWhileSuspendedAndSucceedsAfterResume(LocalCluster cluster) {
    KubernetesClient admin = cluster.client();
    String ns = cluster.createNamespace("waiter-suspend", Map.of());
    create(admin, ns, job("db-migrate", true, false, null, null));
    try (WaiterProcess waiter = startAdmin(cluster, ns, "db-migrate")) {
      waiter.awaitLog("event=suspended", LOG);
      assertTrue(waiter.isAlive(), "a suspended Job is not a verdict");

      resume(admin, ns, "db-migrate");
      assertEquals(0, waiter.awaitExit(EXIT), waiter.log());
    }
  }

  @Test
  void waitsForAJobCreatedAfterItStarted(LocalCluster cluster) {
    String ns = cluster.createNamespace("waiter-later", Map.of());
    try (WaiterProcess waiter = startAdmin(cluster, ns, "db-migrate")) {
      waiter.awaitLog("not found, waiting for it to be created", LOG);
      create(cluster.client(), ns, job("db-migrate", false, false, null, null));
      assertEquals(0, waiter.awaitExit(EXIT), waiter.log());
      assertEquals(
          1, count(waiter.log(), "event=not_found"), "says \"not found\" once:\n" + waiter.log());
    }
  }

  @Test
  void followsAJobDeletedAndRecreatedWithTheSameName(LocalCluster cluster) {
    KubernetesClient admin = cluster.client();
    String ns = cluster.createNamespace("waiter-recreate", Map.of());
    create(admin, ns, job("db-migrate", true, false, null, null));
    try (WaiterProcess waiter = startAdmin(cluster, ns, "db-migrate")) {
      waiter.awaitLog("event=suspended", LOG);
      admin
          .batch()
          .v1()
          .jobs()
          .inNamespace(ns)
          .withName("db-migrate")
          .withPropagationPolicy(io.fabric8.kubernetes.api.model.DeletionPropagation.BACKGROUND)
          .delete();
      waiter.awaitLog("deleted, waiting for it to be re-created", LOG);

      Job recreated = create(admin, ns, job("db-migrate", false, false, null, null));
      assertEquals(0, waiter.awaitExit(EXIT), waiter.log());
      assertTrue(
          waiter.log().contains("event=succeeded uid=" + recreated.getMetadata().getUid()),
          "the verdict is the new Job's:\n" + waiter.log());
    }
  }

  @Test
  void aCompleteJobOfThePreviousRevisionDoesNotPass(LocalCluster cluster) {
    KubernetesClient admin = cluster.client();
    String ns = cluster.createNamespace("waiter-revision", Map.of());
    create(admin, ns, job("db-migrate", false, false, null, "41"));
    awaitSucceeded(admin, ns, "db-migrate");
    try (WaiterProcess waiter =
        WaiterProcess.start(
            dir,
            "--namespace",
            ns,
            "--job",
            "db-migrate",
            "--revision",
            "42",
            "--kubeconfig",
            cluster.kubeconfig().toString())) {
      waiter.awaitLog("a different run (revision 41, expecting 42)", LOG);
      assertTrue(waiter.isAlive(), "the previous release's Job must not let the pod start");

      admin
          .batch()
          .v1()
          .jobs()
          .inNamespace(ns)
          .withName("db-migrate")
          .withPropagationPolicy(io.fabric8.kubernetes.api.model.DeletionPropagation.BACKGROUND)
          .delete();
      LocalCluster.await(
          "old Job gone",
          LOG,
          () -> admin.batch().v1().jobs().inNamespace(ns).withName("db-migrate").get() == null);
      create(admin, ns, job("db-migrate", false, false, null, "42"));
      assertEquals(0, waiter.awaitExit(EXIT), waiter.log());
    }
  }

  @Test
  void survivesAnApiServerRestartWithTheRightVerdict(LocalCluster cluster) {
    KubernetesClient admin = cluster.client();
    String ns = cluster.createNamespace("waiter-restart", Map.of());
    create(admin, ns, job("db-migrate", true, true, null, null));
    try (WaiterProcess waiter = startAdmin(cluster, ns, "db-migrate")) {
      waiter.awaitLog("event=suspended", LOG);

      cluster.restartApiServer();
      assertTrue(waiter.isAlive(), "an API server restart is not a verdict:\n" + waiter.log());

      resume(admin, ns, "db-migrate");
      assertEquals(2, waiter.awaitExit(EXIT), waiter.log());
      assertTrue(
          waiter.terminationMessage().contains("failed: BackoffLimitExceeded"),
          waiter.terminationMessage());
    }
  }

  @Test
  void worksWithOnlyTheDocumentedRole(LocalCluster cluster) throws Exception {
    KubernetesClient admin = cluster.client();
    String ns = cluster.createNamespace("waiter-rbac", Map.of());
    Path kubeconfig =
        serviceAccountKubeconfig(cluster, ns, "app", List.of("get", "list", "watch"), "db-migrate");
    try (WaiterProcess waiter =
        WaiterProcess.start(
            dir, "--namespace", ns, "--job", "db-migrate", "--kubeconfig", kubeconfig.toString())) {
      // Created after the start: needs the watch with fieldSelector=metadata.name that the Role
      // allows.
      waiter.awaitLog("not found, waiting for it to be created", LOG);
      create(admin, ns, job("db-migrate", false, false, null, null));
      assertEquals(0, waiter.awaitExit(EXIT), waiter.log());
      assertTrue(!waiter.log().contains("polling"), "the Role allows watch:\n" + waiter.log());
    }
  }

  @Test
  void fallsBackToPollingWhenWatchIsNotPermitted(LocalCluster cluster) throws Exception {
    KubernetesClient admin = cluster.client();
    String ns = cluster.createNamespace("waiter-poll", Map.of());
    Path kubeconfig = serviceAccountKubeconfig(cluster, ns, "app", List.of("get"), "db-migrate");
    create(admin, ns, job("db-migrate", true, false, null, null));
    try (WaiterProcess waiter =
        WaiterProcess.start(
            dir, "--namespace", ns, "--job", "db-migrate", "--kubeconfig", kubeconfig.toString())) {
      waiter.awaitLog("event=polling msg=\"watch not permitted (verb watch on jobs.batch", LOG);
      resume(admin, ns, "db-migrate");
      assertEquals(0, waiter.awaitExit(EXIT), waiter.log());
    }
  }

  @Test
  void withoutPermissionExitsFourNamingTheMissingPermission(LocalCluster cluster) throws Exception {
    String ns = cluster.createNamespace("waiter-denied", Map.of());
    Path kubeconfig = serviceAccountKubeconfig(cluster, ns, "app", List.of(), "db-migrate");
    try (WaiterProcess waiter =
        WaiterProcess.start(
            dir, "--namespace", ns, "--job", "db-migrate", "--kubeconfig", kubeconfig.toString())) {
      assertEquals(4, waiter.awaitExit(EXIT), waiter.log());
      assertTrue(
          waiter
              .terminationMessage()
              .startsWith(
                  "not permitted: ServiceAccount "
                      + ns
                      + "/app cannot get jobs.batch \"db-migrate\" in namespace "
                      + ns
                      + "; bind it a Role with apiGroups [batch], resources [jobs], resourceNames [db-migrate],"
                      + " verbs [get, list, watch]"),
          waiter.terminationMessage());
    }
  }

  private WaiterProcess startAdmin(LocalCluster cluster, String ns, String job) {
    return WaiterProcess.start(
        dir, "--namespace", ns, "--job", job, "--kubeconfig", cluster.kubeconfig().toString());
  }

  private Path serviceAccountKubeconfig(
      LocalCluster cluster, String ns, String serviceAccount, List<String> verbs, String job)
      throws Exception {
    return ServiceAccounts.kubeconfig(cluster, dir, ns, serviceAccount, verbs, List.of(job));
  }

  /** A Job whose kwok pod succeeds (or fails, with backoffLimit 0) after {@code runFor}. */
  private static Job create(KubernetesClient admin, String ns, Job job) {
    return admin.batch().v1().jobs().inNamespace(ns).resource(job).create();
  }

  static Job job(String name, boolean suspend, boolean fail, String runFor, String revision) {
    Map<String, String> podAnnotations = new HashMap<>();
    if (fail) {
      podAnnotations.put("migrate-gate.test/fail", "true");
    }
    if (runFor != null) {
      podAnnotations.put("migrate-gate.test/run-duration", runFor);
    }
    Map<String, String> annotations = new HashMap<>();
    if (revision != null) {
      annotations.put(JobVerdict.REVISION_ANNOTATION, revision);
    }
    return new JobBuilder()
        .withNewMetadata()
        .withName(name)
        .withAnnotations(annotations)
        .endMetadata()
        .withNewSpec()
        .withSuspend(suspend)
        .withBackoffLimit(0)
        .withNewTemplate()
        .withNewMetadata()
        .withAnnotations(podAnnotations)
        .endMetadata()
        .withNewSpec()
        .withRestartPolicy("Never")
        .addNewContainer()
        .withName("migrate")
        .withImage("registry.example/migrate:1")
        .endContainer()
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }

  private static void resume(KubernetesClient admin, String ns, String name) {
    admin
        .batch()
        .v1()
        .jobs()
        .inNamespace(ns)
        .withName(name)
        .edit(
            j -> {
              j.getSpec().setSuspend(false);
              return j;
            });
  }

  private static void awaitSucceeded(KubernetesClient admin, String ns, String name) {
    LocalCluster.await(
        "Job " + ns + "/" + name + " succeeded",
        EXIT,
        () ->
            JobVerdict.of(
                        JobVerdictTest.snapshot(
                            admin.batch().v1().jobs().inNamespace(ns).withName(name).get()),
                        null)
                    .phase()
                == JobVerdict.Phase.SUCCEEDED);
  }

  /** Completes with System.nanoTime() when the admin watch first sees a success condition. */
  private static CompletableFuture<Long> firstSuccessCondition(
      KubernetesClient admin, String ns, String name) {
    CompletableFuture<Long> seen = new CompletableFuture<>();
    Watch watch =
        admin
            .batch()
            .v1()
            .jobs()
            .inNamespace(ns)
            .withName(name)
            .watch(
                new Watcher<Job>() {
                  @Override
                  public void eventReceived(Action action, Job job) {
                    if (JobVerdict.of(JobVerdictTest.snapshot(job), null).phase()
                        == JobVerdict.Phase.SUCCEEDED) {
                      seen.complete(System.nanoTime());
                    }
                  }

                  @Override
                  public void onClose(WatcherException cause) {
                    seen.completeExceptionally(cause);
                  }
                });
    seen.whenComplete((t, e) -> watch.close());
    return seen;
  }

  private static int count(String text, String fragment) {
    int count = 0;
    for (int i = text.indexOf(fragment); i >= 0; i = text.indexOf(fragment, i + 1)) {
      count++;
    }
    return count;
  }
}
