package io.migrategate.gate;

import io.migrategate.admission.AdmissionReviewer;
import io.migrategate.admission.InjectionConfig;
import io.migrategate.jobs.KubernetesJobTracking;
import io.migrategate.tls.SelfManagedTls;
import io.migrategate.tls.SelfManagedTlsConfig;
import io.migrategate.tls.ServingNames;
import io.migrategate.waitapi.WaitApi;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The running gate: the HTTPS admission server on several event loops, the plain-HTTP probe server,
 * certificate reloading and the Kubernetes API check, started and drained together.
 */
public final class Gate {
  /** Reviews may wait on the API (owner lookup); this many can wait at once. */
  static final int REVIEW_WORKERS = 32;

  /** TokenReviews of the wait API may wait on the API this many at once. */
  static final int TOKEN_REVIEW_WORKERS = 8;

  static final Duration TLS_DEBOUNCE = Duration.ofMillis(200);
  static final Duration TLS_POLL_INTERVAL = Duration.ofSeconds(10);
  static final Duration API_CHECK_INTERVAL = Duration.ofSeconds(10);

  /** The API server keeps webhook connections open; idle ones are closed after this. */
  static final int IDLE_TIMEOUT_SECONDS = 120;

  /** The gate could not start; the message says what to fix. */
  public static final class StartException extends Exception {
    StartException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final GateConfig config;
  private final GateLog log;
  private final Vertx vertx;
  private final GateMetrics metrics;
  private final CertificateSource certificates;
  private final KubernetesAccess kubernetes;
  private final GateHealth health;
  private final EventLoopHeartbeats heartbeats;
  private final WorkerExecutor workers;
  private final WorkerExecutor tokenReviewWorkers;
  private final List<HttpServer> admissionServers = new CopyOnWriteArrayList<>();
  private HttpServer probeServer;
  private boolean stopped;

  private Gate(GateConfig config, GateLog log) {
    this.config = config;
    this.log = log;
    this.vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(false));
    this.metrics = new GateMetrics();
    this.kubernetes = new KubernetesAccess(config.kubeconfig(), log);
    this.certificates =
        config.tlsMode() == GateConfig.TlsMode.SELF_MANAGED
            ? new SelfManagedCertificates(
                vertx,
                SelfManagedTls.start(kubernetes.client(), selfManagedTls(config), log),
                metrics)
            : new CertificateReloader(
                vertx,
                config.tlsCertFile(),
                config.tlsKeyFile(),
                metrics,
                log,
                TLS_DEBOUNCE,
                TLS_POLL_INTERVAL);
    metrics.addSection(certificates::metrics);
    this.heartbeats = new EventLoopHeartbeats();
    this.health =
        new GateHealth(
            certificates, kubernetes, heartbeats, config.ownerLookupFailurePolicy().flagValue());
    this.workers =
        vertx.createSharedWorkerExecutor(
            "migrate-gate-review", REVIEW_WORKERS, 10, TimeUnit.SECONDS);
    // Apart from admission: a burst of waiters with new tokens must not delay reviews.
    this.tokenReviewWorkers =
        vertx.createSharedWorkerExecutor(
            "migrate-gate-token-review", TOKEN_REVIEW_WORKERS, 10, TimeUnit.SECONDS);
    metrics.ready(health::ready);
    metrics.apiReachable(kubernetes::reachable);
    metrics.ownerLookups(
        () -> {
          var lookup = kubernetes.startedOwnerLookup();
          return lookup == null ? null : lookup.stats();
        },
        () -> {
          var lookup = kubernetes.startedOwnerLookup();
          return lookup != null && lookup.hasSynced();
        });
  }

  /** Starts everything and returns once both ports listen; never waits for the Kubernetes API. */
  public static Gate start(GateConfig config, ReviewerFactory reviewers, GateLog log)
      throws StartException {
    // Library messages (fabric8, the wait API, the ledger) in the gate's own log and format.
    GateLog.useForLibraries(log);
    Gate gate = new Gate(config, log);
    try {
      gate.startServing(reviewers);
      return gate;
    } catch (StartException e) {
      gate.closeQuietly();
      throw e;
    } catch (RuntimeException e) {
      gate.closeQuietly();
      throw new StartException("the gate failed to start: " + e, e);
    }
  }

