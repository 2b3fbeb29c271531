package io.migrategate.gate;

import io.migrategate.gate.waitapi.FakeJwt;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemTrustOptions;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLContext;

/**
 * Issue 12's load: from attacker addresses, many idle TLS connections to both HTTPS ports and a
 * flood of wait requests with bogus tokens (half garbage, half well-formed forged JWTs that only a
 * TokenReview can refuse); meanwhile, from 127.0.0.1 as the API server, an admission review every
 * 100 ms whose latency is recorded, and a legitimate waiter opening its stream once a second.
 * Shared by {@link GateLoadTest} (scaled down, gate in this JVM) and {@link GateLoadBenchmark} (the
 * full figures, gate in a JVM of its own).
 */
final class LoadScenario {
  /**
   * @param attackers the local addresses the attack comes from (127.0.0.2: one pod)
   * @param idleConnections idle TLS connections attempted, spread over both ports and attackers
   * @param floodPerSecond bogus-token wait requests per second
   * @param memory sampled every 500 ms; its maximum is reported (bytes)
   */
  record Settings(
      int admissionPort,
      int waitPort,
      String caPem,
      List<String> attackers,
      int idleConnections,
      int floodPerSecond,
      Duration duration,
      String legitToken,
      byte[] review,
      LongSupplier memory) {}

