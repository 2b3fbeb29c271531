package io.migrategate.gate.server;

import io.migrategate.gate.waitapi.WaitApi;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import java.util.function.Consumer;

/**
 * One event loop's share of the wait API's HTTPS server ({@code --wait-port}): the port every pod's
 * waiter reaches, apart from admission's, with its own connection bound and its own event loops, so
 * that nothing a pod does there can stall or exhaust admission. {@code /mutate} is not served here.
 */
public final class WaitVerticle extends VerticleBase {
  static final String NOT_ADMISSION =
      "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
          + "\"reason\":\"NotFound\",\"code\":404,\"message\":\"this is the gate's wait port;"
          + " admission reviews go to its admission port (--port)\"}";

  private final HttpServerOptions options;
  private final WaitApi waitApi;
  private final EventLoopHeartbeats heartbeats;
  private final ConnectionLimiter connections;
  private final Consumer<HttpServer> onListening;

  public WaitVerticle(
      HttpServerOptions options,
      WaitApi waitApi,
      EventLoopHeartbeats heartbeats,
      ConnectionLimiter connections,
      Consumer<HttpServer> onListening) {
    this.options = options;
    this.waitApi = waitApi;
    this.heartbeats = heartbeats;
    this.connections = connections;
    this.onListening = onListening;
  }

  @Override
  public Future<?> start() {
    Router router = PortServer.router(vertx, connections);
    waitApi.register(router);
    PortServer.otherPort(router, "/mutate", NOT_ADMISSION, true);
    return PortServer.listen(vertx, options, router, heartbeats, connections, onListening);
  }
}
