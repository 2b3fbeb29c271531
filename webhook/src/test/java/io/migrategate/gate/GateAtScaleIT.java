package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13 in small, in {@code mvn verify}: the packaged gate, started as a process (the image's
 * JVM options) with a heap far below what the unpaged first list of all Jobs needed, reads
 * thousands of Jobs with big pod templates on a real API server, a few of them with 1 MiB templates
 * (near the API server's size limit), reports its tracker synced with every Job and stays up.
 * Before the informers' lists were paged it died of an {@code OutOfMemoryError} at this size
 * (docs/benchmarks/scale.md, where {@code benchmarks/scale/run} gives the full-size figures).
 */
@LocalClusterTest
class GateAtScaleIT {
  static final int JOBS = 5_000;
  static final int NAMESPACES = 30;
  static final int TEMPLATE_BYTES = 4_096;

  /** A container memory limit whose heap (60 %, gate.jvmopts) is 96 MiB. */
  static final String LIMIT = "160m";

  static final int HUGE_JOBS = 4;
  static final int HUGE_TEMPLATE_BYTES = 1 << 20;

  @TempDir Path dir;

  @Test
  void theGateReadsThousandsOfBigJobsWithASmallHeapAndStaysUp(LocalCluster cluster)
      throws Exception {
    KubernetesClient admin = cluster.client();
    String prefix = "mg-scale-it";
    try {
      ScaleBenchmark.populate(admin, prefix, JOBS, NAMESPACES, TEMPLATE_BYTES);
      // Among them a few Jobs near the API server's size limit: pod templates of 1 MiB (issue 13).
      for (int i = 0; i < HUGE_JOBS; i++) {
        admin
            .batch()
            .v1()
            .jobs()
            .inNamespace(ScaleBenchmark.namespace(prefix, 0))
            .resource(hugeJob("huge-" + i))
            .create();
      }
      String gateNamespace =
          ScaleBenchmark.gateNamespace(admin, cluster.createNamespace("mg-scale-gate", Map.of()));
      Path jar = Path.of(System.getProperty("migrategate.gateJar"));
      assertTrue(Files.isRegularFile(jar), "the packaged gate jar " + jar);

      ScaleBenchmark.Result result =
          ScaleBenchmark.startGate(
              cluster.kubeconfig(),
              jar,
              dir,
              gateNamespace,
              LIMIT,
              // What the synced gate tracks, read while it runs.
              gate ->
                  String.valueOf(
                      ScaleChurn.gateMetrics(gate.probePort())
                          .getOrDefault("migrate_gate_tracked_jobs", -1.0)
                          .longValue()));

      assertTrue(
          result.survived(),
          "the gate under a memory limit of "
              + LIMIT
              + " synced its Job tracker over "
              + JOBS
              + " Jobs and stayed up; it "
              + (result.exitCode() >= 0
                  ? "exited with " + result.exitCode()
                  : "did not sync within " + ScaleBenchmark.TRACKER_DEADLINE)
              + ":\n"
              + result.logTail());
      assertTrue(
          Long.parseLong(result.afterSync()) >= JOBS + HUGE_JOBS,
          "every Job is tracked, the 1 MiB ones too: " + result.afterSync());
    } finally {
      for (int n = 0; n < NAMESPACES; n++) {
        admin.namespaces().withName(ScaleBenchmark.namespace(prefix, n)).delete();
      }
    }
  }

  private static io.fabric8.kubernetes.api.model.batch.v1.Job hugeJob(String name) {
    return new io.fabric8.kubernetes.api.model.batch.v1.JobBuilder()
        .withNewMetadata()
        .withName(name)
        .endMetadata()
        .withNewSpec()
        .withSuspend(true)
        .withNewTemplate()
        .withNewSpec()
        .withRestartPolicy("Never")
        .addNewContainer()
        .withName("batch")
        .withImage("registry.example/batch:1")
        // Big pod templates come from configuration inlined into env and args.
        .addNewEnv()
        .withName("CONFIG")
        .withValue("x".repeat(HUGE_TEMPLATE_BYTES))
        .endEnv()
        .endContainer()
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }
}
