package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrategate.gate.server.AdmissionEndpoint;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The gate over real HTTPS: what the API server (or anything else) gets for each kind of body. */
class GateHttpTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static GateFixture fixture;

  @BeforeAll
  static void start() throws Exception {
    fixture = new GateFixture(new StubReviewer());
  }

  @AfterAll
  static void stop() throws Exception {
    fixture.close();
  }

  @Test
  void answersAnAnnotatedPodReviewWithItsUidAndABase64JsonPatch() throws Exception {
    HttpResponse<String> response = fixture.post(GateFixture.sampleReview(), "application/json");

    assertEquals(200, response.statusCode(), response.body());
    assertEquals("application/json", response.headers().firstValue("content-type").orElse(""));
    JsonNode review = JSON.readTree(response.body());
    assertEquals("admission.k8s.io/v1", review.path("apiVersion").asText());
    assertEquals("AdmissionReview", review.path("kind").asText());
    assertEquals(
        "5e3b8f2a-9c41-4c7e-8d2b-6a1f0e9d7c35", review.path("response").path("uid").asText());
    assertTrue(review.path("response").path("allowed").asBoolean());
    assertEquals("JSONPatch", review.path("response").path("patchType").asText());
    String patch =
        new String(
            Base64.getDecoder().decode(review.path("response").path("patch").asText()),
            StandardCharsets.UTF_8);
    assertTrue(JSON.readTree(patch).isArray(), patch);
  }

  @Test
  void acceptsJsonWithACharsetParameter() throws Exception {
    HttpResponse<String> response =
        fixture.post(GateFixture.sampleReview(), "application/json; charset=utf-8");
    assertEquals(200, response.statusCode(), response.body());
  }

  @Test
  void rejectsABodyOverThreeMebibytesWith413() throws Exception {
    byte[] body = new byte[(int) AdmissionEndpoint.MAX_BODY_BYTES + 1];
    java.util.Arrays.fill(body, (byte) ' ');

    HttpResponse<String> response = fixture.post(body, "application/json");

    assertEquals(413, response.statusCode(), response.body());
    assertTrue(response.body().contains("larger than 3145728 bytes"), response.body());
    // The connection pool must still work afterwards.
    assertEquals(200, fixture.post(GateFixture.sampleReview(), "application/json").statusCode());
  }

  @Test
  void acceptsABodyJustUnderTheLimit() throws Exception {
    String review = new String(GateFixture.sampleReview(), StandardCharsets.UTF_8);
    int padding = (int) AdmissionEndpoint.MAX_BODY_BYTES - review.length() - 1;
    byte[] body = (review + " ".repeat(padding)).getBytes(StandardCharsets.UTF_8);

    HttpResponse<String> response = fixture.post(body, "application/json");

    assertEquals(200, response.statusCode(), response.body());
  }

  @Test
  void rejectsAnotherContentTypeWith415() throws Exception {
    HttpResponse<String> plain = fixture.post(GateFixture.sampleReview(), "text/plain");
    HttpResponse<String> none = fixture.post(GateFixture.sampleReview(), null);
    HttpResponse<String> yaml = fixture.post(GateFixture.sampleReview(), "application/yaml");

    for (HttpResponse<String> response : java.util.List.of(plain, none, yaml)) {
      assertEquals(415, response.statusCode(), response.body());
      assertTrue(response.body().contains("send the AdmissionReview as application/json"));
    }
  }

  @Test
  void rejectsABodyThatIsNotJsonWith400() throws Exception {
    HttpResponse<String> response =
        fixture.post("{\"apiVersion\": \"admission.k8s.io/v1\",".getBytes(), "application/json");

    assertEquals(400, response.statusCode(), response.body());
    JsonNode status = JSON.readTree(response.body());
    assertEquals("Status", status.path("kind").asText());
    assertEquals(400, status.path("code").asInt());
    assertTrue(status.path("message").asText().contains("not valid JSON"), response.body());
  }

  @Test
  void rejectsAnEmptyBodyWith400() throws Exception {
    HttpResponse<String> response = fixture.post(new byte[0], "application/json");
    assertEquals(400, response.statusCode(), response.body());
    assertTrue(response.body().contains("empty"), response.body());
  }

  @Test
  void rejectsJsonThatIsNotAnAdmissionReviewV1With400AndSaysWhy() throws Exception {
    HttpResponse<String> pod =
        fixture.post("{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}".getBytes(), "application/json");
    String v1beta1 =
        new String(GateFixture.sampleReview(), StandardCharsets.UTF_8)
            .replace("admission.k8s.io/v1", "admission.k8s.io/v1beta1");
    HttpResponse<String> old = fixture.post(v1beta1.getBytes(), "application/json");
    HttpResponse<String> array = fixture.post("[1,2,3]".getBytes(), "application/json");

    assertEquals(400, pod.statusCode());
    assertTrue(pod.body().contains("expected apiVersion admission.k8s.io/v1"), pod.body());
    assertEquals(400, old.statusCode());
    assertTrue(old.body().contains("admission.k8s.io/v1beta1"), old.body());
    assertTrue(old.body().contains("admissionReviewVersions"), old.body());
    assertEquals(400, array.statusCode(), array.body());
  }

  @Test
  void rejectsAReviewWithoutRequestUidWith400() throws Exception {
    String noUid =
        new String(GateFixture.sampleReview(), StandardCharsets.UTF_8)
            .replace("\"uid\":\"5e3b8f2a-9c41-4c7e-8d2b-6a1f0e9d7c35\",", "");
    HttpResponse<String> response = fixture.post(noUid.getBytes(), "application/json");

    assertEquals(400, response.statusCode(), response.body());
    assertTrue(response.body().contains("no uid"), response.body());
  }

  @Test
  void deniesAReviewWhoseRequestCannotBeDecodedAndStillEchoesItsUid() throws Exception {
    String broken =
        new String(GateFixture.sampleReview(), StandardCharsets.UTF_8)
            .replace(
                "\"username\":\"system:serviceaccount:kube-system:replicaset-controller\"",
                "\"username\":{\"not\":\"a string\"}");
    HttpResponse<String> response = fixture.post(broken.getBytes(), "application/json");

    assertEquals(200, response.statusCode(), response.body());
    JsonNode review = JSON.readTree(response.body());
    assertEquals(
        "5e3b8f2a-9c41-4c7e-8d2b-6a1f0e9d7c35", review.path("response").path("uid").asText());
    assertEquals(false, review.path("response").path("allowed").asBoolean(true));
    assertTrue(
        review.path("response").path("status").path("message").asText().contains("cannot decode"));
  }

  @Test
  void answersOtherPathsWith404AndOtherMethodsWith405() throws Exception {
    HttpResponse<String> other =
        fixture.client.send(
            HttpRequest.newBuilder(URI.create("https://localhost:" + fixture.gate.port() + "/x"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> get =
        fixture.client.send(
            HttpRequest.newBuilder(fixture.mutateUri()).build(),
            HttpResponse.BodyHandlers.ofString());

    assertEquals(404, other.statusCode());
    assertEquals(405, get.statusCode());
  }

  @Test
  void speaksTls12AndTls13() throws Exception {
    for (String protocol : new String[] {"TLSv1.2", "TLSv1.3"}) {
      try (SSLSocket socket =
          (SSLSocket)
              fixture
                  .pki
                  .clientContext()
                  .getSocketFactory()
                  .createSocket("localhost", fixture.gate.port())) {
        socket.setEnabledProtocols(new String[] {protocol});
        socket.startHandshake();
        assertEquals(protocol, socket.getSession().getProtocol());
      }
    }
  }

  @Test
  void refusesTls11() throws Exception {
    assumeTrue(
        Files.isExecutable(Path.of("/usr/bin/openssl")),
        "needs the openssl CLI: the JDK's own client refuses to offer TLS 1.1 at all");
    Process process =
        new ProcessBuilder(
                "/usr/bin/openssl",
                "s_client",
                "-connect",
                "127.0.0.1:" + fixture.gate.port(),
                "-tls1_1",
                "-cipher",
                "DEFAULT:@SECLEVEL=0")
            .redirectErrorStream(true)
            .start();
    process.getOutputStream().close();
    assertTrue(process.waitFor(20, TimeUnit.SECONDS), "openssl s_client did not finish");
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

    assertTrue(output.contains("alert protocol version"), output);
  }

  @Test
  void probesReportLivenessReadinessAndMetrics() throws Exception {
    fixture.post(GateFixture.sampleReview(), "application/json");
    fixture.post("nope".getBytes(), "application/json");

    HttpResponse<String> live = fixture.probe("/livez");
    HttpResponse<String> ready = fixture.probe("/readyz");
    HttpResponse<String> metrics = fixture.probe("/metrics");

    assertEquals(200, live.statusCode(), live.body());
    assertEquals(200, ready.statusCode(), ready.body());
    assertTrue(ready.body().contains("[+]tls ok serial="), ready.body());
    assertTrue(ready.body().contains("kubernetes-api"), ready.body());
    assertEquals(200, metrics.statusCode());
    assertTrue(
        metrics
            .headers()
            .firstValue("content-type")
            .orElse("")
            .startsWith("text/plain; version=0.0.4"));
    String text = metrics.body();
    for (String name :
        new String[] {
          "migrate_gate_admission_duration_seconds_bucket{le=\"0.0005\"}",
          "migrate_gate_admission_duration_seconds_count",
          "migrate_gate_admission_reviews_total{outcome=\"injected\"",
          "migrate_gate_invalid_requests_total{code=\"400\",reason=\"malformed-json\"}",
          "migrate_gate_serving_certificate_not_after_timestamp_seconds",
          "migrate_gate_tls_reloads_total{result=\"success\"}",
          "migrate_gate_inflight_reviews",
          "migrate_gate_kubernetes_api_reachable",
          "migrate_gate_ready 1"
        }) {
      assertTrue(text.contains(name), name + " missing in:\n" + text);
    }
    long notAfter =
        (long)
            GateFixture.metricValue(
                text, "migrate_gate_serving_certificate_not_after_timestamp_seconds");
    long expected =
        TestPki.serialOf(fixture.initialCertificate.certificatePem()).signum() > 0
            ? java.time.Instant.now().plus(Duration.ofHours(1)).getEpochSecond()
            : 0;
    assertTrue(Math.abs(notAfter - expected) < 180, "not_after " + notAfter + " vs " + expected);
  }

  @Test
  void reportsTheUnreachableKubernetesApiWithoutBecomingUnready() throws Exception {
    GateFixture.await(
        "the API check to fail",
        Duration.ofSeconds(30),
        () -> {
          try {
            return fixture.probe("/readyz").body().contains("[!]kubernetes-api unreachable");
          } catch (Exception e) {
            return false;
          }
        });
    HttpResponse<String> ready = fixture.probe("/readyz");
    assertEquals(200, ready.statusCode(), ready.body());
    assertTrue(ready.body().contains("--owner-lookup-failure-policy=fail-closed"), ready.body());
    assertEquals(0.0, fixture.metric("migrate_gate_kubernetes_api_reachable"));
    // ...and admission still works.
    assertEquals(200, fixture.post(GateFixture.sampleReview(), "application/json").statusCode());
  }
}
