package io.migrategate.gate.waitapi;

import io.migrategate.certs.CertificateAuthority;
import io.migrategate.certs.IssuedCertificate;
import io.migrategate.gate.jobs.JobTracker;
import io.migrategate.gate.ledger.InMemorySuccessLedger;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.ext.web.Router;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The wait API on an HTTPS port of this JVM, with a {@link JobTracker} fed by the test, an
 * in-memory ledger and tokens the test defines; stoppable and restartable on the same port.
 */
public final class WaitApiServer implements AutoCloseable {
  public final InMemorySuccessLedger ledger = new InMemorySuccessLedger(true);
  public final JobTracker tracker = new JobTracker(ledger, Clock.systemUTC());
  public final Map<String, TokenReviewer.Result> tokens = new ConcurrentHashMap<>();

  /**
   * The API server's current Jobs for the confirming read, "namespace/name" → uid (none: no Job of
   * that name exists now).
   */
  public final Map<String, String> apiServerRuns = new ConcurrentHashMap<>();

  /** When set, the confirming read fails with it. */
  public volatile RuntimeException apiFailure;

  public final AtomicInteger confirmingReads = new AtomicInteger();

  /** Token reviews asked of this server's reviewer. */
  public final AtomicInteger reviews = new AtomicInteger();

  private final CertificateAuthority ca;
  private final IssuedCertificate leaf;
  private final Vertx vertx = Vertx.vertx();
  private final WorkerExecutor workers = vertx.createSharedWorkerExecutor("test-token-review", 4);
  private final WaitApi api;
  private final int port;
  private HttpServer server;

  public WaitApiServer(Duration heartbeat) throws Exception {
    this(heartbeat, WaitApi.StreamLimits.DEFAULTS);
  }

  public WaitApiServer(Duration heartbeat, WaitApi.StreamLimits limits) throws Exception {
    ca = CertificateAuthority.generate("wait-api-test-ca", Duration.ofDays(1));
    leaf = ca.issueServing(List.of("localhost"), List.of("127.0.0.1"), Duration.ofDays(1));
    api =
        new WaitApi(
            tracker,
            (namespace, name) -> {
              confirmingReads.incrementAndGet();
              RuntimeException failure = apiFailure;
              if (failure != null) {
                throw failure;
              }
              return Optional.ofNullable(apiServerRuns.get(namespace + "/" + name));
            },
            token -> {
              reviews.incrementAndGet();
              return tokens.getOrDefault(token, new TokenReviewer.Result.Rejected("unknown token"));
            },
            WaitApi.blockingOn(workers),
            heartbeat,
            limits,
            () -> System.currentTimeMillis() / 1000);
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    tracker.jobsSynced();
    start();
  }

  /** Lets {@code token} in as ServiceAccount {@code namespace/name}. */
  public void allow(String token, String namespace, String name) {
    tokens.put(
        token,
        TokenReviewer.Result.Authenticated.of(
            "system:serviceaccount:" + namespace + ":" + name, 0));
  }

  public void start() throws Exception {
    Router router = Router.router(vertx);
    api.register(router);
    server =
        vertx
            .createHttpServer(
                new HttpServerOptions()
                    .setPort(port)
                    .setHost("127.0.0.1")
                    .setSsl(true)
                    .setKeyCertOptions(
                        new PemKeyCertOptions()
                            .setCertValue(Buffer.buffer(leaf.certificatePem()))
                            .setKeyValue(Buffer.buffer(leaf.privateKeyPem()))))
            .requestHandler(router)
            .listen()
            .toCompletionStage()
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
  }

  /** Stops listening and ends open streams as a gate shutting down does. */
  public void stop() throws Exception {
    server
        .shutdown(1, TimeUnit.SECONDS)
        .toCompletionStage()
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }

  public String url() {
    return "https://127.0.0.1:" + port;
  }

  public String caPem() {
    return ca.certificatePem();
  }

  public WaitApi api() {
    return api;
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
