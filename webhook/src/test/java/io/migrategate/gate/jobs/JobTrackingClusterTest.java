package io.migrategate.gate.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import io.migrategate.gate.ScaleBenchmark;
import io.migrategate.gate.jobs.JobLookup.Source;
import io.migrategate.gate.ledger.ConfigMapSuccessLedger;
import io.migrategate.gate.ledger.LedgerKey;
import io.migrategate.gate.ledger.LedgerPolicy;
import io.migrategate.gate.ledger.WatchMark;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * What the gate knows about a Job name survives the times no replica watched (issue 12, item 6c):
 * on the real API server, a run created, failed and deleted while the gate was down supersedes the
 * success before it (the missed events are replayed from the watch mark); and when those events are
 * gone, the older successes pass no pod until their Job is seen again. And what someone who may
 * write ConfigMaps in the gate's namespace puts into the ledger passes no pod (item 6a).
 */
@LocalClusterTest
class JobTrackingClusterTest {
  private static final Duration DEADLINE = Duration.ofSeconds(90);

  @Test
  void aRunThatFailedAndWasDeletedWhileNoGateWatchedIsNotPassedOnTheSuccessBeforeIt(
      LocalCluster cluster) {
    KubernetesClient admin = cluster.client();
    String gateNamespace = gateNamespace(cluster);
    String app = cluster.createNamespace("mg-missed", Map.of());
    String run1;
    try (KubernetesJobTracking gate = start(cluster, gateNamespace)) {
      run1 = runToTheEnd(admin, app, "migrate", false);
      LocalCluster.await(
          "run 1's success is recorded after its deletion",
          DEADLINE,
          () -> gate.tracker().lookup(app, "migrate", null).source() == Source.LEDGER);
      LocalCluster.await(
          "the watch mark is stored",
          DEADLINE,
          () ->
              admin.configMaps().inNamespace(gateNamespace).withName(WatchMark.CONFIG_MAP).get()
                  != null);
    }

    // The gate is down: run 2 is created, fails and is deleted (ttlSecondsAfterFinished: 0).
    String run2 = runToTheEnd(admin, app, "migrate", true);

    try (KubernetesJobTracking gate = start(cluster, gateNamespace)) {
      JobLookup answer = gate.tracker().lookup(app, "migrate", null);
      assertEquals(Source.NONE, answer.source(), answer.line());
      assertEquals(
          "not found (its latest run, uid " + run2 + ", was deleted before it succeeded)",
          answer.line(),
          "run 1 (" + run1 + ") must not pass pods that run 2 gates");
      assertFalse(gate.tracker().allSucceeded(app, List.of("migrate"), null));
    }
  }

  @Test
  void whenTheMissedEventsAreGoneOlderSuccessesPassNoPodUntilTheirJobIsSeenAgain(
      LocalCluster cluster) {
    KubernetesClient admin = cluster.client();
    String gateNamespace = gateNamespace(cluster);
    String app = cluster.createNamespace("mg-gap", Map.of());
    try (KubernetesJobTracking gate = start(cluster, gateNamespace)) {
      runToTheEnd(admin, app, "schema", false);
      LocalCluster.await(
          "the success is recorded",
          DEADLINE,
          () -> gate.tracker().lookup(app, "schema", null).source() == Source.LEDGER);
      LocalCluster.await(
          "the watch mark is stored",
          DEADLINE,
          () ->
              admin.configMaps().inNamespace(gateNamespace).withName(WatchMark.CONFIG_MAP).get()
                  != null);
    }
    // While the gate is down the API server restarts: its watch history starts anew, so the events
    // since the gate's mark are gone (as they are after a few minutes of busy history anyway).
    admin
        .configMaps()
        .inNamespace(app)
        .resource(new ConfigMapBuilder().withNewMetadata().withName("later").endMetadata().build())
        .create();
    cluster.restartApiServer();

    try (KubernetesJobTracking gate = start(cluster, gateNamespace)) {
      JobLookup doubted = gate.tracker().lookup(app, "schema", null);
      assertEquals(Source.NONE, doubted.source(), doubted.line());
      assertTrue(
          doubted.line().contains("no gate watched Jobs for a while before"), doubted.line());
      assertFalse(gate.tracker().allSucceeded(app, List.of("schema"), null));
      LocalCluster.await(
          "the doubt is stored in the ledger",
          DEADLINE,
          () -> shard(admin, gateNamespace, app).get("schema").contains("\"doubtedAt\""));

      // The migration runs again: its success passes pods, also after its deletion.
      runToTheEnd(admin, app, "schema", false);
      LocalCluster.await(
          "the new run's success is recorded after its deletion",
          DEADLINE,
          () -> gate.tracker().lookup(app, "schema", null).source() == Source.LEDGER);
      assertTrue(gate.tracker().allSucceeded(app, List.of("schema"), null));
    }
  }

