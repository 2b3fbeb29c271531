package io.migrategate.gate.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class UngatedPodsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** web: Deployment annotated on its metadata; api: not annotated; db: StatefulSet, opted out. */
  private static final FakeOwnerLookup OWNERS =
      new FakeOwnerLookup(
          json(
              """
              {
                "ReplicaSet/web-5d9": {"annotations": {},
                  "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                       "uid": "uid-web", "controller": true}]},
                "Deployment/web": {"annotations": {"migrate.io/job": "shop-migrate"}},
                "ReplicaSet/api-7c4": {"annotations": {},
                  "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api",
                                       "uid": "uid-api", "controller": true}]},
                "Deployment/api": {"annotations": {}},
                "StatefulSet/db": {"annotations": {"migrate.io/job": "shop-migrate",
                                                   "migrate.io/inject": "false"}},
                "StatefulSet/cache": {"annotations": {"migrate.io/job": "cache-warm,shop-migrate"}}
              }
              """));

  private static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static JsonNode pod(
      String name, String ownerKind, String owner, Map<String, String> annotations) {
    Map<String, Object> metadata =
        Map.of(
            "name",
            name,
            "namespace",
            "shop",
            "uid",
            "uid-" + name,
            "annotations",
            annotations,
            "ownerReferences",
            List.of(
                Map.of(
                    "apiVersion",
                    ownerKind.equals("Job") ? "batch/v1" : "apps/v1",
                    "kind",
                    ownerKind,
                    "name",
                    owner,
                    "uid",
                    "uid-" + owner,
                    "controller",
                    true)));
    return JSON.valueToTree(
        Map.of("metadata", metadata, "spec", Map.of("containers", List.of(Map.of("name", "app")))));
  }

  @Test
  void podsOfAnAnnotatedWorkloadThatTheGateNeverReviewedAreFoundPerWorkload() {
    List<UngatedPods.Finding> findings =
        new UngatedPods(OWNERS)
            .find(
                "shop",
                List.of(
                    pod("web-5d9-b", "ReplicaSet", "web-5d9", Map.of()),
                    pod("web-5d9-a", "ReplicaSet", "web-5d9", Map.of()),
                    // passed the gate: its waiter, or a skip nothing contradicts
                    gated(pod("web-5d9-c", "ReplicaSet", "web-5d9", Map.of()), WAITER_IMAGE),
                    pod(
                        "web-5d9-d",
                        "ReplicaSet",
                        "web-5d9",
                        Map.of("migrate.io/status", "skipped: job-succeeded")),
                    // not annotated, opted out, a Job's pod: never gated
                    pod("api-7c4-a", "ReplicaSet", "api-7c4", Map.of()),
                    pod("db-0", "StatefulSet", "db", Map.of()),
                    pod("shop-migrate-x", "Job", "shop-migrate", Map.of()),
                    // annotated itself: always reviewed fail-closed, not the auditor's business
                    pod("web-5d9-e", "ReplicaSet", "web-5d9", Map.of("migrate.io/job", "other")),
                    pod("cache-0", "StatefulSet", "cache", Map.of())));

    assertEquals(2, findings.size(), findings.toString());
    UngatedPods.Finding web = findings.get(0);
    assertEquals("Deployment", web.workload().kind());
    assertEquals("web", web.workload().name());
    assertEquals("uid-web", web.workload().uid());
    assertEquals(
        List.of("web-5d9-a", "web-5d9-b"), web.pods().stream().map(UngatedPods.Pod::name).toList());
    assertEquals(
        "2 pods of this Deployment started WITHOUT migrate-wait, so they did not wait for Job"
            + " shop-migrate: web-5d9-a, web-5d9-b. The gate never reviewed them: migrate.io/job is"
            + " on the Deployment's metadata, not its pod template, and this namespace was not"
            + " labeled migrate.io/gate=enforced (with migrate.io/gate=enabled: the gate was"
            + " unavailable when they were created). Fix: put migrate.io/job on the pod template,"
            + " or label the namespace migrate.io/gate=enforced; delete these pods to have them"
            + " re-created through the gate.",
        web.message());

    UngatedPods.Finding cache = findings.get(1);
    assertEquals("StatefulSet/cache", cache.workload().toString());
    assertTrue(cache.message().startsWith("1 pod of this StatefulSet"), cache.message());
    assertTrue(cache.message().contains("Job cache-warm,shop-migrate"), cache.message());
  }

  /**
   * {@code migrate.io/status} alone proves nothing (anyone who can write a pod can write it): a pod
   * counts as gated with the gate's waiter, or with a skip nothing visible contradicts.
   */
  @Test
  void theStatusIsTrustedOnlyWithTheGatesWaiterOrASkipNothingContradicts() {
    UngatedPods finder =
        new UngatedPods(
            OWNERS, Optional.of(new InjectedWaiter.Identity(WAITER_IMAGE, Optional.of(WAIT_URL))));
    JsonNode impostor = pod("web-5d9-c", "ReplicaSet", "web-5d9", Map.of(STATUS, "injected"));
    ((ObjectNode) impostor.path("spec"))
        .putArray("initContainers")
        .add(json("{\"name\": \"migrate-wait\", \"image\": \"busybox:1.36\"}"));
    JsonNode busyboxWithTheRightEnv =
        gated(
            pod("web-5d9-g", "ReplicaSet", "web-5d9", Map.of(STATUS, "injected")), "busybox:1.36");
    List<UngatedPods.Finding> findings =
        finder.find(
            "shop",
            List.of(
                gated(
                    pod("web-5d9-a", "ReplicaSet", "web-5d9", Map.of(STATUS, "injected")),
                    WAITER_IMAGE),
                // the gate was upgraded since: another tag of the same image
                gated(
                    pod("web-5d9-b", "ReplicaSet", "web-5d9", Map.of(STATUS, "injected")),
                    "registry.example/migrate-gate-waiter:0.0.9"),
                impostor,
                pod("web-5d9-d", "ReplicaSet", "web-5d9", Map.of(STATUS, "injected")),
                pod("web-5d9-e", "ReplicaSet", "web-5d9", Map.of(STATUS, "skipped: job-owned")),
                pod("web-5d9-f", "ReplicaSet", "web-5d9", Map.of(STATUS, "skipped: no-annotation")),
                busyboxWithTheRightEnv,
                pod("web-5d9-h", "ReplicaSet", "web-5d9", Map.of(STATUS, "skipped: mirror-pod"))));
    assertEquals(1, findings.size(), findings.toString());
    List<UngatedPods.Pod> pods = findings.get(0).pods();
    assertEquals(
        List.of("web-5d9-c", "web-5d9-d", "web-5d9-e", "web-5d9-g", "web-5d9-h"),
        pods.stream().map(UngatedPods.Pod::name).toList());
    assertEquals(UngatedPods.Why.FOREIGN_WAITER, pods.get(0).why());
    assertEquals(UngatedPods.Why.FORGED_STATUS, pods.get(1).why());
    assertEquals(UngatedPods.Why.FORGED_STATUS, pods.get(2).why());
    assertEquals(UngatedPods.Why.FOREIGN_WAITER, pods.get(3).why());
    assertTrue(pods.get(3).detail().contains("busybox:1.36"), pods.get(3).detail());
    String message = findings.get(0).message();
    assertTrue(
        message.startsWith(
            "5 pods of this Deployment started WITHOUT migrate-wait, so they did not wait for Job"
                + " shop-migrate: web-5d9-c, web-5d9-d, web-5d9-e, web-5d9-g, web-5d9-h. web-5d9-c:"
                + " its container migrate-wait is not the gate's (image \"busybox:1.36\""),
        message);
    assertTrue(
        message.contains(
            "web-5d9-d: migrate.io/status says \"injected\" but it has no migrate-wait container."),
        message);
    assertTrue(message.contains("The same for 2 more."), message);
    assertFalse(message.contains("never reviewed"), message);

    // Without the gate's image (an auditor not told it), the impostor without env still shows.
    List<UngatedPods.Pod> unknownImage =
        new UngatedPods(OWNERS).find("shop", List.of(impostor)).get(0).pods();
    assertEquals(UngatedPods.Why.FOREIGN_WAITER, unknownImage.get(0).why());
  }

  /**
   * A client-written {@code skipped: job-succeeded} on a pod the gate never saw (a fail-open
   * outage) is found when the Job existed but had not succeeded when the pod was created.
   */
  @Test
  void aJobSucceededStatusIsCheckedAgainstTheJob() {
    Instant t0 = Instant.parse("2026-01-10T10:00:00Z");
    JsonNode early =
        created(
            pod("web-5d9-a", "ReplicaSet", "web-5d9", Map.of(STATUS, SUCCEEDED)),
            t0.plusSeconds(60));
    JsonNode late =
        created(
            pod("web-5d9-b", "ReplicaSet", "web-5d9", Map.of(STATUS, SUCCEEDED)),
            t0.plusSeconds(600));
    UngatedPods finder = new UngatedPods(OWNERS);

    UngatedPods.Jobs succeededAt300 =
        jobs(new UngatedPods.JobRecord(t0, Optional.of(t0.plusSeconds(300)), Optional.empty()));
    List<UngatedPods.Finding> findings = finder.find("shop", List.of(early, late), succeededAt300);
    assertEquals(1, findings.size());
    UngatedPods.Pod found = findings.get(0).pods().get(0);
    assertEquals("web-5d9-a", found.name(), "created before the Job succeeded");
    assertEquals(UngatedPods.Why.FORGED_STATUS, found.why());
    assertEquals(
        "migrate.io/status says \"skipped: job-succeeded\", but Job shop-migrate (created"
            + " 2026-01-10T10:00:00Z) succeeded only at 2026-01-10T10:05:00Z, after the pod was"
            + " created (2026-01-10T10:01:00Z)",
        found.detail());

    UngatedPods.Jobs running =
        jobs(new UngatedPods.JobRecord(t0, Optional.empty(), Optional.empty()));
    assertEquals(2, finder.find("shop", List.of(early, late), running).get(0).pods().size());

    // Not checkable, so trusted: the Job is gone, or a later run than the pod.
    assertEquals(List.of(), finder.find("shop", List.of(early, late), UngatedPods.Jobs.NONE));
    UngatedPods.Jobs laterRun =
        jobs(new UngatedPods.JobRecord(t0.plusSeconds(3600), Optional.empty(), Optional.empty()));
    assertEquals(List.of(), finder.find("shop", List.of(early, late), laterRun));
  }

  @Test
  void podsAdmittedUncheckedUnderFailOpenAreFoundAndSaySo() {
    List<UngatedPods.Finding> findings =
        new UngatedPods(OWNERS)
            .find(
                "shop",
                List.of(
                    pod(
                        "web-5d9-a",
                        "ReplicaSet",
                        "web-5d9",
                        Map.of("migrate.io/status", "skipped: owner-lookup-failed"))));
    assertEquals(1, findings.size());
    assertTrue(
        findings.get(0).message().contains("could not read this Deployment"),
        findings.get(0).message());
  }

  private static final String STATUS = GateAnnotations.STATUS;
  private static final String SUCCEEDED = "skipped: job-succeeded";
  private static final String WAITER_IMAGE = "registry.example/migrate-gate-waiter:0.1.0";
  private static final String WAIT_URL = "https://migrate-gate.migrate-gate.svc";

  /**
   * The pod as stored after the gate injected its waiter (gate mode) with {@code image}: the API
   * server's defaults added.
   */
  private static JsonNode gated(JsonNode pod, String image) {
    try {
      InjectionConfig config =
          InjectionConfig.defaults(image, "migrate-gate")
              .withWaitEndpoint(
                  Optional.of(
                      new WaitEndpoint(
                          WAIT_URL,
                          Files.readString(GoldenAdmissionTest.GOLDEN.resolve("gate-ca.pem")))));
      WaitSpec spec =
          new WaitSpec(
              JobReference.parse("shop-migrate"),
              Optional.empty(),
              Optional.empty(),
              "Deployment shop/web",
              Optional.empty(),
              Optional.empty());
      ObjectNode waiter =
          WaiterContainer.gateContainer(
              config, spec, "shop", new PodView(pod), config.waitEndpoint().get());
      waiter.put("imagePullPolicy", "IfNotPresent");
      waiter.put("terminationMessagePath", "/dev/termination-log");
      ObjectNode spec2 = (ObjectNode) pod.path("spec");
      spec2.putArray("initContainers").add(waiter);
      spec2.putArray("volumes").add(WaiterContainer.gateTokenVolume());
      return pod;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode created(JsonNode pod, Instant at) {
    ((ObjectNode) pod.path("metadata")).put("creationTimestamp", at.toString());
    return pod;
  }

  private static UngatedPods.Jobs jobs(UngatedPods.JobRecord shopMigrate) {
    return (namespace, name) ->
        name.equals("shop-migrate") ? Optional.of(shopMigrate) : Optional.empty();
  }

  @Test
  void oneEventNamePerSetOfPodsWhateverTheOrder() {
    UngatedPods finder = new UngatedPods(OWNERS);
    JsonNode a = pod("web-5d9-a", "ReplicaSet", "web-5d9", Map.of());
    JsonNode b = pod("web-5d9-b", "ReplicaSet", "web-5d9", Map.of());
    JsonNode c = pod("web-5d9-c", "ReplicaSet", "web-5d9", Map.of());
    String ab = finder.find("shop", List.of(a, b)).get(0).eventName();
    assertEquals(ab, finder.find("shop", List.of(b, a)).get(0).eventName());
    assertNotEquals(ab, finder.find("shop", List.of(a, b, c)).get(0).eventName());
    assertTrue(ab.matches("web\\.migrate-gate-[0-9a-f]{16}"), ab);
  }

  @Test
  void manyPodsAreCountedNotAllListed() {
    List<JsonNode> pods =
        java.util.stream.IntStream.range(0, 8)
            .mapToObj(i -> pod("web-5d9-" + i, "ReplicaSet", "web-5d9", Map.of()))
            .toList();
    String message = new UngatedPods(OWNERS).find("shop", pods).get(0).message();
    assertTrue(message.startsWith("8 pods"), message);
    assertTrue(
        message.contains("web-5d9-0, web-5d9-1, web-5d9-2, web-5d9-3, web-5d9-4 and 3 more."),
        message);
  }
}
