package io.migrategate.gate.waitapi;

import io.migrategate.core.Backoff;
import io.migrategate.core.JobSetVerdict;
import io.migrategate.core.WaitLine;
import io.migrategate.gate.jobs.JobLookup;
import io.migrategate.gate.jobs.JobTracker;
import io.migrategate.gate.observability.PrometheusText;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
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
 *
 * <p>Its parts: {@link WaitQuestion} reads the request, {@link WaitAuthentication} decides who may
 * ask, {@link WaitStream} is one open answer; this class holds the route, the bounds, the error
 * bodies and the metrics they share.
 */
public final class WaitApi {
  static final Logger LOG = LoggerFactory.getLogger(WaitApi.class);

  public static final String PATH = "/wait/v1/namespaces/:namespace/jobs";
  public static final String CONTENT_TYPE = "application/x-ndjson";
  public static final Duration DEFAULT_HEARTBEAT = Duration.ofSeconds(15);

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
  static final Backoff CONFIRM_BACKOFF = new Backoff(CONFIRM_RETRY, MAX_CONFIRM_RETRY);

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

  final JobTracker tracker;
  final JobTracker.CurrentRuns currentRuns;
  final TokenReviewer reviewer;
  final BlockingRunner blocking;
  final Duration heartbeat;
  final StreamLimits limits;
  final LongSupplier epochSecond;
  final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
  final Map<String, LongAdder> verdicts = new ConcurrentHashMap<>();
  final Map<String, LongAdder> reauthentications = new ConcurrentHashMap<>();
  final LongAdder openStreams = new LongAdder();
  private final Map<String, AtomicInteger> streamsByIdentity = new ConcurrentHashMap<>();
  private final WaitAuthentication authentication = new WaitAuthentication(this);

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

  /** Validates the question, then authenticates the caller; a stream starts when both pass. */
  private void handle(RoutingContext ctx) {
    WaitQuestion question;
    try {
      question =
          WaitQuestion.parse(
              ctx.pathParam("namespace"), ctx.queryParam("names"), ctx.queryParam("revision"));
    } catch (IllegalArgumentException e) {
      error(ctx, 400, "bad_request", e.getMessage());
      return;
    }
    authentication.authenticate(ctx, question);
  }

  /** One more open stream of {@code identity}; false (and not counted) beyond the bound. */
  boolean streamOpened(String identity) {
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
      return false;
    }
    return true;
  }

  /**
   * Reviews {@code token} off the event loop; {@code then} runs back on the caller's context with
   * the result (a review that could not be made, or failed, is {@link
   * TokenReviewer.Result.Unavailable}).
   */
  void review(String token, String client, boolean recheck, Consumer<TokenReviewer.Result> then) {
    Context context = Vertx.currentContext();
    CompletableFuture<TokenReviewer.Result> review;
    try {
      review = reviewer.reviewAsync(token, client, recheck);
    } catch (RuntimeException e) {
      review =
          CompletableFuture.completedFuture(new TokenReviewer.Result.Unavailable(e.toString()));
    }
    review.whenComplete(
        (result, failure) ->
            context.runOnContext(
                v ->
                    then.accept(
                        failure != null
                            ? new TokenReviewer.Result.Unavailable(failure.toString())
                            : result)));
  }

  void streamClosed(String identity) {
    streamsByIdentity.computeIfPresent(
        identity, (k, counter) -> counter.decrementAndGet() <= 0 ? null : counter);
  }

  void error(RoutingContext ctx, int status, String reason, String message) {
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

  static void count(Map<String, LongAdder> counters, String key) {
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
