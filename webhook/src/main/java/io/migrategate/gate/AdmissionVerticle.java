package io.migrategate.gate;

import io.migrategate.admission.WouldBlockException;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.WorkerExecutor;
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
 * One event loop's share of the HTTPS admission server. Several instances listen on the same port
 * (Vert.x balances connections across them). A review is decided on the event loop when it needs
 * nothing but CPU and the informer caches (nearly always); one that must ask the API server, or a
 * very large body, goes to the worker pool.
 */
final class AdmissionVerticle extends VerticleBase {
  /** Larger bodies are parsed on a worker: a 3 MiB review takes milliseconds to parse. */
  static final int INLINE_BODY_BYTES = 256 * 1024;

  private final HttpServerOptions options;
  private final AdmissionEndpoint endpoint;
  private final WorkerExecutor workers;
  private final GateMetrics metrics;
  private final EventLoopHeartbeats heartbeats;
  private final Consumer<HttpServer> onListening;
  private final Consumer<Router> moreRoutes;

  AdmissionVerticle(
      HttpServerOptions options,
      AdmissionEndpoint endpoint,
      WorkerExecutor workers,
      GateMetrics metrics,
      EventLoopHeartbeats heartbeats,
      Consumer<HttpServer> onListening,
      Consumer<Router> moreRoutes) {
    this.options = options;
    this.endpoint = endpoint;
    this.workers = workers;
    this.metrics = metrics;
    this.heartbeats = heartbeats;
    this.onListening = onListening;
    this.moreRoutes = moreRoutes;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    router.route("/mutate").handler(this::track);
    // Its own route: vertx-web wants the body handler first among a route's handlers.
    router.post("/mutate").handler(this::requireJson);
    router
        .post("/mutate")
        .handler(
            BodyHandler.create(false)
                .setBodyLimit(AdmissionEndpoint.MAX_BODY_BYTES)
                .setMergeFormAttributes(false))
        .handler(this::mutate);
    router.errorHandler(413, ctx -> send(ctx, endpoint.bodyTooLarge()));
    // Never reached by design (decide() never throws); a JSON answer all the same if it is.
    router.errorHandler(500, ctx -> send(ctx, endpoint.serverError(ctx.failure())));
    // Other APIs on the same HTTPS port (the wait API).
    moreRoutes.accept(router);
    int slot = heartbeats.register();
    vertx.setPeriodic(0, EventLoopHeartbeats.INTERVAL_MILLIS, id -> heartbeats.beat(slot));
    HttpServer server = vertx.createHttpServer(options).requestHandler(router);
    return server.listen().onSuccess(onListening::accept);
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

  private void mutate(RoutingContext ctx) {
    Buffer body = ctx.body().buffer();
    byte[] bytes = body == null ? new byte[0] : body.getBytes();
    if (bytes.length <= INLINE_BODY_BYTES) {
      // Two thread hand-offs per review cost more than the review itself (measured: p99 6.3 ms
      // with the hand-offs, 4.8 ms without, at concurrency 16 on two cores).
      try {
        send(ctx, endpoint.decide(bytes));
        return;
      } catch (WouldBlockException e) {
        // An owner lookup missed the cache: decide again where the direct GET may block.
      }
    }
    workers
        .executeBlocking(() -> endpoint.decide(bytes), false)
        .onComplete(
            result -> {
              if (result.succeeded()) {
                send(ctx, result.result());
              } else {
                // decide() never throws; this is the worker pool itself failing (e.g. closed).
                ctx.response().setStatusCode(503).end();
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