  @Test
  void aSuccessWrittenIntoTheLedgerByAnyoneButTheGatePassesNoPod(LocalCluster cluster) {
    KubernetesClient admin = cluster.client();
    String gateNamespace = gateNamespace(cluster);
    String shop = cluster.createNamespace("mg-shop", Map.of());
    String bank = cluster.createNamespace("mg-bank", Map.of());
    try (KubernetesJobTracking gate = start(cluster, gateNamespace)) {
      runToTheEnd(admin, shop, "migrate", false);
      LocalCluster.await(
          "shop's success is recorded after its deletion",
          DEADLINE,
          () -> gate.tracker().lookup(shop, "migrate", null).source() == Source.LEDGER);
    }
    // Someone who may write ConfigMaps in the gate's namespace (but not read its Secrets) forges
    // bank's shard twice over: shop's genuine sealed entry copied across, and an entry of their own
    // with a future date and a made-up seal.
    String copied = shard(admin, gateNamespace, shop).get("migrate");
    String invented =
        copied
            .replaceAll("\"seal\":\"[^\"]*\"", "\"seal\":\"" + "A".repeat(43) + "\"")
            .replaceAll("20[0-9][0-9]-", "2099-");
    admin
        .configMaps()
        .inNamespace(gateNamespace)
        .resource(
            new ConfigMapBuilder()
                .withNewMetadata()
                .withName(ConfigMapSuccessLedger.shardName(bank))
                .addToLabels(
                    ConfigMapSuccessLedger.LEDGER_LABEL, ConfigMapSuccessLedger.LEDGER_LABEL_VALUE)
                .addToLabels(ConfigMapSuccessLedger.NAMESPACE_LABEL, bank)
                .endMetadata()
                .withData(Map.of("migrate", copied, "payments", invented))
                .build())
        .create();

    try (KubernetesJobTracking gate = start(cluster, gateNamespace)) {
      assertEquals(Source.LEDGER, gate.tracker().lookup(shop, "migrate", null).source());
      for (String job : List.of("migrate", "payments")) {
        JobLookup forged = gate.tracker().lookup(bank, job, null);
        assertEquals(Source.NONE, forged.source(), bank + "/" + job + ": " + forged.line());
      }
      assertFalse(gate.tracker().allSucceeded(bank, List.of("migrate"), null));
    }
  }

