package io.migrategate.gate.status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.apps.ReplicaSetBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.migrategate.core.UsageException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The status view from objects as the API server would return them (no cluster needed). */
class StatusViewTest {
  private static final Instant NOW = Instant.parse("2026-12-08T03:00:00Z");

  private final Deployment shop =
      new DeploymentBuilder()
          .withNewMetadata()
          .withNamespace("shop")
          .withName("shop")
          .withUid("d-1")
          .withAnnotations(Map.of("migrate.io/job", "migrate-v2"))
          .endMetadata()
          .build();
  private final ReplicaSet shopRs =
      new ReplicaSetBuilder()
          .withNewMetadata()
          .withNamespace("shop")
          .withName("shop-7f9")
          .withUid("rs-1")
          .addNewOwnerReference()
          .withKind("Deployment")
          .withName("shop")
          .withUid("d-1")
          .withController(true)
          .endOwnerReference()
          .endMetadata()
          .build();

  @Test
  void eachPodWithTheJobsItWaitsOnTheirVerdictsAndHowLongItWaited() {
    Pod waiting = injected("shop-7f9-a", "migrate-v2,schema", "2026-12-08T02:58:30Z");
    waiting
        .getStatus()
        .setInitContainerStatuses(
            List.of(
                new ContainerStatusBuilder()
                    .withName("migrate-wait")
                    .withNewState()
                    .withNewRunning()
                    .withStartedAt("2026-12-08T02:58:35Z")
                    .endRunning()
                    .endState()
                    .build()));
    Pod failed = injected("shop-7f9-b", "migrate-v2", "2026-12-08T02:50:00Z");
    failed
        .getStatus()
        .setInitContainerStatuses(
            List.of(
                new ContainerStatusBuilder()
                    .withName("migrate-wait")
                    .withNewState()
                    .withNewWaiting()
                    .withReason("CrashLoopBackOff")
                    .endWaiting()
                    .endState()
                    .withNewLastState()
                    .withNewTerminated()
                    .withExitCode(2)
                    .withMessage("job shop/migrate-v2 failed: BackoffLimitExceeded\n")
                    .withFinishedAt("2026-12-08T02:55:00Z")
                    .endTerminated()
                    .endLastState()
                    .build()));
    Pod released = injected("shop-7f9-c", "migrate-v2", "2026-12-08T02:40:00Z");
    released
        .getStatus()
        .setInitContainerStatuses(
            List.of(
                new ContainerStatusBuilder()
                    .withName("migrate-wait")
                    .withNewState()
                    .withNewTerminated()
                    .withExitCode(0)
                    .withFinishedAt("2026-12-08T02:41:05Z")
                    .endTerminated()
                    .endState()
                    .build()));
    Pod ungated = pod("shop-7f9-d", "2026-12-08T02:59:00Z", Map.of());
    Pod unrelated = pod("other-1", "2026-12-08T02:59:00Z", Map.of());
    unrelated.getMetadata().setOwnerReferences(List.of());
    Job failedJob =
        new JobBuilder()
            .withNewMetadata()
            .withNamespace("shop")
            .withName("migrate-v2")
            .endMetadata()
            .withNewStatus()
            .withConditions(
                new JobConditionBuilder()
                    .withType("Failed")
                    .withStatus("True")
                    .withReason("BackoffLimitExceeded")
                    .withMessage("Job has reached the specified backoff limit")
                    .build())
            .endStatus()
            .build();

    List<StatusView.PodStatus> rows =
        StatusView.of(
            new StatusView.Cluster(
                List.of(waiting, failed, released, ungated, unrelated),
                List.<HasMetadata>of(shop, shopRs),
                List.of(failedJob)),
            NOW);

    String failedVerdict =
        "failed (Failed): BackoffLimitExceeded: Job has reached the specified backoff limit";
    String notFound =
        "not found (not created yet, or deleted: after a success the gate's ledger still lets new"
            + " pods pass)";
    assertEquals(
        List.of(
            new StatusView.PodStatus(
                "shop",
                "Deployment/shop",
                "shop-7f9-a",
                "injected",
                "waiting",
                Optional.of(Duration.ofSeconds(90)),
                List.of(
                    new StatusView.JobStatus("migrate-v2", "failed", failedVerdict),
                    new StatusView.JobStatus("schema", "not found", notFound))),
            new StatusView.PodStatus(
                "shop",
                "Deployment/shop",
                "shop-7f9-b",
                "injected",
                "failed (exit 2), restarting: job shop/migrate-v2 failed: BackoffLimitExceeded",
                Optional.of(Duration.ofMinutes(10)),
                List.of(new StatusView.JobStatus("migrate-v2", "failed", failedVerdict))),
            new StatusView.PodStatus(
                "shop",
                "Deployment/shop",
                "shop-7f9-c",
                "injected",
                "released",
                Optional.of(Duration.ofSeconds(65)),
                List.of(new StatusView.JobStatus("migrate-v2", "failed", failedVerdict))),
            new StatusView.PodStatus(
                "shop",
                "Deployment/shop",
                "shop-7f9-d",
                "un-gated",
                "started without migrate-wait (created while the gate was unavailable, or its"
                    + " namespace is not served)",
                Optional.empty(),
                List.of(new StatusView.JobStatus("migrate-v2", "failed", failedVerdict)))),
        rows);

    assertEquals(
        String.join(
            "\n",
            "WORKLOAD          POD          GATE       STATE     WAITED   JOB          VERDICT",
            "Deployment/shop   shop-7f9-a   injected   waiting   90s      migrate-v2   "
                + failedVerdict,
            "Deployment/shop   shop-7f9-a   injected   waiting   90s      schema       " + notFound,
            ""),
        GateStatus.table(rows.subList(0, 1), false));
  }

