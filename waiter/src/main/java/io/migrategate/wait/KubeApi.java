package io.migrategate.wait;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The two API calls the waiter makes, over the JDK HTTP client: GET one object, and WATCH a
 * collection as a stream of JSON lines.
 */
final class KubeApi {
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

  private final ApiAccess access;
  private final HttpClient http;

  /** A response with its body read. */
  record Response(int status, String body) {}

  KubeApi(ApiAccess access) {
    this.access = access;
    this.http =
        HttpClient.newBuilder()
            .sslContext(access.sslContext())
            // one connection per watch is fine for a handful of Jobs, and HTTP/1.1 keeps
            // reconnects after an API server restart simple
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(CONNECT_TIMEOUT)
            .build();
  }

  ApiAccess access() {
    return access;
  }

  /** GET {@code path} (with query), body read as text. */
  Response get(String path) throws IOException, InterruptedException {
    HttpResponse<String> response = http.send(request(path), HttpResponse.BodyHandlers.ofString());
    return new Response(response.statusCode(), response.body());
  }

  /**
   * Starts a watch on {@code path}; returns once the response headers are in. The caller reads (and
   * closes) the lines of a 200; other statuses carry a Status object as body.
   */
  HttpResponse<Stream<String>> watch(String path) throws IOException, InterruptedException {
    return http.send(request(path), HttpResponse.BodyHandlers.ofLines());
  }

  /** The body of a non-200 watch response. */
  static String bodyOf(HttpResponse<Stream<String>> response) {
    try (Stream<String> lines = response.body()) {
      return lines.collect(Collectors.joining("\n"));
    } catch (RuntimeException e) {
      return "";
    }
  }

  private HttpRequest request(String path) {
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(URI.create(access.server() + path))
            .timeout(REQUEST_TIMEOUT)
            .header("Accept", "application/json")
            .header("User-Agent", "migrate-gate-waiter")
            .GET();
    String token = access.bearerToken().get();
    if (token != null && !token.isEmpty()) {
      builder.header("Authorization", "Bearer " + token);
    }
    return builder.build();
  }
}
