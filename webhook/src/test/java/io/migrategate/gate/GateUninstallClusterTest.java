package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/**
 * {@code migrate-gate uninstall} (the chart's pre-delete hook) against the real API server: it
 * deletes the named webhook configuration and no other, succeeds when it is already gone, and says
 * what is wrong with its arguments.
 */
@LocalClusterTest
class GateUninstallClusterTest {

  @Test
  void deletesTheNamedWebhookConfigurationAndIsDoneWhenItIsGone(LocalCluster cluster) {
    var webhooks = cluster.client().admissionRegistration().v1().mutatingWebhookConfigurations();
    String suffix = Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
    String gate = "migrate-gate-uninstall-" + suffix;
    String other = "other-" + suffix;
    for (String name : List.of(gate, other)) {
      webhooks
          .resource(
              new MutatingWebhookConfigurationBuilder()
                  .withNewMetadata()
                  .withName(name)
                  .endMetadata()
                  .build())
          .create();
    }
    try {
      String[] args = {
        "uninstall",
        "--webhook-configuration",
        gate,
        "--kubeconfig",
        cluster.kubeconfig().toString()
      };
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      assertEquals(0, run(args, Map.of(), err), err.toString(StandardCharsets.UTF_8));
      assertNull(webhooks.withName(gate).get(), "the gate's webhook configuration is gone");
      assertNotNull(webhooks.withName(other).get(), "another one is left alone");
      assertTrue(
          err.toString(StandardCharsets.UTF_8).contains("uninstall: webhook configuration deleted"),
          err.toString(StandardCharsets.UTF_8));

      // Again (a retried hook): already gone is success. The name may come from the gate's env.
      ByteArrayOutputStream again = new ByteArrayOutputStream();
      assertEquals(
          0,
          run(
              new String[] {"uninstall", "--kubeconfig", cluster.kubeconfig().toString()},
              Map.of("MIGRATE_GATE_WEBHOOK_CONFIGURATION", gate),
              again),
          again.toString(StandardCharsets.UTF_8));
    } finally {
      webhooks.withName(other).delete();
      webhooks.withName(gate).delete();
    }
  }

  @Test
  void badArgumentsNameTheFix() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertEquals(GateMain.EXIT_USAGE, run(new String[] {"uninstall"}, Map.of(), err));
    assertEquals(
        "migrate-gate uninstall: --webhook-configuration is missing: give the name of the gate's"
            + " MutatingWebhookConfiguration (env MIGRATE_GATE_WEBHOOK_CONFIGURATION)\n",
        err.toString(StandardCharsets.UTF_8));
    ByteArrayOutputStream unknown = new ByteArrayOutputStream();
    assertEquals(
        GateMain.EXIT_USAGE, run(new String[] {"uninstall", "--force"}, Map.of(), unknown));
    assertTrue(
        unknown
            .toString(StandardCharsets.UTF_8)
            .contains("unknown argument '--force': give --webhook-configuration NAME"),
        unknown.toString(StandardCharsets.UTF_8));
  }

  private static int run(String[] args, Map<String, String> env, ByteArrayOutputStream err) {
    PrintStream stream = new PrintStream(err, true, StandardCharsets.UTF_8);
    return GateMain.run(args, env, System.out, stream, Gate::defaultReviewer);
  }
}
