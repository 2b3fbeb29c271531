package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import io.migrategate.gate.waitapi.KubernetesTokenReviewer;
import io.migrategate.gate.waitapi.TokenReviewer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 12's items 1 and 9 on the local control plane, with the production reviewer and token
 * checks: what an unauthenticated caller of the admission port learns about another namespace (no
 * Job state; a workload's annotation only with its uid), which tokens the wait API takes (pod-bound
 * only), and an open stream ending once its pod is gone.
 */
@LocalClusterTest
class GateSecurityClusterTest {
  private static final Duration DEADLINE = Duration.ofSeconds(90);
  private static final ObjectMapper JSON = new ObjectMapper();

  private static GateWaitScene scene;
  private static HttpClient http;

  @BeforeAll
  static void start(LocalCluster cluster) throws Exception {
    // Defaults but the re-check interval, shortened so a revoked token shows within the test.
    scene = new GateWaitScene(cluster, "--wait-reauth-interval", "2s");
    http = scene.httpClient(Duration.ofSeconds(10));
    LocalCluster.await("the gate's Job tracker is ready", DEADLINE, scene::trackerReady);
  }

  @AfterAll
  static void stop() {
    if (scene != null) {
      scene.close();
    }
  }

  @Test
  void onlyTokensBoundToAPodAreAccepted(KubernetesClient admin) throws Exception {
    String shop = scene.appNamespace("tokens");
    String bound = Files.readString(scene.appToken(shop, "app")).trim();
    // What `kubectl create token app --audience migrate-gate --duration 48h` makes: bound to
    // nothing, valid for days.
    String unbound =
        admin
            .serviceAccounts()
            .inNamespace(shop)
            .withName("app")
            .tokenRequest(
                new io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder()
                    .withNewSpec()
                    .withAudiences("migrate-gate")
                    .withExpirationSeconds(48 * 3600L)
                    .endSpec()
                    .build())
            .getStatus()
            .getToken();
    admin.batch().v1().jobs().inNamespace(shop).resource(job("migrate", true)).create();

    HttpResponse<String> refused = ask(shop, "migrate", unbound);
    assertEquals(401, refused.statusCode(), refused.body());
    try (Lines lines = stream(shop, "migrate", bound)) {
      assertEquals("job", lines.next().path("type").asText());
    }
    // The API server's own answer, past the gate's pre-check: valid, but not bound to a pod.
    TokenReviewer.Result review =
        new KubernetesTokenReviewer(admin, "migrate-gate").review(unbound);
    TokenReviewer.Result.Rejected rejected =
        assertInstanceOf(TokenReviewer.Result.Rejected.class, review, review.toString());
    assertTrue(rejected.reason().contains("not bound to a pod"), rejected.reason());
    assertInstanceOf(
        TokenReviewer.Result.Authenticated.class,
        new KubernetesTokenReviewer(admin, "migrate-gate").review(bound));
  }

  @Test
  void anOpenStreamEndsOnceItsPodIsDeleted(KubernetesClient admin) throws Exception {
    String shop = scene.appNamespace("revoked");
    admin
        .serviceAccounts()
        .inNamespace(shop)
        .resource(
            new ServiceAccountBuilder().withNewMetadata().withName("app").endMetadata().build())
        .create();
    Pod pod = scene.holderPod(shop, "app");
    String token = scene.boundToken(shop, "app", pod, "migrate-gate");
    admin.batch().v1().jobs().inNamespace(shop).resource(job("migrate", true)).create();
    try (Lines lines = stream(shop, "migrate", token)) {
      assertEquals("job", lines.next().path("type").asText());
      long deleted = System.nanoTime();
      admin
          .pods()
          .inNamespace(shop)
          .withName(pod.getMetadata().getName())
          .withGracePeriod(0)
          .delete();
      JsonNode notice = lines.nextOfType("notice");
      assertEquals("reauthenticate", notice.path("event").asText(), notice.toString());
      assertTrue(lines.ended(), "the stream ends after the notice");
      long tookMillis = (System.nanoTime() - deleted) / 1_000_000;
      // The re-check interval here is 2 s; kube-apiserver remembers a token's success for 10 s.
      System.out.println("stream of a deleted pod ended after " + tookMillis + " ms");
      assertTrue(tookMillis < 30_000, "ended " + tookMillis + " ms after the pod's deletion");
    }
    assertEquals(401, ask(shop, "migrate", token).statusCode(), "and the token stays refused");
  }