  private void startServing(ReviewerFactory reviewers) throws StartException {
    ServingCertificate certificate = certificates.loadInitial();
    AdmissionReviewer reviewer = reviewers.create(config, kubernetes, certificates::clientTrustPem);
    if (kubernetes.startedOwnerLookup() != null && !config.auditInterval().isZero()) {
      // Only a reviewer that reads workloads can miss pods of annotated workloads.
      metrics.addSection(
          kubernetes.ungatedPodAuditor(
                  config.auditInterval(),
                  InjectionConfig.exclusion(config.namespace(), config.excludedNamespaces()))
              ::renderMetrics);
    }
    AdmissionEndpoint endpoint = new AdmissionEndpoint(reviewer, metrics, log);
    KubernetesJobTracking jobs = kubernetes.jobTracking(config.namespace(), config.ledgerPolicy());
    WaitApi waitApi =
        new WaitApi(
            jobs.tracker(),
            jobs::currentRun,
            kubernetes.tokenReviewer(),
            tokenReviewWorkers,
            WaitApi.DEFAULT_HEARTBEAT);
    metrics.addSection(waitApi::renderMetrics);

    int loops = Math.max(1, Runtime.getRuntime().availableProcessors());
    HttpServerOptions options =
        certificate.applyTo(
            new HttpServerOptions()
                // Port 0 would give each instance its own random port; Vert.x shares one random
                // port among servers asking for the same negative port.
                .setPort(config.port() == 0 ? -1 : config.port())
                .setIdleTimeout(IDLE_TIMEOUT_SECONDS)
                .setIdleTimeoutUnit(TimeUnit.SECONDS));
    // One deployment of several instances: they share one listening socket (also for port 0),
    // and Vert.x spreads the connections over their event loops.
    await(
        vertx.deployVerticle(
            () ->
                new AdmissionVerticle(
                    options,
                    endpoint,
                    workers,
                    metrics,
                    heartbeats,
                    admissionServers::add,
                    waitApi::register),
            new DeploymentOptions().setInstances(loops)),
        "listen for HTTPS on port " + config.port() + " (--port)");
    long ports = admissionServers.stream().mapToInt(HttpServer::actualPort).distinct().count();
    if (ports != 1) {
      throw new StartException(
          "the admission servers listen on " + ports + " ports, not one", null);
    }
    health.listening();

    Router probes = Router.router(vertx);
    probes.get("/livez").handler(ctx -> text(ctx, health.live(), health.livezBody()));
    probes.get("/readyz").handler(ctx -> text(ctx, health.ready(), health.readyzBody()));
    probes
        .get("/metrics")
        .handler(
            ctx ->
                ctx.response()
                    .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
                    .end(metrics.render()));
    probeServer =
        await(
            vertx
                .createHttpServer(new HttpServerOptions().setPort(config.probePort()))
                .requestHandler(probes)
                .listen(),
            "listen for probes on port " + config.probePort() + " (--probe-port)");

    certificates.start(
        next ->
            admissionServers
                .get(0)
                // Instances on one port share one server: updating one updates all.
                .updateSSLOptions(next.serverSslOptions(), true)
                .compose(
                    updated ->
                        updated
                            ? Future.succeededFuture()
                            : Future.failedFuture("the server kept its previous options")));
    kubernetes.startChecks(API_CHECK_INTERVAL);
    log.info(
        "started",
        "port",
        port(),
        "probe_port",
        probePort(),
        "event_loops",
        loops,
        "review_workers",
        REVIEW_WORKERS,
        "tls_serial",
        certificate.serialHex(),
        "tls_not_after",
        certificate.notAfter(),
        "namespace",
        config.namespace(),
        "owner_lookup_failure_policy",
        config.ownerLookupFailurePolicy().flagValue());
    log.info("ready");
  }

  private static SelfManagedTlsConfig selfManagedTls(GateConfig config) {
    GateConfig.SelfManagedTlsSettings tls = config.selfManagedTls();
    return SelfManagedTlsConfig.defaults(
            config.namespace(),
            ServingNames.forService(tls.service(), config.namespace()),
            tls.ipAddresses())
        .withCaSecretName(tls.caSecret())
        .withWebhookConfigurationName(tls.webhookConfiguration());
  }

  private static void text(RoutingContext ctx, boolean ok, String body) {
    ctx.response()
        .setStatusCode(ok ? 200 : 503)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
        .end(body);
  }

  private static <T> T await(Future<T> future, String what) throws StartException {
    try {
      return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartException("interrupted while trying to " + what, e);
    } catch (Exception e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new StartException("cannot " + what + ": " + cause, cause);
    }
  }

  public int port() {
    return admissionServers.isEmpty() ? -1 : admissionServers.get(0).actualPort();
  }

  public int probePort() {
    return probeServer == null ? -1 : probeServer.actualPort();
  }

  public GateMetrics metrics() {
    return metrics;
  }

  public boolean ready() {
    return health.ready();
  }

  /**
   * The SIGTERM sequence: report not ready, keep serving for the drain delay (endpoints stop
   * routing here), then stop accepting connections, let reviews in flight finish within the
   * shutdown timeout, and close. Returns when done; later calls return at once.
   */
  public synchronized void drainAndStop() {
    if (stopped) {
      return;
    }
    stopped = true;
    health.draining();
    log.info(
        "draining",
        "ready",
        false,
        "drain_delay",
        config.drainDelay(),
        "inflight",
        metrics.inflightReviews());
    try {
      Thread.sleep(config.drainDelay().toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    long timeoutMillis = config.shutdownTimeout().toMillis();
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    log.info(
        "closing admission server",
        "inflight",
        metrics.inflightReviews(),
        "shutdown_timeout",
        config.shutdownTimeout());
    List<Future<Void>> shutdowns = new ArrayList<>();
    for (HttpServer server : admissionServers) {
      shutdowns.add(server.shutdown(timeoutMillis, TimeUnit.MILLISECONDS));
    }
    try {
      Future.join(shutdowns)
          .toCompletionStage()
          .toCompletableFuture()
          .get(timeoutMillis + 2000, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      log.warn("admission server did not close in time", "error", e.toString());
    }
    while (metrics.inflightReviews() > 0 && System.nanoTime() < deadline) {
      // Responses are written by event loops right after shutdown completes; give them a moment.
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    long abandoned = metrics.inflightReviews();
    closeQuietly();
    log.info("stopped", "abandoned_reviews", abandoned);
  }

  private void closeQuietly() {
    certificates.close();
    kubernetes.close();
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      log.warn("vert.x did not close cleanly", "error", e.toString());
    }
  }
}
