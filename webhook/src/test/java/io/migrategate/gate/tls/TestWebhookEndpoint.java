package io.migrategate.gate.tls;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrategate.certs.CertificateAuthority;
import io.migrategate.certs.IssuedCertificate;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.ServerSSLOptions;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLSession;

/**
 * A minimal mutating webhook on 127.0.0.1 serving whatever certificate self-managed TLS hands it,
 * the way the gate's server does ({@code updateSSLOptions(..., force=true)}). It adds the
 * annotation {@value #SERVED_BY} (serial of the certificate of the TLS connection) to every pod,
 * and closes each connection after answering so that every admission is a fresh TLS handshake with
 * the certificate current at that moment.
 */
final class TestWebhookEndpoint implements AutoCloseable {
  static final String SERVED_BY = "selftls.test/served-by";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Vertx vertx;
  private final HttpServer server;

  /** Serial (hex) of each certificate used for an answered review, with how many it answered. */
  final Map<String, AtomicInteger> answeredBySerial = new ConcurrentHashMap<>();

  /** Handshakes made with a certificate outside its validity: must stay empty. */
  final Queue<String> invalidCertificateUses = new ConcurrentLinkedQueue<>();

  private TestWebhookEndpoint(Vertx vertx, HttpServer server) {
    this.vertx = vertx;
    this.server = server;
  }

  /** Listens at once with a throwaway certificate nobody trusts, until the first install. */
  static TestWebhookEndpoint start() throws Exception {
    IssuedCertificate placeholder =
        CertificateAuthority.generate("selftls-placeholder", Duration.ofHours(1))
            .issueServing(List.of(), List.of("127.0.0.1"), Duration.ofMinutes(30));
    Vertx vertx = Vertx.vertx();
    TestWebhookEndpoint[] self = new TestWebhookEndpoint[1];
    HttpServer server =
        vertx
            .createHttpServer(
                new HttpServerOptions()
                    .setHost("127.0.0.1")
                    .setPort(0)
                    .setSsl(true)
                    .setKeyCertOptions(
                        keyCert(placeholder.certificatePem(), placeholder.privateKeyPem())))
            .requestHandler(request -> self[0].handle(request))
            .listen()
            .toCompletionStage()
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
    self[0] = new TestWebhookEndpoint(vertx, server);
    return self[0];
  }

  int port() {
    return server.actualPort();
  }

  String url() {
    return "https://127.0.0.1:" + port() + "/mutate";
  }

  /** Hot-swaps the served certificate, as the gate's server does. */
  ServingCertificateInstaller installer() {
    return leaf ->
        server
            .updateSSLOptions(
                new ServerSSLOptions()
                    .setKeyCertOptions(keyCert(leaf.certificatePem(), leaf.privateKeyPem())),
                true)
            .toCompletionStage();
  }

  Set<String> servedSerials() {
    return answeredBySerial.keySet();
  }

  private static PemKeyCertOptions keyCert(String certificatePem, String keyPem) {
    return new PemKeyCertOptions()
        .setCertValue(Buffer.buffer(certificatePem))
        .setKeyValue(Buffer.buffer(keyPem));
  }

  private void handle(HttpServerRequest request) {
    SSLSession session = request.connection().sslSession();
    String serial = localSerial(session);
    X509Certificate local = localCertificate(session);
    Instant now = Instant.now();
    if (local != null
        && (now.isAfter(local.getNotAfter().toInstant())
            || now.isBefore(local.getNotBefore().toInstant()))) {
      invalidCertificateUses.add(
          serial + " used at " + now + ", not_after " + local.getNotAfter().toInstant());
    }
    request
        .body()
        .onSuccess(
            body -> {
              String answer;
              try {
                answer = review(JSON.readTree(body.getBytes()), serial);
              } catch (Exception e) {
                request.response().setStatusCode(400).end(e.toString());
                return;
              }
              answeredBySerial.computeIfAbsent(serial, s -> new AtomicInteger()).incrementAndGet();
              request
                  .response()
                  .putHeader("Content-Type", "application/json")
                  .putHeader("Connection", "close")
                  .end(answer)
                  .onComplete(done -> request.connection().close());
            });
  }

  private static String review(JsonNode review, String serial) throws Exception {
    ArrayNode patch = JsonNodeFactory.instance.arrayNode();
    JsonNode annotations =
        review.path("request").path("object").path("metadata").path("annotations");
    if (annotations.isMissingNode() || annotations.isNull()) {
      patch.addObject().put("op", "add").put("path", "/metadata/annotations").putObject("value");
    }
    patch
        .addObject()
        .put("op", "add")
        .put("path", "/metadata/annotations/" + SERVED_BY.replace("~", "~0").replace("/", "~1"))
        .put("value", serial);
    ObjectNode answer = JsonNodeFactory.instance.objectNode();
    answer.put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
    answer
        .putObject("response")
        .put("uid", review.path("request").path("uid").asText())
        .put("allowed", true)
        .put("patchType", "JSONPatch")
        .put(
            "patch",
            Base64.getEncoder()
                .encodeToString(JSON.writeValueAsString(patch).getBytes(StandardCharsets.UTF_8)));
    return JSON.writeValueAsString(answer);
  }

  private static X509Certificate localCertificate(SSLSession session) {
    Certificate[] local = session == null ? null : session.getLocalCertificates();
    return local == null || local.length == 0 ? null : (X509Certificate) local[0];
  }

  private static String localSerial(SSLSession session) {
    X509Certificate local = localCertificate(session);
    return local == null ? "none" : local.getSerialNumber().toString(16);
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