  /**
   * Issue 13: a waiting pod's token is verified by the gate itself against the API server's
   * published keys and its cache of pending pods, so waiters cost no TokenReview; once the pod is
   * gone the token goes to TokenReview again, which refuses it.
   */
  @Test
  void aPendingPodsTokenIsVerifiedWithoutATokenReviewUntilThePodIsGone(KubernetesClient admin)
      throws Exception {
    String shop = scene.appNamespace("local");
    admin
        .serviceAccounts()
        .inNamespace(shop)
        .resource(
            new ServiceAccountBuilder().withNewMetadata().withName("app").endMetadata().build())
        .create();
    Pod pod = scene.holderPod(shop, "app", true);
    String token = scene.boundToken(shop, "app", pod, "migrate-gate");
    admin.batch().v1().jobs().inNamespace(shop).resource(job("migrate", false)).create();
    String local = "migrate_gate_token_reviews_total{source=\"local\"}";
    String api = "migrate_gate_token_reviews_total{source=\"api\"}";
    long localBefore = scene.metric(local);
    // Until the gate's pending-pod watch has seen the pod, the token goes to TokenReview.
    LocalCluster.await(
        "the gate verifies the pending pod's token itself",
        DEADLINE,
        () -> opened(shop, "migrate", token) == 200 && scene.metric(local) > localBefore);
    long apiBefore = scene.metric(api);
    long localNow = scene.metric(local);
    for (int i = 0; i < 20; i++) {
      assertEquals(200, opened(shop, "migrate", token));
    }
    assertEquals(apiBefore, scene.metric(api), "no TokenReview for a pending pod's token");
    assertEquals(localNow + 20, scene.metric(local));
    assertEquals(
        0, scene.metric("migrate_gate_token_local_fallbacks_total{reason=\"keys-unavailable\"}"));

    admin
        .pods()
        .inNamespace(shop)
        .withName(pod.getMetadata().getName())
        .withGracePeriod(0)
        .delete();
    // kube-apiserver remembers a token's success for 10 s; then TokenReview refuses it.
    LocalCluster.await(
        "the deleted pod's token is refused",
        DEADLINE,
        () -> opened(shop, "migrate", token) == 401);
    assertTrue(scene.metric(api) > apiBefore, "decided by TokenReview");
  }

  @Test
  void aForgedReviewForAnotherNamespaceIsAnsweredTheSameWhetherItsJobsSucceeded(
      KubernetesClient admin) throws Exception {
    String bank = scene.cluster.createNamespace("bank", Map.of());
    // A waiter of bank's own, to know when the gate's tracker has seen the success.
    String bankToken = Files.readString(scene.appToken(bank, "app")).trim();
    admin.batch().v1().jobs().inNamespace(bank).resource(job("db-migrate", true)).create();
    try (Lines running = stream(bank, "db-migrate", bankToken)) {
      assertEquals("SUSPENDED", running.nextOfType("job").path("phase").asText());
    }
    ObjectNode whileRunning = reviewAnswer(forgedPod(bank, "db-migrate", null));

    admin
        .batch()
        .v1()
        .jobs()
        .inNamespace(bank)
        .withName("db-migrate")
        .edit(j -> new JobBuilder(j).editSpec().withSuspend(false).endSpec().build());
    try (Lines verdict = stream(bank, "db-migrate", bankToken)) {
      assertEquals("SUCCEEDED", verdict.nextOfType("verdict").path("outcome").asText());
    }
    ObjectNode afterSuccess = reviewAnswer(forgedPod(bank, "db-migrate", null));

    assertEquals(whileRunning, afterSuccess, "the answer says nothing about bank's Job");
    assertTrue(
        decodedPatch(afterSuccess).contains("migrate-wait"), "every gated pod gets its waiter");
    assertFalse(decodedPatch(afterSuccess).contains("job-succeeded"));
  }

