package io.migrategate.gate.server;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import java.util.function.Consumer;

/**
 * What the admission port and the wait port do alike, on each of their event loops: every request
 * counted against its connection's bounds, a path of the other port answered 404 with what to fix,
 * a heartbeat for /livez, and the server listening with the connection limiter in front.
 */
final class PortServer {
  private PortServer() {}

  /** A router whose every request first passes the connection limiter's request count. */
  static Router router(Vertx vertx, ConnectionLimiter connections) {
    Router router = Router.router(vertx);
    router.route().handler(connections::requestStarted);
    return router;
  }

  /** Requests for the other port's {@code path}: 404 with {@code json} naming the right port. */
  static void otherPort(Router router, String path, String json, boolean closeConnection) {
    router
        .route(path)
        .handler(
            ctx -> {
              ctx.response()
                  .setStatusCode(404)
                  .putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
              if (closeConnection) {
                ctx.response().putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
              }
              ctx.response().end(json);
            });
  }

  /** Registers this event loop's heartbeat and listens; {@code onListening} gets the server. */
  static Future<HttpServer> listen(
      Vertx vertx,
      HttpServerOptions options,
      Router router,
      EventLoopHeartbeats heartbeats,
      ConnectionLimiter connections,
      Consumer<HttpServer> onListening) {
    int slot = heartbeats.register();
    vertx.setPeriodic(0, EventLoopHeartbeats.INTERVAL_MILLIS, id -> heartbeats.beat(slot));
    return vertx
        .createHttpServer(options)
        .connectionHandler(connections::accept)
        .requestHandler(router)
        .listen()
        .onSuccess(onListening::accept);
  }
}
