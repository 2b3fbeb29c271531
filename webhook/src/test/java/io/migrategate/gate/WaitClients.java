package io.migrategate.gate;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * N lightweight waiters in one JVM of their own (not the gate's), one HTTP/1.1 connection each, for
 * {@link GateWaitBenchmark}. Prints {@code READY} once all wait, then {@code ANSWERS} with the wall
 * clock (epoch µs) at which each got its answer, then exits.
 *
 * <pre>
 * gate   STREAM_URI CA_FILE TOKENS_FILE         (one stream per token line)
 * direct API_URL CA_FILE TOKEN_FILE NAMESPACE JOB N   (GET the Job, then WATCH it by name)
 * </pre>
 */
public final class WaitClients {
  static final Duration DEADLINE = Duration.ofMinutes(3);
  static final int RAMP_BATCH = 50;

  /** Requests answered 503 (busy) and retried, as migrate-wait retries them. */
  static final java.util.concurrent.atomic.AtomicInteger RETRIES =
      new java.util.concurrent.atomic.AtomicInteger();

  private WaitClients() {}

  public static void main(String[] args) throws Exception {
    try {
      HttpClient http =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .sslContext(trusting(Files.readString(Path.of(args[2]))))
              .connectTimeout(Duration.ofSeconds(60))
              .build();
      List<LineStream> streams = args[0].equals("gate") ? gate(http, args) : direct(http, args);
      System.out.println("READY");
      System.out.println("RETRIES " + RETRIES.get());
      StringJoiner answers = new StringJoiner(",", "ANSWERS ", "");
      for (LineStream stream : streams) {
        answers.add(
            Long.toString(stream.answeredAtMicros.get(DEADLINE.toSeconds(), TimeUnit.SECONDS)));
      }
      System.out.println(answers);
      System.exit(0);
    } catch (Exception e) {
      System.out.println("ERROR " + e);
      e.printStackTrace();
      System.exit(1);
    }
  }

  private static List<LineStream> gate(HttpClient http, String[] args) throws Exception {
    URI uri = URI.create(args[1]);
    List<LineStream> streams = new ArrayList<>();
    for (String token : Files.readAllLines(Path.of(args[3]))) {
      if (token.isBlank()) {
        continue;
      }
      streams.add(
          LineStream.open(
              http,
              uri,
              token.trim(),
              line -> line.contains("\"type\":\"verdict\""),
              line -> line.contains("\"phase\":\"SUSPENDED\"")));
      rampUp(streams, s -> s.ready);
    }
    for (LineStream stream : streams) {
      stream.ready.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    }
    return streams;
  }

  private static List<LineStream> direct(HttpClient http, String[] args) throws Exception {
    String collection = args[1] + "/apis/batch/v1/namespaces/" + args[4] + "/jobs";
    String token = Files.readString(Path.of(args[3])).trim();
    String job = args[5];
    int n = Integer.parseInt(args[6]);
    List<LineStream> streams = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      // What the waiter's direct mode does: GET the Job, then WATCH it by name from its version.
      HttpResponse<String> got =
          http.send(
              HttpRequest.newBuilder(URI.create(collection + "/" + job))
                  .header("Authorization", "Bearer " + token)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (got.statusCode() != 200) {
        throw new IllegalStateException("GET job: HTTP " + got.statusCode() + " " + got.body());
      }
      Matcher version = Pattern.compile("\"resourceVersion\":\"(\\d+)\"").matcher(got.body());
      if (!version.find()) {
        throw new IllegalStateException("no resourceVersion in " + got.body());
      }
      streams.add(
          LineStream.open(
              http,
              URI.create(
                  collection
                      + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=300&fieldSelector="
                      + URLEncoder.encode("metadata.name=" + job, StandardCharsets.UTF_8)
                      + "&resourceVersion="
                      + version.group(1)),
              token,
              // the waiter's verdict: SuccessCriteriaMet (1.31+) or Complete, whichever is first
              line ->
                  line.contains("\"type\":\"SuccessCriteriaMet\",\"status\":\"True\"")
                      || line.contains("\"type\":\"Complete\",\"status\":\"True\""),
              line -> true));
      rampUp(streams, s -> s.connected);
    }
    // A watch says nothing until something changes: waiting is when its response headers came.
    for (LineStream stream : streams) {
      stream.connected.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    }
    return streams;
  }

  /**
   * Pods start over time, not in one instant: after every {@link #RAMP_BATCH} new clients, wait
   * until they are in (on 2 shared cores, 500 TLS handshakes at once only measure the CPU queue).
   */
  private static void rampUp(
      List<LineStream> streams,
      java.util.function.Function<LineStream, CompletableFuture<Void>> signal)
      throws Exception {
    if (streams.size() % RAMP_BATCH != 0) {
      return;
    }
    for (LineStream stream : streams.subList(streams.size() - RAMP_BATCH, streams.size())) {
      signal.apply(stream).get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    }
  }

  static SSLContext trusting(String pem) throws Exception {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    int i = 0;
    for (var certificate :
        CertificateFactory.getInstance("X.509")
            .generateCertificates(
                new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
      store.setCertificateEntry("ca-" + i++, certificate);
    }
    TrustManagerFactory trust =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    return context;
  }

  /** One client's streamed response, read line by line without a thread of its own. */
  private static final class LineStream {
    static final int MAX_ATTEMPTS = 120;
    final CompletableFuture<Void> connected = new CompletableFuture<>();
    final CompletableFuture<Void> ready = new CompletableFuture<>();
    final CompletableFuture<Long> answeredAtMicros = new CompletableFuture<>();
    private final Predicate<String> isAnswer;
    private final Predicate<String> isReady;

    private LineStream(Predicate<String> isAnswer, Predicate<String> isReady) {
      this.isAnswer = isAnswer;
      this.isReady = isReady;
    }

    static LineStream open(
        HttpClient http,
        URI uri,
        String token,
        Predicate<String> isAnswer,
        Predicate<String> isReady) {
      LineStream stream = new LineStream(isAnswer, isReady);
      stream.attempt(http, uri, token, 1);
      return stream;
    }

    /**
     * One request; a 503 (the gate's bound on TokenReviews in flight) is retried after its
     * Retry-After of 1 s, as migrate-wait does, up to {@link #MAX_ATTEMPTS} times.
     */
    private void attempt(HttpClient http, URI uri, String token, int attempt) {
      http.sendAsync(
              HttpRequest.newBuilder(uri).header("Authorization", "Bearer " + token).build(),
              info -> {
                if (info.statusCode() != 200) {
                  return HttpResponse.BodySubscribers.discarding();
                }
                // A watch says nothing until something changes: waiting starts with the headers.
                connected.complete(null);
                return HttpResponse.BodySubscribers.fromLineSubscriber(new Lines());
              })
          .whenComplete(
              (response, error) -> {
                if (error == null && response.statusCode() == 503 && attempt < MAX_ATTEMPTS) {
                  RETRIES.incrementAndGet();
                  CompletableFuture.delayedExecutor(1, TimeUnit.SECONDS)
                      .execute(() -> attempt(http, uri, token, attempt + 1));
                  return;
                }
                Throwable failure =
                    error != null
                        ? error
                        : response.statusCode() != 200
                            ? new IllegalStateException(
                                "HTTP " + response.statusCode() + " from " + uri)
                            : null;
                if (failure != null) {
                  connected.completeExceptionally(failure);
                  ready.completeExceptionally(failure);
                  answeredAtMicros.completeExceptionally(failure);
                }
              });
    }

    /** The lines of one attempt's response. */
    private final class Lines implements Flow.Subscriber<String> {
      @Override
      public void onSubscribe(Flow.Subscription subscription) {
        subscription.request(Long.MAX_VALUE);
      }

      @Override
      public void onNext(String line) {
        LineStream.this.onNext(line);
      }

      @Override
      public void onError(Throwable throwable) {
        LineStream.this.onError(throwable);
      }

      @Override
      public void onComplete() {}
    }

    void onNext(String line) {
      if (isReady.test(line)) {
        ready.complete(null);
      }
      if (isAnswer.test(line)) {
        answeredAtMicros.complete(ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now()));
      }
    }

    void onError(Throwable throwable) {
      answeredAtMicros.completeExceptionally(throwable);
    }
  }
}
