package io.migrategate.gate.server;

import io.migrategate.core.WaitLine;
import io.migrategate.gate.admission.AdmissionReviewer;
import io.migrategate.gate.admission.WouldBlockException;
import io.migrategate.gate.observability.GateMetrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.function.Consumer;

/**
 * One event loop's share of the HTTPS admission server ({@code --port}, {@code POST /mutate} and
 * {@code /mutate/enforced} only; the wait API has a port of its own, {@link WaitVerticle}). Several
 * instances listen on the same port (Vert.x balances connections across them). A review is decided
 * on the event loop when it needs nothing but CPU and the informer caches (nearly always); one that
 * must ask the API server, or a very large body, goes to the bounded worker pool, and is answered
 * 503 at once when that pool and its queue are full (the API server then applies the webhook's
 * failurePolicy).
 */
public final class AdmissionVerticle extends VerticleBase {
  /** Larger bodies are parsed on a worker: a 3 MiB review takes milliseconds to parse. */
  static final int INLINE_BODY_BYTES = 256 * 1024;

  /** The answer to a review the worker pool had no room for: the API server's failurePolicy. */
  static final String BUSY_STATUS =
      "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
          + "\"reason\":\"ServiceUnavailable\",\"code\":503,\"message\":\"migrate-gate is"
          + " busy: its review workers and their queue are full; retry\"}";

  /** Where a waiter configured with the admission port's URL learns what to fix. */
  static final String WAIT_API_MOVED =
      WaitLine.encode(
              new WaitLine.Error(
                  404,
                  "not_found",
                  "the wait API is served on the gate's wait port (--wait-port, 8444 by default),"
                      + " not on the admission port: point MIGRATE_GATE_WAIT_URL at it"))
          + "\n";

  private final HttpServerOptions options;
  private final AdmissionEndpoint endpoint;
  private final BoundedWorkers workers;
  private final GateMetrics metrics;
  private final EventLoopHeartbeats heartbeats;
  private final ConnectionLimiter connections;
  private final Consumer<HttpServer> onListening;

  public AdmissionVerticle(
      HttpServerOptions options,
      AdmissionEndpoint endpoint,
      BoundedWorkers workers,
      GateMetrics metrics,
      EventLoopHeartbeats heartbeats,
      ConnectionLimiter connections,
      Consumer<HttpServer> onListening) {
    this.options = options;
    this.endpoint = endpoint;
    this.workers = workers;
    this.metrics = metrics;
    this.heartbeats = heartbeats;
    this.connections = connections;
    this.onListening = onListening;
  }

  @Override
  public Future<?> start() {
    Router router = PortServer.router(vertx, connections);
    // The enforced namespaces' webhook entry calls a path of its own: the body cannot say which
    // entry sent it, and only that one denies opting out.
    for (AdmissionReviewer.Entry entry : AdmissionReviewer.Entry.values()) {
      String path =
          entry == AdmissionReviewer.Entry.ENFORCED
              ? AdmissionReviewer.ENFORCED_PATH
              : AdmissionReviewer.PATH;
      router.route(path).handler(this::track);
      // Its own route: vertx-web wants the body handler first among a route's handlers.
      router.post(path).handler(this::requireJson);
      router
          .post(path)
          .handler(
              BodyHandler.create(false)
                  .setBodyLimit(AdmissionEndpoint.MAX_BODY_BYTES)
                  .setMergeFormAttributes(false))
          .handler(ctx -> mutate(ctx, entry));
    }
    router.errorHandler(413, ctx -> send(ctx, endpoint.bodyTooLarge()));
    // Never reached by design (decide() never throws); a JSON answer all the same if it is.
    router.errorHandler(500, ctx -> send(ctx, endpoint.serverError(ctx.failure())));
    PortServer.otherPort(router, "/wait/*", WAIT_API_MOVED, false);
    return PortServer.listen(vertx, options, router, heartbeats, connections, onListening);
  }

  /** Counts the request as in flight until its response is sent or its connection drops. */
  private void track(RoutingContext ctx) {
    long started = System.nanoTime();
    metrics.reviewStarted();
    ctx.addEndHandler(
        ended -> {
          metrics.reviewFinished();
          metrics.observeAdmission(System.nanoTime() - started);
        });
    ctx.next();
  }

  /**
   * Before the body is read: a form or multipart body would otherwise be decoded by the body
   * handler. The connection is closed after the 415 because the unread body is still on it.
   */
  private void requireJson(RoutingContext ctx) {
    String contentType = ctx.request().getHeader(HttpHeaders.CONTENT_TYPE);
    if (AdmissionEndpoint.isJson(contentType)) {
      ctx.next();
      return;
    }
    ctx.response().putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
    send(ctx, endpoint.unsupportedMediaType(contentType));
  }

  private void mutate(RoutingContext ctx, AdmissionReviewer.Entry entry) {
    Buffer body = ctx.body().buffer();
    byte[] bytes = body == null ? new byte[0] : body.getBytes();
    if (bytes.length <= INLINE_BODY_BYTES) {
      // Two thread hand-offs per review cost more than the review itself (measured: p99 6.3 ms
      // with the hand-offs, 4.8 ms without, at concurrency 16 on two cores).
      try {
        send(ctx, endpoint.decide(bytes, entry));
        return;
      } catch (WouldBlockException e) {
        // An owner lookup missed the cache: decide again where the direct GET may block.
      }
    }
    workers
        .submit(() -> endpoint.decide(bytes, entry))
        .onComplete(
            result -> {
              if (result.succeeded()) {
                send(ctx, result.result());
              } else {
                // decide() never throws: the pool is full (BusyException) or closed.
                HttpServerResponse response = ctx.response();
                if (!response.ended() && !response.closed()) {
                  response
                      .setStatusCode(503)
                      .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                      .end(BUSY_STATUS);
                }
              }
            });
  }

  private static void send(RoutingContext ctx, AdmissionEndpoint.Reply reply) {
    HttpServerResponse response = ctx.response();
    if (response.ended() || response.closed()) {
      return;
    }
    response
        .setStatusCode(reply.status())
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(reply.body());
  }
}
