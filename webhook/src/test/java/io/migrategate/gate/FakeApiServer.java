package io.migrategate.gate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Just enough of a Kubernetes API for a gate under load (plain HTTP on 127.0.0.1): TokenReviews
 * that take {@code reviewDelay} like a real API server's and accept exactly one token, empty lists
 * and silent watches for the gate's informers. It counts the TokenReviews it gets and the most it
 * had in flight at once: what the gate's bounds promise the API server.
 */
final class FakeApiServer implements AutoCloseable {
  static final String LEGIT_TOKEN_NAMESPACE = "shop";

  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpServer server;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final Duration reviewDelay;
  private final String legitToken;
  private final CountDownLatch closed = new CountDownLatch(1);
  final LongAdder tokenReviews = new LongAdder();
  final AtomicInteger reviewsInFlight = new AtomicInteger();
  final AtomicInteger maxReviewsInFlight = new AtomicInteger();

  FakeApiServer(Duration reviewDelay, String legitToken) throws IOException {
    this.reviewDelay = reviewDelay;
    this.legitToken = legitToken;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 512);
    server.setExecutor(threads);
    server.createContext("/", this::handle);
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** A kubeconfig for the gate, pointing here. */
  Path kubeconfig(Path dir) {
    try {
      return Files.writeString(
          dir.resolve("fake-api.kubeconfig"),
          String.join(
              "\n",
              "apiVersion: v1",
              "kind: Config",
              "clusters:",
              "- name: fake",
              "  cluster:",
              "    server: " + url(),
              "users:",
              "- name: gate",
              "  user:",
              "    token: gate-token",
              "contexts:",
              "- name: fake",
              "  context:",
              "    cluster: fake",
              "    user: gate",
              "current-context: fake",
              ""));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      String query = exchange.getRequestURI().getRawQuery();
      if (path.equals("/version")) {
        send(exchange, 200, "{\"major\":\"1\",\"minor\":\"35\",\"gitVersion\":\"v1.35.4-fake\"}");
      } else if (path.endsWith("/tokenreviews") && exchange.getRequestMethod().equals("POST")) {
        tokenReview(exchange);
      } else if (exchange.getRequestMethod().equals("GET")
          && query != null
          && query.contains("watch=true")) {
        // A watch that never sends anything: the informer stays connected and quiet.
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, 0);
        exchange.getResponseBody().flush();
        closed.await(10, TimeUnit.MINUTES);
      } else if (exchange.getRequestMethod().equals("GET")) {
        send(
            exchange,
            200,
            "{\"kind\":\"List\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"1\"},"
                + "\"items\":[]}");
      } else {
        send(exchange, 404, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"code\":404}");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void tokenReview(HttpExchange exchange) throws IOException, InterruptedException {
    int now = reviewsInFlight.incrementAndGet();
    maxReviewsInFlight.accumulateAndGet(now, Math::max);
    tokenReviews.increment();
    try {
      JsonNode review = JSON.readTree(exchange.getRequestBody());
      String token = review.path("spec").path("token").asText();
      Thread.sleep(reviewDelay.toMillis());
      String status =
          token.equals(legitToken)
              ? "{\"authenticated\":true,\"audiences\":[\"migrate-gate\"],\"user\":{"
                  + "\"username\":\"system:serviceaccount:"
                  + LEGIT_TOKEN_NAMESPACE
                  + ":app\",\"extra\":{\"authentication.kubernetes.io/pod-name\":[\"web-1\"],"
                  + "\"authentication.kubernetes.io/pod-uid\":[\"8d1c9c1e-5a4f-4f53-9b1a-1e2f3a4b5c6d\"]}}}"
              : "{\"authenticated\":false,\"error\":\"invalid bearer token\"}";
      send(
          exchange,
          201,
          "{\"kind\":\"TokenReview\",\"apiVersion\":\"authentication.k8s.io/v1\",\"status\":"
              + status
              + "}");
    } finally {
      reviewsInFlight.decrementAndGet();
    }
  }

  private static void send(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    closed.countDown();
    server.stop(0);
    threads.shutdownNow();
  }
}
