package io.migrategate.gate.status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import io.migrategate.cluster.Tools;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code migrate-gate status} against the real API server (kwok's node runs no containers, so
 * nothing waits here; the real node's e2e shows waiting and failed pods): it resolves pods through
 * their ReplicaSet to the Deployment, reads the Job, and reports pods that started without
 * migrate-wait — here because no gate serves the namespace.
 */
@LocalClusterTest
class GateStatusClusterTest {

  @Test
  void podsOfAnAnnotatedDeploymentWithoutTheGateAreReportedUngated(LocalCluster cluster)
      throws Exception {
    KubernetesClient client = cluster.client();
    String namespace = cluster.createNamespace("status", Map.of());
    client
        .batch()
        .v1()
        .jobs()
        .inNamespace(namespace)
        .resource(
            new JobBuilder()
                .withNewMetadata()
                .withName("migrate")
                .endMetadata()
                .withNewSpec()
                .withSuspend(true)
                .withNewTemplate()
                .withNewSpec()
                .withRestartPolicy("Never")
                .addNewContainer()
                .withName("migrate")
                .withImage("registry.invalid/migrate:1")
                .endContainer()
                .endSpec()
                .endTemplate()
                .endSpec()
                .build())
        .create();
    client
        .apps()
        .deployments()
        .inNamespace(namespace)
        .resource(
            new DeploymentBuilder()
                .withNewMetadata()
                .withName("web")
                .endMetadata()
                .withNewSpec()
                .withReplicas(1)
                .withNewSelector()
                .addToMatchLabels("app", "web")
                .endSelector()
                .withNewTemplate()
                .withNewMetadata()
                .addToLabels("app", "web")
                .addToAnnotations("migrate.io/job", "migrate")
                .endMetadata()
                .withNewSpec()
                .addNewContainer()
                .withName("app")
                .withImage("registry.invalid/web:1")
                .endContainer()
                .endSpec()
                .endTemplate()
                .endSpec()
                .build())
        .create();
    LocalCluster.await(
        "the Deployment's pod",
        Duration.ofSeconds(60),
        () ->
            !client
                .pods()
                .inNamespace(namespace)
                .withLabel("app", "web")
                .list()
                .getItems()
                .isEmpty());
    String pod =
        client
            .pods()
            .inNamespace(namespace)
            .withLabel("app", "web")
            .list()
            .getItems()
            .get(0)
            .getMetadata()
            .getName();

    String table = run(cluster, "-n", namespace);
    List<String> row = List.of(table.lines().skip(1).findFirst().orElseThrow().split(" {3,}"));
    assertEquals(
        List.of(
            "Deployment/web",
            pod,
            "un-gated",
            "started without migrate-wait (created while the gate was unavailable, or its"
                    .substring(0, GateStatus.STATE_WIDTH - 3)
                + "...",
            "-",
            "migrate",
            "suspended"),
        row,
        table);

    JsonNode item =
        new ObjectMapper()
            .readTree(run(cluster, "-n", namespace, "-o", "json"))
            .path("items")
            .get(0);
    assertEquals(pod, item.path("pod").asText());
    assertTrue(
        item.path("state").asText().endsWith("or its namespace is not served)"), item.toString());
    assertEquals("suspended", item.path("jobs").get(0).path("phase").asText());

    String empty = run(cluster, "-n", cluster.createNamespace("status-empty", Map.of()));
    assertTrue(empty.startsWith("No pods wait on Jobs through migrate-gate in namespace "), empty);
  }

  /** The bin/kubectl-migrate_gate plugin's own answers, before it needs the gate's jar. */
  @Test
  void thePluginNamesItsCommands() throws Exception {
    Path plugin = Tools.projectRoot().resolve("bin/kubectl-migrate_gate");
    assertTrue(Files.isExecutable(plugin), plugin + " is executable");
    Process unknown = new ProcessBuilder(plugin.toString(), "frobnicate").start();
    String said = new String(unknown.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(64, unknown.waitFor(), said);
    assertTrue(said.startsWith("kubectl migrate-gate: unknown command 'frobnicate'"), said);
    assertTrue(said.contains("usage: kubectl migrate-gate status [-n NAMESPACE | -A]"), said);
    Process help = new ProcessBuilder(plugin.toString(), "--help").start();
    String usage = new String(help.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, help.waitFor());
    assertTrue(usage.contains("kubectl migrate-gate check --namespace NAMESPACE"), usage);
  }

  private static String run(LocalCluster cluster, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    List<String> all = new java.util.ArrayList<>(List.of(args));
    all.add("--kubeconfig=" + cluster.kubeconfig());
    int exit =
        GateStatus.run(
            all,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            Clock.systemUTC());
    assertEquals(0, exit, err.toString(StandardCharsets.UTF_8));
    return out.toString(StandardCharsets.UTF_8);
  }
}
