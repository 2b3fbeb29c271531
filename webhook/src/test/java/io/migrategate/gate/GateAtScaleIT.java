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
 * Issue 13 in small, in {@code mvn verify}: the packaged gate, started as a process with a heap far
 * below what the unpaged first list of all Jobs needed, reads thousands of Jobs with big pod
 * templates on a real API server, reports its tracker synced and stays up. Before the informers'
 * lists were paged it died of an {@code OutOfMemoryError} at this size (docs/benchmarks/scale.md,
 * where {@code benchmarks/scale/run} gives the full-size figures).
 */
@LocalClusterTest
class GateAtScaleIT {
  static final int JOBS = 5_000;
  static final int NAMESPACES = 30;
  static final int TEMPLATE_BYTES = 4_096;
  static final String HEAP = "96m";

  @TempDir Path dir;

  @Test
  void theGateReadsThousandsOfBigJobsWithASmallHeapAndStaysUp(LocalCluster cluster)
      throws Exception {
    KubernetesClient admin = cluster.client();
    String prefix = "mg-scale-it";
    try {
      ScaleBenchmark.populate(admin, prefix, JOBS, NAMESPACES, TEMPLATE_BYTES);
      String gateNamespace =
          ScaleBenchmark.gateNamespace(admin, cluster.createNamespace("mg-scale-gate", Map.of()));
      Path jar = Path.of(System.getProperty("migrategate.gateJar"));
      assertTrue(Files.isRegularFile(jar), "the packaged gate jar " + jar);

      ScaleBenchmark.Result result =
          ScaleBenchmark.startGate(cluster.kubeconfig(), jar, dir, gateNamespace, HEAP);

      assertTrue(
          result.survived(),
          "the gate with -Xmx"
              + HEAP
              + " synced its Job tracker over "
              + JOBS
              + " Jobs and stayed up; it "
              + (result.exitCode() >= 0
                  ? "exited with " + result.exitCode()
                  : "did not sync within " + ScaleBenchmark.TRACKER_DEADLINE)
              + ":\n"
              + result.logTail());
    } finally {
      for (int n = 0; n < NAMESPACES; n++) {
        admin.namespaces().withName(ScaleBenchmark.namespace(prefix, n)).delete();
      }
    }
  }
}
