package io.migrategate.wait;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.migrategate.cluster.LocalCluster;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The direct-mode source against a scripted API server (TLS on loopback): the request sequence GET
 * → WATCH, and what it does with 410 Gone, server errors, DELETED events and a 403.
 */
class KubernetesJobSourceTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final String JOBS = "/apis/batch/v1/namespaces/shop/jobs";

  private static SSLContext serverTls;
  private static SSLContext clientTls;
  private static Path keystoreFile;

  private HttpsServer server;
  private ExecutorService handlers;
  private final BlockingQueue<Answer> answers = new LinkedBlockingQueue<>();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private final CountDownLatch stop = new CountDownLatch(1);
  private final BlockingQueue<JobEvent> events = new LinkedBlockingQueue<>();
  private KubernetesJobSource source;

  /** One scripted answer; {@code hold} keeps a watch open until the test ends. */
  private record Answer(int status, String body, boolean chunked, boolean hold) {}

  @BeforeAll
  static void certificates() throws Exception {
    keystoreFile = CdsTraining.generateKeystore("ip:127.0.0.1");
    KeyStore keystore = KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(keystoreFile)) {
      keystore.load(in, CdsTraining.KEYSTORE_PASSWORD.toCharArray());
    }
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", keystore.getCertificate("ca"));
    TrustManagerFactory trustManagers =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trustManagers.init(trust);
    clientTls = SSLContext.getInstance("TLS");
    clientTls.init(null, trustManagers.getTrustManagers(), null);

    keystore.deleteEntry("ca");
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(keystore, CdsTraining.KEYSTORE_PASSWORD.toCharArray());
    serverTls = SSLContext.getInstance("TLS");
    serverTls.init(keys.getKeyManagers(), null, null);
  }

  @AfterAll
  static void deleteKeystore() throws IOException {
    Files.deleteIfExists(keystoreFile);
  }

  @BeforeEach
  void startServer() throws IOException {
    server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(serverTls));
    handlers = Executors.newCachedThreadPool();
    server.setExecutor(handlers);
    server.createContext("/", this::answer);
    server.start();
    URI uri = URI.create("https://127.0.0.1:" + server.getAddress().getPort());
    source =
        new KubernetesJobSource(
            new KubeApi(
                new ApiAccess(uri, clientTls, () -> "token", "system:serviceaccount:shop:app")));
  }

  @AfterEach
  void stopServer() {
    source.close();
    stop.countDown();
    server.stop(0);
    handlers.shutdownNow();
  }

  @Test
  void closingCutsAWatchBlockedInARead() throws Exception {
    answers.add(ok(job("7", "\"active\":1")));
    answers.add(holdingWatch());
    source.follow("shop", "db-migrate", events::add);
    assertEquals("7", observed().resourceVersion());
    LocalCluster.await("the watch request", WAIT, () -> requests.size() >= 2);
    // The server holds the watch open without a byte: the follower blocks in a TLS read whose
    // timeout is minutes away. The waiter closes its sources right before it exits.
    assertTimeoutPreemptively(Duration.ofSeconds(5), source::close);
  }

  @Test
  void theServerMustBeNamedInItsCertificate() throws Exception {
    // The stub's certificate names IP 127.0.0.1 only; "localhost" reaches the same server.
    int port = server.getAddress().getPort();
    answers.add(ok(job("7", "\"active\":1")));
    KubeApi byAddress =
        new KubeApi(
            new ApiAccess(URI.create("https://127.0.0.1:" + port), clientTls, () -> "t", null));
    assertEquals(200, byAddress.get(JOBS + "/db-migrate").status());
    byAddress.close();

    KubeApi byOtherName =
        new KubeApi(
            new ApiAccess(URI.create("https://localhost:" + port), clientTls, () -> "t", null));
    IOException refused =
        assertThrows(IOException.class, () -> byOtherName.get(JOBS + "/db-migrate"));
    assertTrue(String.valueOf(refused.getMessage()).contains("localhost"), String.valueOf(refused));
    byOtherName.close();
    assertEquals(1, requests.size(), "nothing was sent to a server with the wrong name");
  }

  @Test
  void getsThenWatchesByNameFromTheResourceVersionAndRelistsOn410Gone() throws Exception {
    answers.add(ok(job("7", "\"active\":1")));
    answers.add(
        watch(
            "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}}"));
    answers.add(
        ok(
            job(
                "9",
                "\"succeeded\":1,\"conditions\":[{\"type\":\"Complete\",\"status\":\"True\"}]")));
    answers.add(holdingWatch());
    source.follow("shop", "db-migrate", events::add);

    assertEquals("7", observed().resourceVersion());
    assertEquals("9", observed().resourceVersion());
    LocalCluster.await("the second watch", WAIT, () -> requests.size() >= 4);
    assertEquals(JOBS + "/db-migrate", requests.get(0));
    assertTrue(
        requests
            .get(1)
            .startsWith(
                JOBS
                    + "?watch=true&allowWatchBookmarks=true&fieldSelector=metadata.name%3Ddb-migrate"),
        requests.get(1));
    assertTrue(requests.get(1).endsWith("&resourceVersion=7"), requests.get(1));
    assertEquals(JOBS + "/db-migrate", requests.get(2), "410 Gone: GET again");
    assertTrue(requests.get(3).endsWith("&resourceVersion=9"), requests.get(3));
  }

  @Test
  void watchEventsBecomeObservedAndDeletedBecomesMissing() throws Exception {
    answers.add(new Answer(404, status(404, "jobs.batch \"db-migrate\" not found"), false, false));
    answers.add(
        watch(
            "{\"type\":\"ADDED\",\"object\":" + job("3", "") + "}",
            "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Job\",\"metadata\":{\"resourceVersion\":\"4\"}}}",
            "{\"type\":\"DELETED\",\"object\":" + job("5", "") + "}"));
    answers.add(holdingWatch());
    source.follow("shop", "db-migrate", events::add);

    assertInstanceOf(JobEvent.Missing.class, next());
    assertEquals("3", observed().resourceVersion());
    assertInstanceOf(
        JobEvent.Missing.class, next(), "the bookmark says nothing; DELETED is missing");
    assertTrue(
        !requests.get(1).contains("resourceVersion="),
        "not found: watch from now, which starts with the current state: " + requests.get(1));
  }

  @Test
  void serverErrorsAreRetriedAndReportedOnce() throws Exception {
    answers.add(new Answer(500, status(500, "etcdserver: request timed out"), false, false));
    answers.add(new Answer(503, "not json at all", false, false));
    answers.add(ok(job("1", "")));
    answers.add(holdingWatch());
    source.follow("shop", "db-migrate", events::add);

    JobEvent.Notice lost = assertInstanceOf(JobEvent.Notice.class, next());
    assertEquals("connection_lost", lost.event());
    assertEquals(
        "the API server answered HTTP 500: etcdserver: request timed out; retrying",
        lost.message());
    JobEvent.Notice back = assertInstanceOf(JobEvent.Notice.class, next(), "one notice per outage");
    assertEquals("reconnected", back.event());
    assertEquals("1", observed().resourceVersion());
  }

  @Test
  void anUnreadableAnswerIsReportedAndFollowingGoesOn() throws Exception {
    answers.add(ok("{\"kind\":\"Job\", broken"));
    answers.add(ok(job("2", "")));
    answers.add(holdingWatch());
    source.follow("shop", "db-migrate", events::add);

    JobEvent.Notice lost = assertInstanceOf(JobEvent.Notice.class, next());
    assertTrue(
        lost.message().startsWith("unreadable answer from the API server ("), lost.message());
    assertInstanceOf(JobEvent.Notice.class, next());
    assertEquals("2", observed().resourceVersion());
  }

  @Test
  void forbiddenGetIsDeniedNamingThePermission() throws Exception {
    answers.add(
        new Answer(
            403,
            status(
                403,
                "jobs.batch \\\"db-migrate\\\" is forbidden: User \\\"system:serviceaccount:shop:app\\\" cannot get"
                    + " resource \\\"jobs\\\" in API group \\\"batch\\\" in the namespace \\\"shop\\\""),
            false,
            false));
    source.follow("shop", "db-migrate", events::add);

    JobEvent.Denied denied = assertInstanceOf(JobEvent.Denied.class, next());
    assertTrue(
        denied
            .message()
            .startsWith(
                "not permitted: ServiceAccount shop/app cannot get jobs.batch \"db-migrate\" in namespace shop;"),
        denied.message());
  }

  private JobEvent next() throws InterruptedException {
    JobEvent event = events.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertNotNull(event, "no event within " + WAIT + "; requests: " + requests);
    return event;
  }

  private io.migrategate.core.JobSnapshot observed() throws InterruptedException {
    return assertInstanceOf(JobEvent.Observed.class, next()).object();
  }

  private void answer(HttpExchange exchange) throws IOException {
    String query = exchange.getRequestURI().getRawQuery();
    requests.add(exchange.getRequestURI().getRawPath() + (query == null ? "" : "?" + query));
    Answer answer;
    try {
      answer = answers.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    if (answer == null) {
      answer = holdingWatch();
    }
    byte[] body = answer.body().getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(answer.status(), answer.chunked() ? 0 : body.length);
    OutputStream out = exchange.getResponseBody();
    out.write(body);
    out.flush();
    if (answer.hold()) {
      try {
        stop.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    out.close();
  }

  private static Answer ok(String body) {
    return new Answer(200, body, false, false);
  }

  private static Answer watch(String... lines) {
    return new Answer(200, String.join("\n", lines) + "\n", true, false);
  }

  private static Answer holdingWatch() {
    return new Answer(200, "", true, true);
  }

  private static String job(String resourceVersion, String status) {
    return "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"db-migrate\","
        + "\"namespace\":\"shop\",\"uid\":\"u1\",\"resourceVersion\":\""
        + resourceVersion
        + "\"},\"spec\":{\"template\":{\"spec\":{\"containers\":[]}}},\"status\":{"
        + status
        + "}}";
  }

  private static String status(int code, String message) {
    return "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\""
        + message
        + "\",\"code\":"
        + code
        + "}";
  }
}