  @Test
  void aForgedOwnerReferenceRevealsAWorkloadsAnnotationOnlyWithTheWorkloadsUid(
      KubernetesClient admin) throws Exception {
    String bank = scene.cluster.createNamespace("bank", Map.of());
    StatefulSet db =
        admin
            .apps()
            .statefulSets()
            .inNamespace(bank)
            .resource(
                new StatefulSetBuilder()
                    .withNewMetadata()
                    .withName("db")
                    .addToAnnotations("migrate.io/job", "secret-migration")
                    .endMetadata()
                    .withNewSpec()
                    .withReplicas(0)
                    .withServiceName("db")
                    .withNewSelector()
                    .addToMatchLabels("app", "db")
                    .endSelector()
                    .withNewTemplate()
                    .withNewMetadata()
                    .addToLabels("app", "db")
                    .endMetadata()
                    .withSpec(GateWaitClusterTest.appSpec())
                    .endTemplate()
                    .endSpec()
                    .build())
            .create();

    ObjectNode noUid = reviewAnswer(forgedPod(bank, null, owner("db", null)));
    ObjectNode wrongUid =
        reviewAnswer(forgedPod(bank, null, owner("db", UUID.randomUUID().toString())));
    ObjectNode nothingThere =
        reviewAnswer(forgedPod(bank, null, owner("no-such-db", UUID.randomUUID().toString())));
    for (ObjectNode answer : List.of(noUid, wrongUid, nothingThere)) {
      assertTrue(decodedPatch(answer).contains("skipped: owner-not-found"), answer.toString());
      assertFalse(decodedPatch(answer).contains("secret-migration"), answer.toString());
    }
    assertEquals(noUid, wrongUid);
    assertEquals(noUid, nothingThere, "an existing workload looks like a missing one");

    // What the API server sends for a real pod of db: its owner reference carries the uid.
    ObjectNode real = reviewAnswer(forgedPod(bank, null, owner("db", db.getMetadata().getUid())));
    assertTrue(decodedPatch(real).contains("secret-migration"), decodedPatch(real));
  }

  /**
   * The price of the fast path being off: a pod whose Job already succeeded gets a waiter, which
   * asks the gate and exits at once. Measured as that waiter process runs (its image's JVM options
   * and CDS archive), one after the other; the figures go to webhook/target and
   * docs/gate-wait-api.md.
   */
  @Test
  void withoutTheFastPathAPodOfASucceededJobGetsAWaiterThatPassesAtOnce(KubernetesClient admin)
      throws Exception {
    String shop = scene.appNamespace("cost");
    java.nio.file.Path token = scene.appToken(shop, "app");
    admin.batch().v1().jobs().inNamespace(shop).resource(job("done", false)).create();
    try (Lines verdict = stream(shop, "done", Files.readString(token).trim())) {
      assertEquals("SUCCEEDED", verdict.nextOfType("verdict").path("outcome").asText());
    }
    ObjectNode answer = reviewAnswer(forgedPod(shop, "done", null));
    assertTrue(decodedPatch(answer).contains("migrate-wait"), "a waiter, not skipped");

    int samples = 10;
    double reviewsBefore = metric("migrate_gate_token_reviews_total{source=\"api\"}");
    List<Long> millis = new ArrayList<>();
    for (int i = 0; i < samples; i++) {
      long started = System.nanoTime();
      try (WaiterRun waiter =
          WaiterRun.start(
              scene.dir.resolve("cost-" + i),
              WaiterRun.gateEnv(scene.waitUrl(), scene.caPem, token, shop, "done"))) {
        assertEquals(0, waiter.awaitExit(DEADLINE), waiter.output());
      }
      millis.add((System.nanoTime() - started) / 1_000_000);
    }
    double reviews = metric("migrate_gate_token_reviews_total{source=\"api\"}") - reviewsBefore;
    java.util.Collections.sort(millis);
    String figures =
        "fast path off, Job already succeeded: waiter process start -> exit 0 over "
            + samples
            + " runs: p50 "
            + millis.get(samples / 2)
            + " ms, max "
            + millis.get(samples - 1)
            + " ms, all "
            + millis
            + "; TokenReviews by the gate: "
            + (long) reviews
            + " (one token, cached)";
    System.out.println(figures);
    Files.writeString(
        java.nio.file.Path.of(System.getProperty("migrategate.projectRoot", ".."))
            .resolve("webhook/target/fast-path-off-cost.txt"),
        figures + "\n");
  }

  // --- helpers -----------------------------------------------------------------------------------

  private static double metric(String series) throws Exception {
    HttpResponse<String> metrics =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + scene.gate().probePort() + "/metrics"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    return GateFixture.metricValue(metrics.body(), series);
  }

  private static Job job(String name, boolean suspended) {
    return GateWaitClusterTest.job(name, suspended, Map.of());
  }

  private static ObjectNode owner(String name, String uid) {
    ObjectNode owner = JSON.createObjectNode();
    owner.put("apiVersion", "apps/v1");
    owner.put("kind", "StatefulSet");
    owner.put("name", name);
    if (uid != null) {
      owner.put("uid", uid);
    }
    owner.put("controller", true);
    return owner;
  }

