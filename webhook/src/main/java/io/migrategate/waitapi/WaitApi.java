package io.migrategate.waitapi;

import io.migrategate.admission.JobReference;
import io.migrategate.admission.WaitLimits;
import io.migrategate.core.Backoff;
import io.migrategate.core.JobSetVerdict;
import io.migrategate.core.JobVerdict;
import io.migrategate.core.Names;
import io.migrategate.core.WaitLine;
import io.migrategate.jobs.JobLookup;
import io.migrategate.jobs.JobTracker;
import io.migrategate.metrics.PrometheusText;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The wait API on the gate's wait port: {@code GET /wait/v1/namespaces/{ns}/jobs?names=a,b
 * [&revision=r]} with a bearer token answers with newline-delimited JSON: each Job's state as soon
 * as it is known and whenever it changes, then the verdict, then the end of the response. Protocol,
 * authentication and semantics: docs/gate-wait-api.md.
 *
 * <p>Authentication: a pod-bound ServiceAccount token for the gate's audience, checked with
 * TokenReview ({@link TokenReviewer}, cached and bounded); a token may only ask about its own
 * namespace. No token or an invalid one → 401; another namespace or a non-ServiceAccount user →
 * 403; the review impossible (or too many in flight) → 503; too many open streams of one
 * ServiceAccount → 429. Error bodies are the same whatever the internal cause (which is logged,
 * rate-limited, and never with the token). An open stream's token is reviewed again every {@code
 * reauthInterval} and the stream ends, with a {@code reauthenticate} notice, when that review fails
 * or a minute before the token expires: the waiter reconnects with its current (refreshed) token.
 *
 * <p>Costs nothing on the API server per waiter beyond the token review: every answer comes from
 * the {@link JobTracker}'s one cluster-wide watch. One exception keeps that watch's lag from
 * passing anyone wrongly: a success the stream did not see happen (the Job had already succeeded,
 * or was deleted after it, when the waiter asked) is confirmed with one read of the Job ({@link
 * JobTracker#noNewerRun}) before the verdict goes out.
 */
public final class WaitApi {
  private static final Logger LOG = LoggerFactory.getLogger(WaitApi.class);

  public static final String PATH = "/wait/v1/namespaces/:namespace/jobs";
  public static final String CONTENT_TYPE = "application/x-ndjson";
  public static final Duration DEFAULT_HEARTBEAT = Duration.ofSeconds(15);

  /** Shared with admission, which denies a pod whose annotations exceed them. */
  static final int MAX_JOBS = WaitLimits.MAX_JOBS;

  static final int MAX_REVISION_LENGTH = WaitLimits.MAX_REVISION_LENGTH;

  /** The bodies of 401 and 503: the same whatever the cause (the cause is logged). */
  static final String UNAUTHENTICATED =
      "unauthenticated: the token is not valid for audience "
          + TokenReviewer.DEFAULT_AUDIENCE
          + "; send the pod's projected ServiceAccount token (expired, revoked, not bound to a"
          + " pod or issued for another audience: the gate's log says which)";

  static final String UNAVAILABLE = "unavailable: the gate cannot check the token right now; retry";

  static final String TOO_MANY_STREAMS =
      "too many open wait streams for this ServiceAccount; retry later";

  /** A stream ends this long before its token expires, so the waiter reconnects in time. */
  static final Duration EXPIRY_MARGIN = Duration.ofMinutes(1);

  /** After a re-check that could not be made, the next one comes this soon. */
  static final Duration REAUTH_RETRY = Duration.ofSeconds(30);

  /** Denial log lines per {@link #LOG_WINDOW}; the rest are counted in one summary line. */
  static final int LOG_BURST = 20;

  static final Duration LOG_WINDOW = Duration.ofSeconds(10);

  /**
   * First wait before a success that could not be confirmed is confirmed again; doubles to 30 s.
   */
  static final Duration CONFIRM_RETRY = Duration.ofMillis(500);

  private static final Duration MAX_CONFIRM_RETRY = Duration.ofSeconds(30);
  private static final Backoff CONFIRM_BACKOFF = new Backoff(CONFIRM_RETRY, MAX_CONFIRM_RETRY);

  /**
   * Bounds of open streams.
   *
   * @param maxStreamsPerServiceAccount open streams of one ServiceAccount; one more gets 429
   * @param reauthInterval how often an open stream's token is reviewed again
   */
  public record StreamLimits(int maxStreamsPerServiceAccount, Duration reauthInterval) {
    public static final StreamLimits DEFAULTS = new StreamLimits(64, Duration.ofMinutes(5));
  }

  /** Runs a blocking confirming read; may fail at once when its pool is full. */
  @FunctionalInterface
  public interface BlockingRunner {
    Future<Boolean> run(Callable<Boolean> task);
  }

  private final JobTracker tracker;
  private final JobTracker.CurrentRuns currentRuns;
  private final TokenReviewer reviewer;
  private final BlockingRunner blocking;
  private final Duration heartbeat;
  private final StreamLimits limits;
  private final LongSupplier epochSecond;
  private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> verdicts = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> reauthentications = new ConcurrentHashMap<>();
  private final LongAdder openStreams = new LongAdder();
  private final Map<String, AtomicInteger> streamsByIdentity = new ConcurrentHashMap<>();
  private final Throttle denials = new Throttle();

  /**
   * @param currentRuns the confirming read of a Job (blocking)
   * @param reviewWorkers where confirming reads run (never on an event loop)
   * @param heartbeat interval of heartbeat lines on an open stream (keeps proxies and the idle
   *     timeout from closing it; the waiter treats 3 missed heartbeats as a lost connection)
   */
  public WaitApi(
      JobTracker tracker,
      JobTracker.CurrentRuns currentRuns,
      TokenReviewer reviewer,
      WorkerExecutor reviewWorkers,
      Duration heartbeat) {
    this(
        tracker,
        currentRuns,
        reviewer,
        blockingOn(reviewWorkers),
        heartbeat,
        StreamLimits.DEFAULTS,
        () -> System.currentTimeMillis() / 1000);
  }

  /**
   * @param blocking where confirming reads run, bounded (never on an event loop)
   * @param limits streams per ServiceAccount and re-authentication
   * @param epochSecond the clock tokens' expiry is compared with
   */
  public WaitApi(
      JobTracker tracker,
      JobTracker.CurrentRuns currentRuns,
      TokenReviewer reviewer,
      BlockingRunner blocking,
      Duration heartbeat,
      StreamLimits limits,
      LongSupplier epochSecond) {
    this.tracker = Objects.requireNonNull(tracker, "tracker");
    this.currentRuns = Objects.requireNonNull(currentRuns, "currentRuns");
    this.reviewer = Objects.requireNonNull(reviewer, "reviewer");
    this.blocking = Objects.requireNonNull(blocking, "blocking");
    this.heartbeat = Objects.requireNonNull(heartbeat, "heartbeat");
    this.limits = Objects.requireNonNull(limits, "limits");
    this.epochSecond = Objects.requireNonNull(epochSecond, "epochSecond");
  }

  /** Confirming reads on a Vert.x worker pool. */
  public static BlockingRunner blockingOn(WorkerExecutor workers) {
    Objects.requireNonNull(workers, "workers");
    return task -> workers.executeBlocking(task, false);
  }

  /** Adds the route to one server's router (each event loop's). */
  public void register(Router router) {
    router.get(PATH).handler(this::handle);
  }

  /** One question: what a request asks, after validation. */
  record Question(String namespace, List<String> jobs, String revision) {}

  private void handle(RoutingContext ctx) {
    Question question;
    try {
      question = question(ctx);
    } catch (IllegalArgumentException e) {
      error(ctx, 400, "bad_request", e.getMessage());
      return;
    }
    String authorization = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"migrate-gate\"");
      error(
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
    Context context = Vertx.currentContext();
    CompletableFuture<TokenReviewer.Result> review;
    try {
      review = reviewer.reviewAsync(token, client, false);
    } catch (RuntimeException e) {
      review =
          CompletableFuture.completedFuture(new TokenReviewer.Result.Unavailable(e.toString()));
    }
    review.whenComplete(
        (result, failure) ->
            context.runOnContext(
                v ->
                    authorized(
                        ctx,
                        question,
                        token,
                        client,
                        failure != null
                            ? new TokenReviewer.Result.Unavailable(failure.toString())
                            : result)));
  }

  private void authorized(
      RoutingContext ctx,
      Question question,
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
      error(ctx, 401, "unauthenticated", UNAUTHENTICATED);
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
      error(ctx, 503, "unavailable", UNAVAILABLE);
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
      error(ctx, 403, "forbidden", "forbidden: " + message);
      return;
    }
    String identity = caller.identity();
    AtomicInteger streams =
        streamsByIdentity.compute(
            identity,
            (k, counter) -> {
              AtomicInteger next = counter == null ? new AtomicInteger() : counter;
              next.incrementAndGet();
              return next;
            });
    if (streams.get() > limits.maxStreamsPerServiceAccount()) {
      streamClosed(identity);
      if (denials.allow()) {
        LOG.warn(
            "wait api refused status=429 caller=\"{}\" remote={} open_streams_max={}",
            caller.describe(),
            client,
            limits.maxStreamsPerServiceAccount());
      }
      ctx.response().putHeader(HttpHeaders.RETRY_AFTER, "5");
      error(ctx, 429, "too_many_streams", TOO_MANY_STREAMS);
      return;
    }
    if (ctx.response().closed() || ctx.response().ended()) {
      // The client left while its token was reviewed: nothing will ever close this stream.
      streamClosed(identity);
      return;
    }
    new Stream(ctx, question, token, client, caller).start();
  }

  private void streamClosed(String identity) {
    streamsByIdentity.computeIfPresent(
        identity, (k, counter) -> counter.decrementAndGet() <= 0 ? null : counter);
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
   * Lets at most {@link #LOG_BURST} denial lines through per {@link #LOG_WINDOW} and sums up the
   * rest in one line: a flood of bad requests must not become a flood of log lines.
   */
  private static final class Throttle {
    private long windowStart = System.nanoTime();
    private int inWindow;
    private long suppressed;

    synchronized boolean allow() {
      long now = System.nanoTime();
      if (now - windowStart > LOG_WINDOW.toNanos()) {
        if (suppressed > 0) {
          LOG.warn(
              "wait api denials not logged count={} window={}s (rate-limited)",
              suppressed,
              LOG_WINDOW.toSeconds());
        }
        windowStart = now;
        inWindow = 0;
        suppressed = 0;
      }
      if (inWindow < LOG_BURST) {
        inWindow++;
        return true;
      }
      suppressed++;
      return false;
    }
  }

  /** One open answer: subscribed to the tracker until the verdict or the connection's end. */
  private final class Stream {
    private final RoutingContext ctx;
    private final Question question;
    private final String token;
    private final String client;
    private final TokenReviewer.Result.Authenticated caller;
    private final HttpServerResponse response;
    private final Context context;
    private final Map<String, String> sent = new HashMap<>();
    private long expiresAtEpochSecond;
    private long reauthTimer = -1;

    /** Per Job, the uid of the run this stream has seen not yet succeeded. */
    private final Map<String, String> seenUnfinished = new HashMap<>();

    private JobTracker.Subscription subscription;
    private long heartbeatTimer = -1;
    private boolean syncNoticeSent;
    private boolean finished;
    private boolean confirming;
    private boolean changedWhileConfirming;
    private int confirmAttempts;
    private boolean confirmNoticeSent;

    Stream(
        RoutingContext ctx,
        Question question,
        String token,
        String client,
        TokenReviewer.Result.Authenticated caller) {
      this.ctx = ctx;
      this.question = question;
      this.token = token;
      this.client = client;
      this.caller = caller;
      this.expiresAtEpochSecond = caller.expiresAtEpochSecond();
      this.response = ctx.response();
      this.context = Vertx.currentContext();
    }

    void start() {
      count(requests, "200");
      openStreams.increment();
      response
          .setChunked(true)
          .putHeader(HttpHeaders.CONTENT_TYPE, CONTENT_TYPE)
          .putHeader(HttpHeaders.CACHE_CONTROL, "no-store");
      response.closeHandler(v -> finish(false));
      HttpConnection connection = ctx.request().connection();
      if (connection != null) {
        // The gate is draining: end the stream so the waiter reconnects to another replica.
        connection.shutdownHandler(
            v -> {
              if (!finished) {
                write(notice("stopping", "the gate is shutting down; reconnect"));
                finish(true);
              }
            });
      }
      subscription =
          tracker.subscribe(
              question.namespace(), question.jobs(), () -> context.runOnContext(v -> update()));
      heartbeatTimer =
          ctx.vertx()
              .setPeriodic(
                  heartbeat.toMillis(),
                  id -> {
                    if (!finished) {
                      write(WaitLine.encode(new WaitLine.Heartbeat()));
                    }
                  });
      scheduleReauthentication(limits.reauthInterval());
      update();
    }

    /**
     * The next re-check of the token: after {@code interval}, but no later than {@link
     * #EXPIRY_MARGIN} before the token expires; a token that expires sooner than that ends the
     * stream at its expiry.
     */
    private void scheduleReauthentication(Duration interval) {
      if (finished) {
        return;
      }
      long delayMillis = interval.toMillis();
      if (expiresAtEpochSecond > 0) {
        long now = epochSecond.getAsLong();
        long untilMargin = expiresAtEpochSecond - EXPIRY_MARGIN.toSeconds() - now;
        delayMillis =
            untilMargin > 0
                ? Math.min(delayMillis, untilMargin * 1000)
                : Math.max(0, expiresAtEpochSecond - now) * 1000;
      }
      reauthTimer = ctx.vertx().setTimer(Math.max(1, delayMillis), id -> reauthenticate());
    }

    private void reauthenticate() {
      reauthTimer = -1;
      if (finished) {
        return;
      }
      if (expiresAtEpochSecond > 0
          && epochSecond.getAsLong() >= expiresAtEpochSecond - EXPIRY_MARGIN.toSeconds()) {
        count(reauthentications, "expiring");
        endForReauthentication("the token expires; reconnect with the current token");
        return;
      }
      CompletableFuture<TokenReviewer.Result> review;
      try {
        review = reviewer.reviewAsync(token, client, true);
      } catch (RuntimeException e) {
        review =
            CompletableFuture.completedFuture(new TokenReviewer.Result.Unavailable(e.toString()));
      }
      review.whenComplete(
          (result, failure) ->
              context.runOnContext(
                  v -> {
                    if (finished) {
                      return;
                    }
                    if (result instanceof TokenReviewer.Result.Authenticated again
                        && again.identity().equals(caller.identity())) {
                      count(reauthentications, "valid");
                      if (again.expiresAtEpochSecond() > 0) {
                        expiresAtEpochSecond = again.expiresAtEpochSecond();
                      }
                      scheduleReauthentication(limits.reauthInterval());
                    } else if (failure == null
                        && !(result instanceof TokenReviewer.Result.Unavailable)) {
                      count(reauthentications, "rejected");
                      LOG.info(
                          "wait api stream ended caller=\"{}\" namespace={} remote={}"
                              + " reason=\"{}\"",
                          caller.describe(),
                          question.namespace(),
                          client,
                          result instanceof TokenReviewer.Result.Rejected rejected
                              ? rejected.reason()
                              : "the token now belongs to another identity");
                      endForReauthentication(
                          "the token is no longer valid; reconnect with the current token");
                    } else {
                      // The API server cannot say right now: keep the stream, ask again soon
                      // (the token's own expiry still ends it in time).
                      count(reauthentications, "unavailable");
                      scheduleReauthentication(
                          REAUTH_RETRY.compareTo(limits.reauthInterval()) < 0
                              ? REAUTH_RETRY
                              : limits.reauthInterval());
                    }
                  }));
    }

    private void endForReauthentication(String message) {
      write(notice("reauthenticate", message));
      finish(true);
    }

    private void update() {
      if (finished) {
        return;
      }
      if (confirming) {
        changedWhileConfirming = true;
        return;
      }
      if (!tracker.isReady()) {
        if (!syncNoticeSent) {
          syncNoticeSent = true;
          write(
              notice("syncing", "the gate is still reading Jobs and its success ledger; waiting"));
        }
        return;
      }
      Map<String, JobLookup> answers =
          tracker.lookupAll(question.namespace(), question.jobs(), question.revision());
      JobSetVerdict verdict = JobTracker.verdictOf(answers);
      answers.forEach(
          (job, answer) -> {
            if (answer.uid() != null && answer.phase() != JobVerdict.Phase.SUCCEEDED) {
              seenUnfinished.put(job, answer.uid());
            }
          });
      if (verdict.outcome() == JobSetVerdict.Outcome.SUCCEEDED && !sawEverySuccessHappen(answers)) {
        confirm(answers);
        return;
      }
      send(answers, verdict);
    }

    /**
     * Whether this stream saw each judged run before it succeeded: then the success arrived as the
     * watch's latest news and passes as it is; otherwise it is confirmed first.
     */
    private boolean sawEverySuccessHappen(Map<String, JobLookup> answers) {
      return answers.entrySet().stream()
          .allMatch(e -> Objects.equals(seenUnfinished.get(e.getKey()), e.getValue().uid()));
    }

    /** Reads the Jobs past the tracker; the verdict goes out only if no newer run exists. */
    private void confirm(Map<String, JobLookup> answers) {
      confirming = true;
      changedWhileConfirming = false;
      Future<Boolean> read;
      try {
        read =
            blocking.run(() -> JobTracker.noNewerRun(question.namespace(), answers, currentRuns));
      } catch (RuntimeException e) {
        read = Future.failedFuture(e);
      }
      read.onComplete(
          confirmed ->
              context.runOnContext(
                  v -> {
                    confirming = false;
                    if (finished) {
                      return;
                    }
                    if (confirmed.succeeded() && confirmed.result()) {
                      send(answers, JobTracker.verdictOf(answers));
                      return;
                    }
                    notConfirmed(confirmed.failed() ? confirmed.cause() : null);
                  }));
    }

    /**
     * A newer run exists (the tracker hears of it shortly and notifies), or the read failed: look
     * again on the next change, at the latest after a growing delay.
     */
    private void notConfirmed(Throwable failure) {
      if (failure != null && !confirmNoticeSent) {
        confirmNoticeSent = true;
        LOG.warn(
            "wait api cannot confirm a success namespace={} jobs={} cause=\"{}\"; retrying",
            question.namespace(),
            String.join(",", question.jobs()),
            failure.getMessage());
        write(
            notice(
                "confirming",
                "the gate is confirming the Jobs' success with the API server; waiting"));
      }
      if (changedWhileConfirming) {
        changedWhileConfirming = false;
        update();
        return;
      }
      long delay = CONFIRM_BACKOFF.delay(++confirmAttempts).toMillis();
      ctx.vertx().setTimer(delay, id -> update());
    }

    private void send(Map<String, JobLookup> answers, JobSetVerdict verdict) {
      // Everything new goes out in one write (one TLS record): with hundreds of waiters on one
      // Job, the success is hundreds of writes at once.
      StringBuilder lines = new StringBuilder();
      answers.forEach(
          (job, answer) -> {
            String signature =
                answer.source() + "|" + answer.uid() + "|" + answer.phase() + "|" + answer.line();
            if (!signature.equals(sent.put(job, signature))) {
              lines.append(jobLine(answer)).append('\n');
            }
          });
      if (verdict.isTerminal()) {
        count(verdicts, verdict.outcome().name().toLowerCase(java.util.Locale.ROOT));
        lines.append(verdictLine(verdict, answers)).append('\n');
        // Unsubscribed before the client can see the end.
        finish(false);
        if (!response.ended() && !response.closed()) {
          response.end(lines.toString());
        }
      } else if (lines.length() > 0 && !response.ended() && !response.closed()) {
        response.write(lines.toString());
      }
    }

    private void write(String line) {
      if (!response.ended() && !response.closed()) {
        response.write(line + "\n");
      }
    }

    private void finish(boolean end) {
      if (finished) {
        return;
      }
      finished = true;
      openStreams.decrement();
      streamClosed(caller.identity());
      if (subscription != null) {
        subscription.close();
      }
      if (heartbeatTimer >= 0) {
        ctx.vertx().cancelTimer(heartbeatTimer);
      }
      if (reauthTimer >= 0) {
        ctx.vertx().cancelTimer(reauthTimer);
      }
      if (end && !response.ended() && !response.closed()) {
        response.end();
      }
    }
  }

  private static Question question(RoutingContext ctx) {
    String namespace = ctx.pathParam("namespace");
    if (!Names.isDnsLabel(namespace)) {
      throw new IllegalArgumentException(
          "namespace '" + namespace + "' is not a namespace name (a DNS label)");
    }
    List<String> values = ctx.queryParam("names");
    if (values.size() != 1 || values.get(0).isBlank()) {
      throw new IllegalArgumentException(
          "give the Jobs once as names=NAME[,NAME...], e.g. ?names=db-migrate");
    }
    LinkedHashSet<String> jobs = new LinkedHashSet<>();
    for (String element : values.get(0).split(",", -1)) {
      String job = element.strip();
      if (!Names.isJobName(job)) {
        throw new IllegalArgumentException(
            "names: '" + job + "' is not a valid Job name: " + JobReference.JOB_NAME_RULE);
      }
      jobs.add(job);
    }
    if (jobs.size() > MAX_JOBS) {
      throw new IllegalArgumentException("names: at most " + MAX_JOBS + " Jobs per request");
    }
    List<String> revisions = ctx.queryParam("revision");
    String revision = null;
    if (revisions.size() > 1) {
      throw new IllegalArgumentException("give revision at most once");
    }
    if (revisions.size() == 1) {
      revision = revisions.get(0);
      if (revision.isBlank() || revision.length() > MAX_REVISION_LENGTH) {
        throw new IllegalArgumentException(
            "revision must be 1-" + MAX_REVISION_LENGTH + " characters when given");
      }
    }
    return new Question(namespace, new ArrayList<>(jobs), revision);
  }

  private void error(RoutingContext ctx, int status, String reason, String message) {
    count(requests, Integer.toString(status));
    HttpServerResponse response = ctx.response();
    if (response.ended() || response.closed()) {
      return;
    }
    response
        .setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(WaitLine.encode(new WaitLine.Error(status, reason, message)) + "\n");
  }

  static String jobLine(JobLookup answer) {
    return WaitLine.encode(
        WaitLine.Job.of(
            answer.job(),
            answer.found(),
            answer.source().name().toLowerCase(java.util.Locale.ROOT),
            answer.uid(),
            answer.verdict(),
            answer.line()));
  }

  static String verdictLine(JobSetVerdict verdict, Map<String, JobLookup> answers) {
    return WaitLine.encode(
        verdict.decidingJob() != null
            ? new WaitLine.Verdict(
                verdict.outcome().name(), verdict.decidingJob(), verdict.decidingVerdict().line())
            : new WaitLine.Verdict(
                verdict.outcome().name(),
                null,
                "jobs " + String.join(",", answers.keySet()) + " succeeded"));
  }

  static String notice(String event, String message) {
    return WaitLine.encode(new WaitLine.Notice(event, message));
  }

  private static void count(Map<String, LongAdder> counters, String key) {
    counters.computeIfAbsent(key, k -> new LongAdder()).increment();
  }

  /** Prometheus text of the wait API's metrics (appended to the gate's /metrics). */
  public String renderMetrics() {
    PrometheusText out =
        new PrometheusText()
            .family(
                "migrate_gate_wait_requests_total", "counter", "Wait API requests, by HTTP status.")
            .countersBy("migrate_gate_wait_requests_total", "code", requests)
            .family(
                "migrate_gate_wait_verdicts_total",
                "counter",
                "Verdicts sent to waiters, by outcome.")
            .countersBy("migrate_gate_wait_verdicts_total", "outcome", verdicts)
            .gauge(
                "migrate_gate_wait_streams",
                "Open wait API streams (waiting pods).",
                openStreams.sum())
            .gauge(
                "migrate_gate_tracked_jobs",
                "Jobs in the gate's cluster-wide cache.",
                tracker.trackedJobs())
            .gauge(
                "migrate_gate_job_tracker_ready",
                "1 when Jobs and the ledger have been read.",
                tracker.isReady() ? 1 : 0)
            .gauge(
                "migrate_gate_wait_streams_per_service_account_max",
                "Most open streams of one ServiceAccount (--max-streams-per-service-account);"
                    + " one more is answered 429.",
                limits.maxStreamsPerServiceAccount())
            .gauge(
                "migrate_gate_wait_service_accounts",
                "ServiceAccounts with open streams.",
                streamsByIdentity.size())
            .gauge(
                "migrate_gate_wait_streams_busiest_service_account",
                "Open streams of the ServiceAccount with the most.",
                streamsByIdentity.values().stream().mapToInt(AtomicInteger::get).max().orElse(0))
            .family(
                "migrate_gate_wait_reauthentications_total",
                "counter",
                "Re-checks of open streams' tokens, by result: valid, rejected (stream ended),"
                    + " expiring (stream ended before the token's expiry), unavailable (kept,"
                    + " asked again soon).")
            .countersBy("migrate_gate_wait_reauthentications_total", "result", reauthentications);
    if (reviewer instanceof CachingTokenReviewer caching) {
      caching.renderMetrics(out);
    }
    return out.toString();
  }
}
