package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code migrate-gate check} (the chart's {@code helm test}) where no gate serves the namespace:
 * the API server admits the annotated pod as it is, and the check fails saying so. (That it passes
 * against a real installation is shown by HelmInstallE2eTest's {@code helm test}.)
 */
@LocalClusterTest
class GateCheckClusterTest {

  @Test
  void failsAndSaysWhyWhenNoGateServesTheNamespace(LocalCluster cluster) {
    String namespace = cluster.createNamespace("check", Map.of());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit =
        GateMain.run(
            new String[] {
              "check", "--namespace", namespace, "--kubeconfig", cluster.kubeconfig().toString()
            },
            Map.of(),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            Gate::defaultReviewer);
    String said = err.toString(StandardCharsets.UTF_8);
    assertEquals(GateMain.EXIT_START_FAILED, exit, said);
    assertTrue(
        said.contains(
            "migrate-gate check: FAILED: an annotated pod in namespace "
                + namespace
                + " was admitted without migrate-wait (migrate.io/status: none, the gate never saw"
                + " it)"),
        said);
    assertEquals("", out.toString(StandardCharsets.UTF_8));
  }

  @Test
  void aMissingNamespaceIsAUsageError() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit =
        GateMain.run(
            new String[] {"check"},
            Map.of(),
            System.out,
            new PrintStream(err, true, StandardCharsets.UTF_8),
            Gate::defaultReviewer);
    assertEquals(GateMain.EXIT_USAGE, exit);
    assertTrue(
        err.toString(StandardCharsets.UTF_8)
            .startsWith("migrate-gate check: --namespace is missing: give a namespace"),
        err.toString(StandardCharsets.UTF_8));
  }
}
