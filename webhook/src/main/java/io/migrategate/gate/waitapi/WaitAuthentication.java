package io.migrategate.gate.waitapi;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who asks, and may they: the bearer token is reviewed ({@link TokenReviewer}, off the event loop),
 * then the caller must be a ServiceAccount of the namespace it asks about and within its
 * open-stream bound. The answers: 401 (no or bad token), 503 (cannot review now), 403 (another
 * namespace, not a ServiceAccount), 429 (too many streams); bodies are the same whatever the cause,
 * which is logged (rate-limited, never with the token).
 */
final class WaitAuthentication {
  private static final Logger LOG = LoggerFactory.getLogger(WaitApi.class);

  private final WaitApi api;
  private final Throttle denials = new Throttle();

  WaitAuthentication(WaitApi api) {
    this.api = api;
  }

  /** Reviews the request's bearer token; answers 401/403/429/503 or starts the stream. */
  void authenticate(RoutingContext ctx, WaitQuestion question) {
    String authorization = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"migrate-gate\"");
      api.error(
          ctx,
          401,
          "unauthenticated",
          "no bearer token: send the projected ServiceAccount token (audience "
              + TokenReviewer.DEFAULT_AUDIENCE
              + ") as 'Authorization: Bearer <token>'");
      return;
    }
    String token = authorization.substring(7).trim();
    String client = client(ctx);
    api.review(token, client, false, result -> authorized(ctx, question, token, client, result));
  }

  private void authorized(
      RoutingContext ctx,
      WaitQuestion question,
      String token,
      String client,
      TokenReviewer.Result result) {
    if (result instanceof TokenReviewer.Result.Rejected rejected) {
      if (denials.allow()) {
        LOG.warn(
            "wait api denied status=401 namespace={} remote={} reason=\"{}\"",
            question.namespace(),
            client,
            rejected.reason());
      }
      ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"migrate-gate\"");
      api.error(ctx, 401, "unauthenticated", WaitApi.UNAUTHENTICATED);
      return;
    }
    if (result instanceof TokenReviewer.Result.Unavailable unavailable) {
      if (denials.allow()) {
        LOG.warn(
            "wait api unavailable status=503 namespace={} remote={} busy={} cause=\"{}\"",
            question.namespace(),
            client,
            unavailable.busy(),
            unavailable.cause());
      }
      ctx.response().putHeader(HttpHeaders.RETRY_AFTER, "1");
      api.error(ctx, 503, "unavailable", WaitApi.UNAVAILABLE);
      return;
    }
    TokenReviewer.Result.Authenticated caller = (TokenReviewer.Result.Authenticated) result;
    if (caller.namespace() == null || !caller.namespace().equals(question.namespace())) {
      String message =
          caller.namespace() == null
              ? caller.describe()
                  + " is not a ServiceAccount; only a pod's ServiceAccount token may ask, and only"
                  + " about Jobs in its own namespace"
              : caller.describe()
                  + " may only ask about Jobs in namespace "
                  + caller.namespace()
                  + ", not in "
                  + question.namespace();
      if (denials.allow()) {
        LOG.warn(
            "wait api denied status=403 caller=\"{}\" namespace={} remote={}",
            caller.describe(),
            question.namespace(),
            client);
      }
      api.error(ctx, 403, "forbidden", "forbidden: " + message);
      return;
    }
    String identity = caller.identity();
    if (!api.streamOpened(identity)) {
      if (denials.allow()) {
        LOG.warn(
            "wait api refused status=429 caller=\"{}\" remote={} open_streams_max={}",
            caller.describe(),
            client,
            api.limits.maxStreamsPerServiceAccount());
      }
      ctx.response().putHeader(HttpHeaders.RETRY_AFTER, "5");
      api.error(ctx, 429, "too_many_streams", WaitApi.TOO_MANY_STREAMS);
      return;
    }
    if (ctx.response().closed() || ctx.response().ended()) {
      // The client left while its token was reviewed: nothing will ever close this stream.
      api.streamClosed(identity);
      return;
    }
    new WaitStream(api, ctx, question, token, client, caller).start();
  }

  private static String client(RoutingContext ctx) {
    SocketAddress remote = ctx.request().remoteAddress();
    if (remote == null) {
      return "unknown";
    }
    String host = remote.hostAddress();
    return host == null ? String.valueOf(remote.host()) : host;
  }

  /**
   * Lets at most {@link WaitApi#LOG_BURST} denial lines through per {@link WaitApi#LOG_WINDOW} and
   * sums up the rest in one line: a flood of bad requests must not become a flood of log lines.
   */
  private static final class Throttle {
    private long windowStart = System.nanoTime();
    private int inWindow;
    private long suppressed;

    synchronized boolean allow() {
      long now = System.nanoTime();
      if (now - windowStart > WaitApi.LOG_WINDOW.toNanos()) {
        if (suppressed > 0) {
          LOG.warn(
              "wait api denials not logged count={} window={}s (rate-limited)",
              suppressed,
              WaitApi.LOG_WINDOW.toSeconds());
        }
        windowStart = now;
        inWindow = 0;
        suppressed = 0;
      }
      if (inWindow < WaitApi.LOG_BURST) {
        inWindow++;
        return true;
      }
      suppressed++;
      return false;
    }
  }
}
