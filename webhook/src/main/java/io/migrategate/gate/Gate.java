package io.migrategate.gate;

import io.migrategate.certs.ServingNames;
import io.migrategate.gate.admission.AdmissionReviewer;
import io.migrategate.gate.admission.ConfirmedJobStatus;
import io.migrategate.gate.admission.InjectionConfig;
import io.migrategate.gate.admission.JobStatusView;
import io.migrategate.gate.admission.LookupResult;
import io.migrategate.gate.admission.OwnerLookup;
import io.migrategate.gate.admission.OwnerRef;
import io.migrategate.gate.admission.PodAdmissionReviewer;
import io.migrategate.gate.admission.TrustFollowingReviewer;
import io.migrategate.gate.admission.WaitEndpoint;
import io.migrategate.gate.jobs.KubernetesJobTracking;
import io.migrategate.gate.kube.ApiRequests;
import io.migrategate.gate.kube.KubernetesAccess;
import io.migrategate.gate.observability.GateHealth;
import io.migrategate.gate.observability.GateLog;
import io.migrategate.gate.observability.GateMetrics;
import io.migrategate.gate.server.AdmissionEndpoint;
import io.migrategate.gate.server.AdmissionVerticle;
import io.migrategate.gate.server.BoundedWorkers;
import io.migrategate.gate.server.ConnectionLimiter;
import io.migrategate.gate.server.EventLoopHeartbeats;
import io.migrategate.gate.server.TlsPolicy;
import io.migrategate.gate.server.WaitVerticle;
import io.migrategate.gate.tls.CertificateReloader;
import io.migrategate.gate.tls.CertificateSource;
import io.migrategate.gate.tls.SelfManagedCertificates;
import io.migrategate.gate.tls.SelfManagedTls;
import io.migrategate.gate.tls.SelfManagedTlsConfig;
import io.migrategate.gate.tls.ServingCertificate;
import io.migrategate.gate.waitapi.CachingTokenReviewer;
import io.migrategate.gate.waitapi.TokenReviewer;
import io.migrategate.gate.waitapi.WaitApi;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The running gate: the HTTPS admission server ({@code --port}) and the wait API's HTTPS server
 * ({@code --wait-port}), each on event loops of its own, the plain-HTTP probe server, certificate
 * reloading and the Kubernetes API check, started and drained together. Every resource a client can
 * make the gate spend is bounded (docs/configuration.md, "Bounds"): connections per port and per
 * client address, queued blocking work, concurrent TokenReviews, remembered tokens and streams per
 * ServiceAccount.
 *
 * <p>The one place that builds the gate at start-up: servers, TLS, Kubernetes access, the wait API
 * and (with {@link #defaultReviewer}) the production reviewer; {@link GateMain} only handles the
 * process (flags, exit codes, signals).
 */
public final class Gate {
  /** Reviews may wait on the API (owner lookup); this many can wait at once. */
  static final int REVIEW_WORKERS = 32;

  /** Reviews waiting for a worker beyond {@link #REVIEW_WORKERS}; one more is answered 503. */
  static final int REVIEW_QUEUE = 64;

  /** The wait API's confirming reads of Jobs run on this many threads. */
  static final int CONFIRM_WORKERS = 4;

  /** Confirming reads waiting for a worker; one more is retried by its stream later. */
  static final int CONFIRM_QUEUE = 256;

  static final Duration TLS_DEBOUNCE = Duration.ofMillis(200);
  static final Duration TLS_POLL_INTERVAL = Duration.ofSeconds(10);
  static final Duration API_CHECK_INTERVAL = Duration.ofSeconds(10);

  /** The API server keeps webhook connections open; idle ones are closed after this. */
  static final int IDLE_TIMEOUT_SECONDS = 120;

  /** A wait stream writes a heartbeat every 15 s: a connection silent this long is not a waiter. */
  static final int WAIT_IDLE_TIMEOUT_SECONDS = 60;

  /** The gate could not start; the message says what to fix. */
  public static final class StartException extends Exception {
    public StartException(String message, Throwable cause) {
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
  private final BoundedWorkers workers;
  private final BoundedWorkers confirmWorkers;
  private final ConnectionLimiter admissionConnections;
  private final ConnectionLimiter waitConnections;
  private final List<HttpServer> admissionServers = new CopyOnWriteArrayList<>();
  private final List<HttpServer> waitServers = new CopyOnWriteArrayList<>();
  private final Set<String> admissionLoops = ConcurrentHashMap.newKeySet();
  private final Set<String> waitLoops = ConcurrentHashMap.newKeySet();
  private HttpServer probeServer;
  private boolean stopped;

  private Gate(GateConfig config, GateLog log) {
    this.config = config;
    this.log = log;
    // Two event loops per core: the admission verticles take the first half and the wait API's the
    // second (Vert.x hands out loops round robin in deployment order), so a flood on the wait port
    // never queues behind admission's loops, nor the reverse.
    this.vertx =
        Vertx.vertx(
            new VertxOptions()
                .setPreferNativeTransport(false)
                .setEventLoopPoolSize(2 * eventLoops()));
    this.metrics = new GateMetrics();
    this.kubernetes = new KubernetesAccess(config.kubeconfig(), log);
    this.certificates =
        config.tlsMode() == GateConfig.TlsMode.SELF_MANAGED
            ? new SelfManagedCertificates(
                vertx,
                SelfManagedTls.start(kubernetes.watching(), selfManagedTls(config), log),
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
    metrics.addSection(ApiRequests.PROCESS::render);
    this.heartbeats = new EventLoopHeartbeats();
    this.health =
        new GateHealth(
            certificates, kubernetes, heartbeats, config.ownerLookupFailurePolicy().flagValue());
    this.workers = new BoundedWorkers(vertx, "review", REVIEW_WORKERS, REVIEW_QUEUE);
    // Apart from admission: a burst of waiters must not delay reviews. (TokenReviews have their own
    // bounded threads, in the token reviewer.)
    this.confirmWorkers = new BoundedWorkers(vertx, "confirm", CONFIRM_WORKERS, CONFIRM_QUEUE);
    GateConfig.Limits limits = config.limits();
    this.admissionConnections =
        new ConnectionLimiter(
            "admission", limits.maxConnections(), limits.maxConnectionsPerClient());
    this.waitConnections =
        new ConnectionLimiter("wait", limits.maxConnections(), limits.maxConnectionsPerClient());
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

  /** Event loops per HTTPS port: one per core. */
  static int eventLoops() {
    return Math.max(1, Runtime.getRuntime().availableProcessors());
  }

  private void startServing(ReviewerFactory reviewers) throws StartException {
    ServingCertificate certificate = certificates.loadInitial();
    TlsPolicy admissionTls = admissionTls(config);
    TlsPolicy waitTls = TlsPolicy.serverOnly();
    AdmissionReviewer reviewer = reviewers.create(config, kubernetes, certificates::clientTrustPem);
    if (kubernetes.startedOwnerLookup() != null && !config.auditInterval().isZero()) {
      // Only a reviewer that reads workloads can miss pods of annotated workloads.
      metrics.addSection(
          kubernetes.ungatedPodAuditor(
                  config.auditInterval(),
                  InjectionConfig.exclusion(config.namespace(), config.excludedNamespaces()),
                  config.waiterImage(),
                  Optional.ofNullable(config.waitUrl()))
              ::renderMetrics);
    }
    AdmissionEndpoint endpoint = new AdmissionEndpoint(reviewer, metrics, log);
    KubernetesJobTracking jobs =
        kubernetes.jobTracking(config.namespace(), config.ledgerKeySecret(), config.ledgerPolicy());
    GateConfig.Limits limits = config.limits();
    WaitApi waitApi =
        new WaitApi(
            jobs.tracker(),
            jobs::currentRun,
            kubernetes.tokenReviewer(
                CachingTokenReviewer.Settings.defaults(TokenReviewer.DEFAULT_AUDIENCE)
                    .withLimits(limits.tokenCacheSize(), limits.maxTokenReviews())),
            confirmWorkers::submit,
            WaitApi.DEFAULT_HEARTBEAT,
            new WaitApi.StreamLimits(limits.maxStreamsPerServiceAccount(), limits.reauthInterval()),
            () -> System.currentTimeMillis() / 1000);
    metrics.addSection(waitApi::renderMetrics);
    metrics.addSection(jobs.ledger()::renderMetrics);
    metrics.addSection(() -> ConnectionLimiter.render(admissionConnections, waitConnections));
    metrics.addSection(() -> BoundedWorkers.render(workers, confirmWorkers));

    int loops = eventLoops();
    HttpServerOptions admissionOptions =
        admissionTls.applyTo(
            new HttpServerOptions()
                // Port 0 would give each instance its own random port; Vert.x shares one random
                // port among servers asking for the same negative port.
                .setPort(config.port() == 0 ? -1 : config.port())
                .setIdleTimeout(IDLE_TIMEOUT_SECONDS)
                .setIdleTimeoutUnit(TimeUnit.SECONDS),
            certificate);
    // One deployment of several instances: they share one listening socket (also for port 0),
    // and Vert.x spreads the connections over their event loops.
    await(
        vertx.deployVerticle(
            () ->
                new AdmissionVerticle(
                    admissionOptions,
                    endpoint,
                    workers,
                    metrics,
                    heartbeats,
                    admissionConnections,
                    server -> {
                      admissionServers.add(server);
                      admissionLoops.add(Thread.currentThread().getName());
                    }),
            new DeploymentOptions().setInstances(loops)),
        "listen for HTTPS on port " + config.port() + " (--port)");
    HttpServerOptions waitOptions =
        waitTls.applyTo(
            new HttpServerOptions()
                // Another negative port than admission's: another random port.
                .setPort(config.waitPort() == 0 ? -2 : config.waitPort())
                .setIdleTimeout(WAIT_IDLE_TIMEOUT_SECONDS)
                .setIdleTimeoutUnit(TimeUnit.SECONDS),
            certificate);
    await(
        vertx.deployVerticle(
            () ->
                new WaitVerticle(
                    waitOptions,
                    waitApi,
                    heartbeats,
                    waitConnections,
                    server -> {
                      waitServers.add(server);
                      waitLoops.add(Thread.currentThread().getName());
                    }),
            new DeploymentOptions().setInstances(loops)),
        "listen for HTTPS on port " + config.waitPort() + " (--wait-port)");
    for (List<HttpServer> servers : List.of(admissionServers, waitServers)) {
      long ports = servers.stream().mapToInt(HttpServer::actualPort).distinct().count();
      if (ports != 1) {
        throw new StartException("the HTTPS servers listen on " + ports + " ports, not one", null);
      }
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
            // Instances on one port share one server: updating one updates all.
            Future.all(
                    admissionServers.get(0).updateSSLOptions(admissionTls.sslOptions(next), true),
                    waitServers.get(0).updateSSLOptions(waitTls.sslOptions(next), true))
                .compose(
                    updated ->
                        Boolean.TRUE.equals(updated.resultAt(0))
                                && Boolean.TRUE.equals(updated.resultAt(1))
                            ? Future.succeededFuture()
                            : Future.failedFuture("a server kept its previous options")));
    kubernetes.startChecks(API_CHECK_INTERVAL);
    log.info(
        "started",
        "port",
        port(),
        "wait_port",
        waitPort(),
        "probe_port",
        probePort(),
        "event_loops",
        loops,
        "review_workers",
        REVIEW_WORKERS,
        "admission_client_auth",
        admissionTls.requiresClientCertificate(),
        "admission_fast_path",
        config.fastPathOn(),
        "max_connections",
        limits.maxConnections(),
        "max_connections_per_client",
        limits.maxConnectionsPerClient(),
        "tls_serial",
        certificate.serialHex(),
        "tls_not_after",
        certificate.notAfter(),
        "namespace",
        config.namespace(),
        "owner_lookup_failure_policy",
        config.ownerLookupFailurePolicy().flagValue());
    warnIfWaitUrlMissesWaitPort();
    log.info("ready");
  }

  /** The admission port's TLS: mutual when {@code --admission-client-ca} is set. */
  private static TlsPolicy admissionTls(GateConfig config) throws StartException {
    if (config.admissionClientCa() == null) {
      return TlsPolicy.serverOnly();
    }
    try {
      return TlsPolicy.requiringClientCertificate(Files.readString(config.admissionClientCa()));
    } catch (IOException e) {
      throw new StartException(
          "cannot read --admission-client-ca " + config.admissionClientCa() + ": " + e, e);
    }
  }

  /**
   * Waiters reach the wait API through {@code --wait-url}; one that names no port (443) or the
   * admission port most likely predates the wait port (the Service must map it to --wait-port).
   */
  private void warnIfWaitUrlMissesWaitPort() {
    if (config.waitUrl() == null) {
      return;
    }
    int urlPort = URI.create(config.waitUrl()).getPort();
    if (urlPort == -1 || urlPort == config.port()) {
      log.warn(
          "the wait url names "
              + (urlPort == -1 ? "no port (443)" : "the admission port")
              + "; the wait API is served on --wait-port only",
          "wait_url",
          config.waitUrl(),
          "wait_port",
          waitPort());
    }
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

  /** The event loop threads of each HTTPS port ("admission", "wait"): disjoint sets. */
  Map<String, Set<String>> eventLoopThreads() {
    return Map.of("admission", Set.copyOf(admissionLoops), "wait", Set.copyOf(waitLoops));
  }

  /** The wait API's port. */
  public int waitPort() {
    return waitServers.isEmpty() ? -1 : waitServers.get(0).actualPort();
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
    // Wait streams get their "stopping" notice and end; waiters reconnect to another replica.
    for (HttpServer server : admissionServers) {
      shutdowns.add(server.shutdown(timeoutMillis, TimeUnit.MILLISECONDS));
    }
    for (HttpServer server : waitServers) {
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
    workers.close();
    confirmWorkers.close();
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

  // ---- the production reviewer ------------------------------------------------------------------

  /**
   * The production reviewer: pod injection with informer-backed owner lookups. Without {@code
   * --admission-client-ca} (and without {@code --admission-fast-path=on}) every gated pod gets its
   * waiter: the fast path's answer would tell any caller of the admission port whether another
   * namespace's Jobs succeeded.
   */
  static AdmissionReviewer defaultReviewer(
      GateConfig config, KubernetesAccess kubernetes, Supplier<Optional<String>> gateTrust) {
    // Started here, not by the first review: the caches fill while the gate starts, and the
    // un-gated pod audit (started with the server when a reviewer reads workloads) sees it. The
    // trust-following reviewer below builds its pod reviewer only once the CA is known.
    kubernetes.ownerLookup(config.ownerLookupTimeout());
    if (config.waitUrl() != null && config.waitCaFile() == null) {
      // Self-managed TLS: waiters must trust the CAs of the gate's own CA Secret, which rotate.
      return new TrustFollowingReviewer(
          gateTrust,
          caPem ->
              podReviewer(
                  config, kubernetes, caPem.map(pem -> new WaitEndpoint(config.waitUrl(), pem))));
    }
    return podReviewer(config, kubernetes, waitEndpoint(config));
  }

  private static AdmissionReviewer podReviewer(
      GateConfig config, KubernetesAccess kubernetes, Optional<WaitEndpoint> waitEndpoint) {
    InjectionConfig injection =
        new InjectionConfig(
            config.waiterImage(),
            config.waiterResources(),
            config.ownerLookupFailurePolicy(),
            config.namespace(),
            Set.copyOf(config.excludedNamespaces()),
            config.waiterRunAsUser(),
            waitEndpoint);
    KubernetesJobTracking jobs =
        kubernetes.jobTracking(config.namespace(), config.ledgerKeySecret(), config.ledgerPolicy());
    return new PodAdmissionReviewer(
        injection,
        ownerReferencesWithUid(kubernetes.ownerLookup(config.ownerLookupTimeout())),
        config.fastPathOn()
            ? new ConfirmedJobStatus(jobs.tracker(), jobs::currentRun)
            : JobStatusView.NONE);
  }

  /**
   * Owner lookups for owner references that name their owner's uid, as every pod the API server
   * stores does (it refuses an ownerReference without one); a reference without a uid is answered
   * "not found" without any lookup. The uid is what keeps an unauthenticated caller of the
   * admission port from reading another namespace's workload annotations with a forged review: the
   * gate answers about a workload only when the review names its uid, which that caller cannot
   * read. A wrong uid is "not found" too (the lookup compares uids), the same answer as for a
   * workload that does not exist.
   */
  static OwnerLookup ownerReferencesWithUid(OwnerLookup owners) {
    return new OwnerLookup() {
      @Override
      public LookupResult lookup(String namespace, OwnerRef owner) {
        return owner.uid().isEmpty()
            ? new LookupResult.NotFound()
            : owners.lookup(namespace, owner);
      }

      @Override
      public LookupResult lookupFresh(String namespace, OwnerRef owner) {
        return owner.uid().isEmpty()
            ? new LookupResult.NotFound()
            : owners.lookupFresh(namespace, owner);
      }
    };
  }

  /** Gate mode for injected waiters when configured with a CA file (GateConfig checked it). */
  private static Optional<WaitEndpoint> waitEndpoint(GateConfig config) {
    if (config.waitUrl() == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(new WaitEndpoint(config.waitUrl(), Files.readString(config.waitCaFile())));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read --wait-ca-file " + config.waitCaFile(), e);
    }
  }
}