  @Test
  void successesArrivingTogetherAreOneWriteAndAStoppingGateWritesWhatItHolds(LocalCluster cluster)
      throws Exception {
    KubernetesClient admin = cluster.client();
    String gateNamespace = gateNamespace(cluster);
    String batch = cluster.createNamespace("mg-batch", Map.of());
    int jobs = 30;
    AtomicInteger shardWrites = new AtomicInteger();
    try (KubernetesJobTracking gate = start(cluster, gateNamespace);
        Watch writes =
            admin
                .configMaps()
                .inNamespace(gateNamespace)
                .withName(ConfigMapSuccessLedger.shardName(batch))
                .watch(
                    new Watcher<>() {
                      @Override
                      public void eventReceived(Action action, ConfigMap shard) {
                        if (action == Action.ADDED || action == Action.MODIFIED) {
                          shardWrites.incrementAndGet();
                        }
                      }

                      @Override
                      public void onClose(WatcherException cause) {}
                    })) {
      // The successes arrive together, as fast as the API server takes them.
      long start = System.nanoTime();
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        List<Future<?>> created = new ArrayList<>();
        for (int i = 0; i < jobs; i++) {
          String name = "report-" + i;
          created.add(
              pool.submit(() -> ExternallyManagedJobs.succeeded(admin, batch, name, Map.of())));
        }
        for (Future<?> job : created) {
          job.get();
        }
      } finally {
        pool.shutdownNow();
      }
      long arrivalSeconds = (System.nanoTime() - start) / 1_000_000_000L + 1;
      LocalCluster.await(
          "all " + jobs + " successes are stored in " + batch + "'s ledger shard",
          DEADLINE,
          () -> shard(admin, gateNamespace, batch).size() == jobs);
      // Batched: at most one write per second the successes took to arrive, and one for the window
      // still open. Unbatched, the writer wrote while they kept coming (5 writes for 30 arriving in
      // 2 s here; 18 when they came one after another).
      assertTrue(
          shardWrites.get() <= arrivalSeconds + 1,
          jobs
              + " successes arriving within "
              + arrivalSeconds
              + " s took "
              + shardWrites.get()
              + " writes of the shard");

      // A success inside its batch window when the gate stops is written on the way out.
      ExternallyManagedJobs.succeeded(admin, batch, "last", Map.of());
      LocalCluster.await(
          "the gate's ledger holds the last success (in memory)",
          DEADLINE,
          () -> gate.ledger().find(batch, "last").isPresent());
    }
    assertTrue(
        shard(admin, gateNamespace, batch).containsKey("last"),
        "the stopping gate wrote the success it held");
  }

  /** The stored ledger entries of {@code namespace}'s Jobs (none: empty). */
  private static Map<String, String> shard(
      KubernetesClient admin, String gateNamespace, String namespace) {
    ConfigMap shard =
        admin
            .configMaps()
            .inNamespace(gateNamespace)
            .withName(ConfigMapSuccessLedger.shardName(namespace))
            .get();
    return shard == null || shard.getData() == null ? Map.of() : shard.getData();
  }

  private static KubernetesJobTracking start(LocalCluster cluster, String gateNamespace) {
    KubernetesJobTracking tracking =
        KubernetesJobTracking.start(
            cluster.client().getConfiguration(),
            gateNamespace,
            LedgerKey.DEFAULT_SECRET,
            LedgerPolicy.defaults());
    LocalCluster.await("the Job tracker is ready", DEADLINE, tracking.tracker()::isReady);
    return tracking;
  }

  /** The gate's namespace with its ledger key Secret, pre-created empty as the manifests do. */
  private static String gateNamespace(LocalCluster cluster) {
    return ScaleBenchmark.gateNamespace(
        cluster.client(), cluster.createNamespace("mg-gate", Map.of()));
  }

  /**
   * Runs a Job to its end (success, or failure with {@code fail}) through the real Job controller,
   * deleted by the TTL controller right after; returns its uid once it is gone.
   */
  private static String runToTheEnd(
      KubernetesClient admin, String namespace, String name, boolean fail) {
    Map<String, String> podAnnotations = fail ? Map.of("migrate-gate.test/fail", "true") : Map.of();
    Job job =
        new JobBuilder()
            .withNewMetadata()
            .withName(name)
            .endMetadata()
            .withNewSpec()
            .withBackoffLimit(0)
            .withTtlSecondsAfterFinished(0)
            .withNewTemplate()
            .withNewMetadata()
            .withAnnotations(podAnnotations)
            .endMetadata()
            .withNewSpec()
            .withRestartPolicy("Never")
            .withContainers(
                new ContainerBuilder()
                    .withName("migrate")
                    .withImage("registry.example/migrate:1")
                    .build())
            .endSpec()
            .endTemplate()
            .endSpec()
            .build();
    String uid =
        admin
            .batch()
            .v1()
            .jobs()
            .inNamespace(namespace)
            .resource(job)
            .create()
            .getMetadata()
            .getUid();
    LocalCluster.await(
        "Job " + namespace + "/" + name + " ran and was deleted by the TTL controller",
        DEADLINE,
        () -> {
          Job now = admin.batch().v1().jobs().inNamespace(namespace).withName(name).get();
          return now == null || !now.getMetadata().getUid().equals(uid);
        });
    return uid;
  }
}
