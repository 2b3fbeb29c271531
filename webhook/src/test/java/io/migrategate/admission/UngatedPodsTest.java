package io.migrategate.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
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
                    // reviewed: nothing to report, whatever the outcome
                    pod(
                        "web-5d9-c",
                        "ReplicaSet",
                        "web-5d9",
                        Map.of("migrate.io/status", "injected")),
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
