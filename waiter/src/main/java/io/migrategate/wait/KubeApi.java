package io.migrategate.wait;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import javax.net.ssl.HttpsURLConnection;

/**
 * The two API calls the waiter makes: GET one object, and WATCH a collection as a stream of JSON
 * lines. Plain blocking HTTPS ({@link HttpsURLConnection}) on the caller's thread: fewer classes to
 * load than {@code java.net.http}, no selector thread, and {@link #close()} can cut every open
 * connection, so that no thread sits in a native read when the JVM exits (the JVM waits up to 300
 * ms for such threads at exit; see docs/benchmarks/waiter.md).
 */
final class KubeApi implements Closeable {
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

  private final ApiAccess access;
  private final ClosableSockets sockets;
  private volatile boolean closed;

  /** A response with its body read. */
  record Response(int status, String body) {}

  /** An open watch: its status, and for a 200 the event lines; close it when done. */
  final class Watch implements Closeable {
    private final HttpURLConnection connection;
    private final int status;
    private final BufferedReader lines;

    private Watch(HttpURLConnection connection, int status, BufferedReader lines) {
      this.connection = connection;
      this.status = status;
      this.lines = lines;
    }

    int status() {
      return status;
    }

    /** The next event line, or null when the server ended the watch. */
    String nextLine() throws IOException {
      return lines.readLine();
    }

    @Override
    public void close() {
      connection.disconnect();
    }
  }

  KubeApi(ApiAccess access) {
    this.access = access;
    this.sockets = ClosableSockets.installedAsDefault(access.sslContext().getSocketFactory());
  }

  ApiAccess access() {
    return access;
  }

  /** GET {@code path} (with query), body read as text. */
  Response get(String path) throws IOException {
    HttpURLConnection connection = open(path, REQUEST_TIMEOUT);
    int status = connection.getResponseCode();
    return new Response(
        status, read(status < 400 ? connection.getInputStream() : connection.getErrorStream()));
  }

  /**
   * Starts a watch on {@code path}; returns once the response headers are in. A read blocking
   * longer than {@code idleTimeout} fails with an IOException (a dead connection).
   */
  Watch watch(String path, Duration idleTimeout) throws IOException {
    HttpURLConnection connection = open(path, idleTimeout);
    try {
      int status = connection.getResponseCode();
      InputStream body = status < 400 ? connection.getInputStream() : connection.getErrorStream();
      BufferedReader lines =
          new BufferedReader(
              new InputStreamReader(
                  body == null ? InputStream.nullInputStream() : body, StandardCharsets.UTF_8));
      return new Watch(connection, status, lines);
    } catch (IOException | RuntimeException e) {
      connection.disconnect();
      throw e;
    }
  }

  /** Cuts every open connection; blocked reads fail at once. Never blocks. */
  @Override
  public void close() {
    closed = true;
    sockets.closeAll();
  }

  private HttpURLConnection open(String path, Duration readTimeout) throws IOException {
    if (closed) {
      throw new IOException("closed");
    }
    // The API server is reached directly, never through an HTTP proxy.
    HttpsURLConnection connection =
        (HttpsURLConnection) new URL(access.server() + path).openConnection(Proxy.NO_PROXY);
    sockets.configure(connection);
    connection.setConnectTimeout((int) CONNECT_TIMEOUT.toMillis());
    connection.setReadTimeout((int) readTimeout.toMillis());
    connection.setRequestProperty("Accept", "application/json");
    connection.setRequestProperty("User-Agent", "migrate-gate-waiter");
    String token = access.bearerToken().get();
    if (token != null && !token.isEmpty()) {
      connection.setRequestProperty("Authorization", "Bearer " + token);
    }
    return connection;
  }

  private static String read(InputStream body) throws IOException {
    if (body == null) {
      return "";
    }
    try (InputStream in = body) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