  record Result(
      int idleAttempted,
      int idleHeld,
      int idleClosedByGate,
      int idleFailed,
      long floodSent,
      long floodSkipped,
      Map<Integer, Long> floodStatuses,
      long floodErrors,
      List<Long> admissionMicros,
      int admissionFailures,
      List<Long> legitMillis,
      int legitFailures,
      long maxMemory,
      double floodSeconds) {

    long admissionMaxMicros() {
      return admissionMicros.isEmpty() ? 0 : Collections.max(admissionMicros);
    }

    long admissionPercentileMicros(double p) {
      List<Long> sorted = new ArrayList<>(admissionMicros);
      Collections.sort(sorted);
      return sorted.isEmpty()
          ? 0
          : sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(sorted.size() * p) - 1));
    }

    /** Answers per second over the flood's own duration. */
    double floodRate(Duration ignored) {
      long answered = floodStatuses.values().stream().mapToLong(Long::longValue).sum();
      return floodSeconds <= 0 ? 0 : answered / floodSeconds;
    }
  }

  private LoadScenario() {}

  static Result run(Settings settings) throws Exception {
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    try {
      return new Run(settings, vertx).run();
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static final class Run {
    final Settings settings;
    final Vertx vertx;
    final AtomicBoolean flooding = new AtomicBoolean(true);
    final Map<Integer, LongAdder> statuses = new ConcurrentHashMap<>();
    final LongAdder floodSent = new LongAdder();
    final LongAdder floodSkipped = new LongAdder();
    final LongAdder floodErrors = new LongAdder();
    final AtomicLong maxMemory = new AtomicLong();
    final AtomicLong floodNanos = new AtomicLong();

    Run(Settings settings, Vertx vertx) {
      this.settings = settings;
      this.vertx = vertx;
    }

    Result run() throws Exception {
      warmUp();
      Thread sampler = thread("memory", this::sampleMemory);
      // The flood's connections first: the idle ones would take the attacker's share.
      List<io.vertx.core.http.HttpClient> flooders = flooders();
      List<Long> admission = Collections.synchronizedList(new ArrayList<>());
      AtomicInteger admissionFailures = new AtomicInteger();
      List<Long> legit = Collections.synchronizedList(new ArrayList<>());
      AtomicInteger legitFailures = new AtomicInteger();
      Thread probe = thread("admission", () -> admissionProbe(admission, admissionFailures));
      Thread waiter = thread("legit-waiter", () -> legitWaiter(legit, legitFailures));
      Thread flood = thread("flood", () -> flood(flooders));
      long started = System.nanoTime();
      Idle idle = idleConnections();
      long remaining = settings.duration().toNanos() - (System.nanoTime() - started);
      if (remaining > 0) {
        TimeUnit.NANOSECONDS.sleep(remaining);
      }
      flooding.set(false);
      flood.join(30_000);
      probe.join(30_000);
      waiter.join(30_000);
      idle.closeAll();
      sampler.join(5_000);
      Map<Integer, Long> byStatus = new java.util.TreeMap<>();
      statuses.forEach((status, count) -> byStatus.put(status, count.sum()));
      return new Result(
          settings.idleConnections(),
          idle.held(),
          idle.closedByGate.get(),
          idle.failed.get(),
          floodSent.sum(),
          floodSkipped.sum(),
          byStatus,
          floodErrors.sum(),
          List.copyOf(admission),
          admissionFailures.get(),
          List.copyOf(legit),
          legitFailures.get(),
          maxMemory.get(),
          floodNanos.get() / 1e9);
    }

    /**
     * The first review and the first TokenReview of a fresh gate load classes and compile code
     * (about a second): done before the attack, which is what is measured.
     */
    private void warmUp() throws Exception {
      HttpClient client = jdkClient();
      for (int i = 0; i < 50; i++) {
        client.send(
            HttpRequest.newBuilder(
                    URI.create("https://localhost:" + settings.admissionPort() + "/mutate"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(settings.review()))
                .build(),
            HttpResponse.BodyHandlers.discarding());
      }
      List<Long> ignored = Collections.synchronizedList(new ArrayList<>());
      AtomicBoolean once = new AtomicBoolean(true);
      for (int i = 0; i < 3; i++) {
        HttpResponse<InputStream> response =
            client.send(
                HttpRequest.newBuilder(
                        URI.create(
                            "https://localhost:"
                                + settings.waitPort()
                                + "/wait/v1/namespaces/"
                                + FakeApiServer.LEGIT_TOKEN_NAMESPACE
                                + "/jobs?names=migrate"))
                    .header("Authorization", "Bearer " + settings.legitToken())
                    .build(),
                HttpResponse.BodyHandlers.ofInputStream());
        response.body().close();
      }
    }

    private Thread thread(String name, Runnable body) {
      Thread thread =
          new Thread(
              () -> {
                try {
                  body.run();
                } catch (RuntimeException e) {
                  e.printStackTrace();
                }
              },
              "load-" + name);
      thread.setDaemon(true);
      thread.start();
      return thread;
    }

    private void sampleMemory() {
      while (flooding.get()) {
        maxMemory.accumulateAndGet(settings.memory().getAsLong(), Math::max);
        sleep(500);
      }
    }

    /** Idle TLS connections, handshake done, nothing sent. */
    private final class Idle {
      final List<NetSocket> sockets = Collections.synchronizedList(new ArrayList<>());
      final AtomicInteger closedByGate = new AtomicInteger();
      final AtomicInteger failed = new AtomicInteger();
      final AtomicBoolean closing = new AtomicBoolean();

      int held() {
        return sockets.size() - closedByGate.get();
      }

      void closeAll() {
        closing.set(true);
        synchronized (sockets) {
          sockets.forEach(NetSocket::close);
        }
      }
    }

    private Idle idleConnections() throws Exception {
      Idle idle = new Idle();
      List<NetClient> clients = new ArrayList<>();
      for (String attacker : settings.attackers()) {
        clients.add(
            vertx.createNetClient(
                new NetClientOptions()
                    .setSsl(true)
                    .setHostnameVerificationAlgorithm("")
                    .setTrustOptions(
                        new PemTrustOptions().addCertValue(Buffer.buffer(settings.caPem())))
                    .setLocalAddress(attacker)
                    .setConnectTimeout(30_000)));
      }
      // At most this many handshakes at once, as a client with its own CPU limits would.
      Semaphore inFlight = new Semaphore(256);
      CountDownLatch done = new CountDownLatch(settings.idleConnections());
      for (int i = 0; i < settings.idleConnections() && flooding.get(); i++) {
        inFlight.acquire();
        int port = i % 2 == 0 ? settings.admissionPort() : settings.waitPort();
        NetClient client = clients.get(i % clients.size());
        client
            .connect(port, "127.0.0.1")
            .onComplete(
                connected -> {
                  inFlight.release();
                  done.countDown();
                  if (connected.failed()) {
                    idle.failed.incrementAndGet();
                    return;
                  }
                  NetSocket socket = connected.result();
                  idle.sockets.add(socket);
                  socket.closeHandler(
                      v -> {
                        if (!idle.closing.get()) {
                          idle.closedByGate.incrementAndGet();
                        }
                      });
                });
      }
      done.await(10, TimeUnit.MINUTES);
      return idle;
    }

    private List<io.vertx.core.http.HttpClient> flooders() {
      List<io.vertx.core.http.HttpClient> clients = new ArrayList<>();
      for (String attacker : settings.attackers()) {
        clients.add(
            vertx.createHttpClient(
                new HttpClientOptions()
                    .setSsl(true)
                    .setVerifyHost(false)
                    .setTrustOptions(
                        new PemTrustOptions().addCertValue(Buffer.buffer(settings.caPem())))
                    .setLocalAddress(attacker)
                    .setKeepAlive(true)
                    .setPipelining(true)
                    .setPipeliningLimit(16)
                    .setConnectTimeout(30_000),
                new PoolOptions().setHttp1MaxSize(8).setMaxWaitQueueSize(-1)));
      }
      return clients;
    }

    private void flood(List<io.vertx.core.http.HttpClient> clients) {
      int perTick = Math.max(1, settings.floodPerSecond() / 100);
      Semaphore outstanding = new Semaphore(2000);
      long tick = 0;
      long start = System.nanoTime();
      long exp = System.currentTimeMillis() / 1000 + 3600;
      while (flooding.get()) {
        for (int i = 0; i < perTick; i++) {
          if (!outstanding.tryAcquire()) {
            floodSkipped.increment();
            continue;
          }
          long n = floodSent.sum();
          String token =
              n % 2 == 0
                  ? "garbage-" + n + "-" + System.nanoTime()
                  : FakeJwt.of("migrate-gate", exp, true);
          floodSent.increment();
          io.vertx.core.http.HttpClient client = clients.get((int) (n % clients.size()));
          client
              .request(
                  new RequestOptions()
                      .setMethod(HttpMethod.GET)
                      .setHost("127.0.0.1")
                      .setPort(settings.waitPort())
                      .setURI("/wait/v1/namespaces/bank/jobs?names=db-migrate")
                      .putHeader("Authorization", "Bearer " + token))
              .compose(request -> request.send())
              .compose(
                  response -> {
                    statuses
                        .computeIfAbsent(response.statusCode(), k -> new LongAdder())
                        .increment();
                    return response.body();
                  })
              .onComplete(
                  done -> {
                    outstanding.release();
                    if (done.failed()) {
                      floodErrors.increment();
                    }
                  });
        }
        tick++;
        long next = start + tick * 10_000_000L;
        long wait = next - System.nanoTime();
        if (wait > 0) {
          sleep(wait / 1_000_000);
        }
      }
      floodNanos.set(System.nanoTime() - start);
      // Let the last answers arrive.
      try {
        outstanding.tryAcquire(2000, 10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      for (io.vertx.core.http.HttpClient client : clients) {
        try {
          client.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
          // closing at the end: nothing to report
        }
      }
    }

    private HttpClient jdkClient() {
      try {
        SSLContext context = WaitClients.trusting(settings.caPem());
        return HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .sslContext(context)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    /** The API server: one review every 100 ms on a keep-alive connection, latency recorded. */
    private void admissionProbe(List<Long> micros, AtomicInteger failures) {
      HttpClient client = jdkClient();
      URI uri = URI.create("https://localhost:" + settings.admissionPort() + "/mutate");
      while (flooding.get()) {
        long started = System.nanoTime();
        try {
          HttpResponse<String> response =
              client.send(
                  HttpRequest.newBuilder(uri)
                      .timeout(Duration.ofSeconds(10))
                      .header("Content-Type", "application/json")
                      .POST(HttpRequest.BodyPublishers.ofByteArray(settings.review()))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
          if (response.statusCode() == 200) {
            micros.add((System.nanoTime() - started) / 1000);
          } else {
            failures.incrementAndGet();
          }
        } catch (Exception e) {
          failures.incrementAndGet();
          if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
            return;
          }
        }
        sleep(Math.max(0, 100 - (System.nanoTime() - started) / 1_000_000));
      }
    }

    /**
     * A waiter with a valid token, once a second: the time until its stream is open (retrying a 503
     * or 429 as the waiter does: 100 ms, doubling up to 5 s).
     */
    private void legitWaiter(List<Long> millis, AtomicInteger failures) {
      HttpClient client = jdkClient();
      URI uri =
          URI.create(
              "https://localhost:"
                  + settings.waitPort()
                  + "/wait/v1/namespaces/"
                  + FakeApiServer.LEGIT_TOKEN_NAMESPACE
                  + "/jobs?names=migrate");
      while (flooding.get()) {
        long started = System.nanoTime();
        long backoff = 100;
        boolean opened = false;
        while (flooding.get() && !opened) {
          try {
            HttpResponse<InputStream> response =
                client.send(
                    HttpRequest.newBuilder(uri)
                        .timeout(Duration.ofSeconds(10))
                        .header("Authorization", "Bearer " + settings.legitToken())
                        .build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream body = response.body()) {
              if (response.statusCode() == 200) {
                new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8)).readLine();
                opened = true;
                break;
              }
              body.readAllBytes();
            }
          } catch (Exception e) {
            if (e instanceof InterruptedException) {
              Thread.currentThread().interrupt();
              return;
            }
          }
          sleep(backoff);
          backoff = Math.min(5000, backoff * 2);
        }
        if (opened) {
          millis.add((System.nanoTime() - started) / 1_000_000);
        } else {
          failures.incrementAndGet();
        }
        sleep(Math.max(0, 1000 - (System.nanoTime() - started) / 1_000_000));
      }
    }

    private static void sleep(long millis) {
      try {
        Thread.sleep(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