  /** A review as anyone reaching the admission port could send it: nothing authenticates it. */
  private static ObjectNode forgedPod(String namespace, String jobs, ObjectNode owner) {
    ObjectNode review = JSON.createObjectNode();
    review.put("apiVersion", "admission.k8s.io/v1");
    review.put("kind", "AdmissionReview");
    ObjectNode request = review.putObject("request");
    request.put("uid", "forged-" + UUID.randomUUID());
    request.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
    request.putObject("resource").put("group", "").put("version", "v1").put("resource", "pods");
    request.put("namespace", namespace);
    request.put("operation", "CREATE");
    request
        .putObject("userInfo")
        .put("username", "system:serviceaccount:kube-system:replicaset-controller");
    ObjectNode pod = request.putObject("object");
    pod.put("apiVersion", "v1");
    pod.put("kind", "Pod");
    ObjectNode metadata = pod.putObject("metadata");
    metadata.put("name", "probe");
    metadata.put("namespace", namespace);
    ObjectNode annotations = metadata.putObject("annotations");
    if (jobs != null) {
      annotations.put("migrate.io/job", jobs);
    }
    if (owner != null) {
      ArrayNode owners = metadata.putArray("ownerReferences");
      owners.add(owner);
    }
    ObjectNode container = pod.putObject("spec").putArray("containers").addObject();
    container.put("name", "app");
    container.put("image", "registry.example/app:1");
    return review;
  }

  /** The gate's answer to {@code review}, without the per-request uid. */
  private static ObjectNode reviewAnswer(ObjectNode review) throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create(scene.admissionUrl() + "/mutate"))
                .timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(review.toString()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    ObjectNode answer = (ObjectNode) JSON.readTree(response.body());
    ((ObjectNode) answer.path("response")).remove("uid");
    return answer;
  }

  private static String decodedPatch(ObjectNode answer) {
    String patch = answer.path("response").path("patch").asText("");
    return new String(Base64.getDecoder().decode(patch), StandardCharsets.UTF_8);
  }

  /** A wait API request for {@code job} in {@code namespace} with {@code token}. */
  private static HttpRequest.Builder waitRequest(String namespace, String job, String token) {
    return HttpRequest.newBuilder(
            URI.create(scene.waitUrl() + "/wait/v1/namespaces/" + namespace + "/jobs?names=" + job))
        .header("Authorization", "Bearer " + token);
  }

  private static HttpResponse<String> ask(String namespace, String job, String token)
      throws Exception {
    return http.send(
        waitRequest(namespace, job, token).timeout(Duration.ofSeconds(20)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** The status of a wait request, its stream closed as soon as it is open. */
  private static int opened(String namespace, String job, String token) {
    try {
      HttpResponse<InputStream> response =
          http.send(
              waitRequest(namespace, job, token).timeout(Duration.ofSeconds(20)).build(),
              HttpResponse.BodyHandlers.ofInputStream());
      response.body().close();
      return response.statusCode();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static Lines stream(String namespace, String job, String token) throws Exception {
    HttpResponse<InputStream> response =
        http.send(
            waitRequest(namespace, job, token).build(), HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, response.statusCode());
    return new Lines(response.body());
  }

  /** The non-heartbeat lines of a stream, read on a thread of their own. */
  private static final class Lines implements AutoCloseable {
    private static final String END = "\u0000end";
    private final BlockingQueue<String> queue = new LinkedBlockingQueue<>();
    private final InputStream body;
    private final List<String> seen = new ArrayList<>();

    Lines(InputStream body) {
      this.body = body;
      Thread reader =
          new Thread(
              () -> {
                try (BufferedReader in =
                    new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
                  String line;
                  while ((line = in.readLine()) != null) {
                    if (!line.contains("\"heartbeat\"")) {
                      queue.add(line);
                    }
                  }
                } catch (Exception e) {
                  // closed by the test
                }
                queue.add(END);
              });
      reader.setDaemon(true);
      reader.start();
    }

    JsonNode next() throws Exception {
      String line = queue.poll(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
      if (line == null || line.equals(END)) {
        throw new AssertionError("no more lines; so far: " + seen);
      }
      seen.add(line);
      return JSON.readTree(line);
    }

    JsonNode nextOfType(String type) throws Exception {
      while (true) {
        JsonNode line = next();
        if (line.path("type").asText().equals(type)) {
          return line;
        }
      }
    }

    boolean ended() throws Exception {
      return END.equals(queue.poll(DEADLINE.toMillis(), TimeUnit.MILLISECONDS));
    }

    @Override
    public void close() throws Exception {
      body.close();
    }
  }
}