  @Test
  void jsonCarriesTheSameFieldsForScripts() throws Exception {
    StatusView.PodStatus row =
        new StatusView.PodStatus(
            "shop",
            "Pod",
            "solo",
            "skipped: opt-out",
            "Running",
            Optional.empty(),
            List.of(new StatusView.JobStatus("migrate", "succeeded", "succeeded")));
    JsonNode item = new ObjectMapper().readTree(GateStatus.json(List.of(row))).path("items").get(0);
    assertEquals("solo", item.path("pod").asText());
    assertEquals("skipped: opt-out", item.path("gate").asText());
    assertEquals(true, item.path("waitedSeconds").isNull());
    assertEquals("succeeded", item.path("jobs").get(0).path("phase").asText());
  }

  @Test
  void theTableShortensALongStateAndKeepsTheVerdictWhole() {
    String message = "failed (exit 2): job shop/migrate failed: " + "x".repeat(100);
    StatusView.PodStatus row =
        new StatusView.PodStatus(
            "shop",
            "Pod",
            "solo",
            "injected",
            message,
            Optional.of(Duration.ofSeconds(9)),
            List.of(new StatusView.JobStatus("migrate", "failed", "failed: " + "y".repeat(100))));
    String line = GateStatus.table(List.of(row), true).lines().skip(1).findFirst().orElseThrow();
    assertEquals(
        List.of(
            "shop",
            "Pod",
            "solo",
            "injected",
            message.substring(0, GateStatus.STATE_WIDTH - 3) + "...",
            "9.0s",
            "migrate",
            "failed: " + "y".repeat(100)),
        List.of(line.split(" {3,}")),
        line);
  }

  @Test
  void badArgumentsAreNamed() {
    assertEquals(
        "-o 'yaml': give table (the default) or json",
        assertThrows(UsageException.class, () -> GateStatus.parse(List.of("-o", "yaml")))
            .getMessage());
    assertEquals(
        "give -n NAMESPACE or -A, not both",
        assertThrows(UsageException.class, () -> GateStatus.parse(List.of("-A", "-n", "shop")))
            .getMessage());
    assertEquals(
        "-n 'Shop' is not a namespace name",
        assertThrows(UsageException.class, () -> GateStatus.parse(List.of("-n=Shop")))
            .getMessage());
    assertEquals(
        "-n needs a value: give " + GateStatus.USAGE,
        assertThrows(UsageException.class, () -> GateStatus.parse(List.of("-n"))).getMessage());
    assertEquals(
        new GateStatus.Request(Optional.of("shop"), false, true, null),
        GateStatus.parse(List.of("--namespace=shop", "-o", "json")));
  }

  private Pod injected(String name, String jobs, String created) {
    Pod pod = pod(name, created, Map.of("migrate.io/status", "injected"));
    pod.getSpec()
        .setInitContainers(
            List.of(
                new io.fabric8.kubernetes.api.model.ContainerBuilder()
                    .withName("migrate-wait")
                    .addNewEnv()
                    .withName("MIGRATE_GATE_JOBS")
                    .withValue(jobs)
                    .endEnv()
                    .build()));
    return pod;
  }

  private Pod pod(String name, String created, Map<String, String> annotations) {
    return new PodBuilder()
        .withNewMetadata()
        .withNamespace("shop")
        .withName(name)
        .withCreationTimestamp(created)
        .withAnnotations(annotations)
        .addNewOwnerReference()
        .withKind("ReplicaSet")
        .withName("shop-7f9")
        .withUid("rs-1")
        .withController(true)
        .endOwnerReference()
        .endMetadata()
        .withNewSpec()
        .endSpec()
        .withNewStatus()
        .withPhase("Pending")
        .endStatus()
        .build();
  }
}
