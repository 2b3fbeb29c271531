package io.migrategate.gate.server;

import io.migrategate.gate.observability.PrometheusText;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.RoutingContext;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Bounds the open connections of one HTTPS port. Vert.x has no cap on accepted connections, so this
 * is a connection handler: it sees each connection once its TLS handshake is done (handshakes
 * themselves are bounded in time, {@link TlsPolicy#HANDSHAKE_TIMEOUT_SECONDS}) and decides at once:
 *
 * <ul>
 *   <li>at most {@code perClient} connections from one remote address: one more is closed. One pod
 *       cannot take the connections the API server (or other waiters) need;
 *   <li>at most {@code max} in all: at the bound, the connection that has been idle longest (no
 *       request in progress) is closed to make room, so idle connections — whoever holds them, from
 *       however many addresses — never lock out a new caller such as the API server, which sends
 *       its review right after its handshake. Only when every connection has a request in progress
 *       is the new one closed instead;
 *   <li>a request must have arrived whole within {@link #REQUEST_DEADLINE_MILLIS}, or its
 *       connection is closed: a request sent byte by byte cannot pin a connection as "busy".
 * </ul>
 */
public final class ConnectionLimiter {
  /** A request's headers and body arrive in milliseconds; this is generous. */
  public static final long REQUEST_DEADLINE_MILLIS = 10_000;

  private final String port;
  private final int max;
  private final int perClient;
  private final Map<HttpConnection, Tracked> open = new ConcurrentHashMap<>();
  private final AtomicInteger count = new AtomicInteger();
  private final Map<String, AtomicInteger> byClient = new ConcurrentHashMap<>();
  private final LongAdder rejectedMax = new LongAdder();
  private final LongAdder rejectedPerClient = new LongAdder();
  private final LongAdder evicted = new LongAdder();
  private final LongAdder slowRequests = new LongAdder();

  /** One open connection: its client, when it last started a request, requests in progress. */
  private static final class Tracked {
    final String client;
    final AtomicInteger busy = new AtomicInteger();
    final AtomicBoolean released = new AtomicBoolean();
    volatile long lastActiveNanos = System.nanoTime();

    Tracked(String client) {
      this.client = client;
    }
  }

  /**
   * @param port the port's name in metrics: {@code admission} or {@code wait}
   */
  public ConnectionLimiter(String port, int max, int perClient) {
    this.port = port;
    this.max = max;
    this.perClient = perClient;
  }

  /** The connection handler of every server instance on this port. */
  void accept(HttpConnection connection) {
    String client = client(connection.remoteAddress());
    // compute() is atomic per key: the count and the entry's removal at zero never race.
    AtomicInteger mine =
        byClient.compute(
            client,
            (k, counter) -> {
              AtomicInteger next = counter == null ? new AtomicInteger() : counter;
              next.incrementAndGet();
              return next;
            });
    if (mine.get() > perClient) {
      releaseClient(client);
      rejectedPerClient.increment();
      connection.close();
      return;
    }
    if (count.incrementAndGet() > max && !evictIdlest()) {
      count.decrementAndGet();
      releaseClient(client);
      rejectedMax.increment();
      connection.close();
      return;
    }
    Tracked tracked = new Tracked(client);
    open.put(connection, tracked);
    connection.closeHandler(v -> release(connection));
  }

  /**
   * The router's first handler on this port: marks the connection busy until the response ends, and
   * closes it if the request has not fully arrived by {@link #REQUEST_DEADLINE_MILLIS}.
   */
  void requestStarted(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    Tracked tracked = open.get(request.connection());
    if (tracked != null) {
      tracked.lastActiveNanos = System.nanoTime();
      tracked.busy.incrementAndGet();
      long timer =
          request.isEnded()
              ? -1
              : ctx.vertx()
                  .setTimer(
                      REQUEST_DEADLINE_MILLIS,
                      id -> {
                        if (!request.isEnded()) {
                          slowRequests.increment();
                          request.connection().close();
                        }
                      });
      AtomicBoolean done = new AtomicBoolean();
      ctx.addEndHandler(
          ended -> {
            if (done.compareAndSet(false, true)) {
              tracked.busy.decrementAndGet();
              tracked.lastActiveNanos = System.nanoTime();
              if (timer >= 0) {
                ctx.vertx().cancelTimer(timer);
              }
            }
          });
    }
    ctx.next();
  }

  /** Closes the connection idle the longest; false when every connection is busy. */
  private boolean evictIdlest() {
    HttpConnection idlest = null;
    long idlestSince = 0;
    for (Map.Entry<HttpConnection, Tracked> entry : open.entrySet()) {
      Tracked tracked = entry.getValue();
      if (tracked.busy.get() == 0
          && !tracked.released.get()
          && (idlest == null || tracked.lastActiveNanos - idlestSince < 0)) {
        idlestSince = tracked.lastActiveNanos;
        idlest = entry.getKey();
      }
    }
    if (idlest == null) {
      return false;
    }
    // Counted out now (the new connection takes its place), closed asynchronously.
    if (release(idlest)) {
      evicted.increment();
      idlest.close();
      return true;
    }
    return evictIdlest();
  }

  /** Forgets the connection once; false when it was already forgotten. */
  private boolean release(HttpConnection connection) {
    Tracked tracked = open.remove(connection);
    if (tracked == null || !tracked.released.compareAndSet(false, true)) {
      return false;
    }
    count.decrementAndGet();
    releaseClient(tracked.client);
    return true;
  }

  private void releaseClient(String client) {
    byClient.computeIfPresent(
        client, (k, counter) -> counter.decrementAndGet() <= 0 ? null : counter);
  }

  private static String client(SocketAddress address) {
    if (address == null) {
      return "unknown";
    }
    String host = address.hostAddress();
    return host == null ? String.valueOf(address.host()) : host;
  }

  int open() {
    return count.get();
  }

  /** The metrics of every port's limiter, one family each. */
  public static String render(ConnectionLimiter... limiters) {
    PrometheusText out = new PrometheusText();
    out.family("migrate_gate_connections", "gauge", "Open connections, by HTTPS port.");
    for (ConnectionLimiter limiter : limiters) {
      out.sample(
          "migrate_gate_connections", PrometheusText.label("port", limiter.port), limiter.open());
    }
    out.family(
        "migrate_gate_connections_max",
        "gauge",
        "Most open connections per HTTPS port (--max-connections).");
    for (ConnectionLimiter limiter : limiters) {
      out.sample(
          "migrate_gate_connections_max", PrometheusText.label("port", limiter.port), limiter.max);
    }
    out.family(
        "migrate_gate_connections_per_client_max",
        "gauge",
        "Most open connections per HTTPS port from one address (--max-connections-per-client).");
    for (ConnectionLimiter limiter : limiters) {
      out.sample(
          "migrate_gate_connections_per_client_max",
          PrometheusText.label("port", limiter.port),
          limiter.perClient);
    }
    out.family(
        "migrate_gate_connections_rejected_total",
        "counter",
        "Connections closed right after the handshake, by port and bound: per_client (the"
            + " address had --max-connections-per-client), max (the port was full and every"
            + " connection busy).");
    for (ConnectionLimiter limiter : limiters) {
      String label = PrometheusText.label("port", limiter.port);
      out.sample(
          "migrate_gate_connections_rejected_total",
          label + "," + PrometheusText.label("reason", "per_client"),
          limiter.rejectedPerClient.sum());
      out.sample(
          "migrate_gate_connections_rejected_total",
          label + "," + PrometheusText.label("reason", "max"),
          limiter.rejectedMax.sum());
    }
    out.family(
        "migrate_gate_connections_evicted_total",
        "counter",
        "Idle connections closed to make room for a new one on a full port, by port.");
    for (ConnectionLimiter limiter : limiters) {
      out.sample(
          "migrate_gate_connections_evicted_total",
          PrometheusText.label("port", limiter.port),
          limiter.evicted.sum());
    }
    out.family(
        "migrate_gate_slow_requests_total",
        "counter",
        "Connections closed because a request had not fully arrived within 10 s, by port.");
    for (ConnectionLimiter limiter : limiters) {
      out.sample(
          "migrate_gate_slow_requests_total",
          PrometheusText.label("port", limiter.port),
          limiter.slowRequests.sum());
    }
    return out.toString();
  }
}
