package io.migrategate.waitapi;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrategate.admission.JobReference;
import io.migrategate.core.JobSetVerdict;
import io.migrategate.core.JobVerdict;
import io.migrategate.jobs.JobLookup;
import io.migrategate.jobs.JobTracker;
import io.migrategate.metrics.PrometheusText;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The wait API on the gate's HTTPS port: {@code GET /wait/v1/namespaces/{ns}/jobs?names=a,b
 * [&revision=r]} with a bearer token answers with newline-delimited JSON: each Job's state as soon
 * as it is known and whenever it changes, then the verdict, then the end of the response. Protocol,
 * authentication and semantics: docs/gate-wait-api.md.
 *
 * <p>Authentication: a ServiceAccount token for the gate's audience, checked with TokenReview
 * ({@link TokenReviewer}, cached); a token may only ask about its own namespace. No token or an
 * invalid one → 401; another namespace or a non-ServiceAccount user → 403; the review impossible →
 * 503. Tokens are never logged.
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

  /** More Jobs per pod than anyone writes; bounds the work of one request. */
  static final int MAX_JOBS = 32;

  static final int MAX_REVISION_LENGTH = 253;

  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * First wait before a success that could not be confirmed is confirmed again; doubles to 30 s.
   */
  static final Duration CONFIRM_RETRY = Duration.ofMillis(500);

  private static final Duration MAX_CONFIRM_RETRY = Duration.ofSeconds(30);

  private final JobTracker tracker;
  private final JobTracker.CurrentRuns currentRuns;
  private final TokenReviewer reviewer;
  private final WorkerExecutor reviewWorkers;
  private final Duration heartbeat;
  private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> verdicts = new ConcurrentHashMap<>();
  private final LongAdder openStreams = new LongAdder();

  /**
   * @param currentRuns the confirming read of a Job (blocking)
   * @param reviewWorkers where blocking token reviews and confirming reads run (never on an event
   *     loop)
   * @param heartbeat interval of heartbeat lines on an open stream (keeps proxies and the idle
   *     timeout from closing it; the waiter treats 3 missed heartbeats as a lost connection)
   */
  public WaitApi(
      JobTracker tracker,
      JobTracker.CurrentRuns currentRuns,
      TokenReviewer reviewer,
      WorkerExecutor reviewWorkers,
      Duration heartbeat) {
    this.tracker = Objects.requireNonNull(tracker, "tracker");
    this.currentRuns = Objects.requireNonNull(currentRuns, "currentRuns");
    this.reviewer = Objects.requireNonNull(reviewer, "reviewer");
    this.reviewWorkers = Objects.requireNonNull(reviewWorkers, "reviewWorkers");
    this.heartbeat = Objects.requireNonNull(heartbeat, "heartbeat");
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
    Context context = Vertx.currentContext();
    reviewWorkers
        .executeBlocking(() -> reviewer.review(token), false)
        .onComplete(
            reviewed ->
                context.runOnContext(
                    v -> {
                      if (reviewed.failed()) {
                        error(ctx, 503, "unavailable", "the token cannot be reviewed right now");
                        return;
                      }
                      authorized(ctx, question, reviewed.result());
                    }));
  }

  private void authorized(RoutingContext ctx, Question question, TokenReviewer.Result result) {
    if (result instanceof TokenReviewer.Result.Rejected rejected) {
      LOG.warn(
          "wait api denied status=401 namespace={} remote={} reason=\"{}\"",
          question.namespace(),
          ctx.request().remoteAddress(),
          rejected.reason());
      ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"migrate-gate\"");
      error(ctx, 401, "unauthenticated", "unauthenticated: " + rejected.reason());
      return;
    }
    if (result instanceof TokenReviewer.Result.Unavailable unavailable) {
      error(
          ctx,
          503,
          "unavailable",
          "the gate cannot check the token right now (" + unavailable.cause() + "); retry");
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
      LOG.warn(
          "wait api denied status=403 caller=\"{}\" namespace={} remote={}",
          caller.describe(),
          question.namespace(),
          ctx.request().remoteAddress());
      error(ctx, 403, "forbidden", "forbidden: " + message);
      return;
    }
    new Stream(ctx, question).start();
  }

  /** One open answer: subscribed to the tracker until the verdict or the connection's end. */
  private final class Stream {
    private final RoutingContext ctx;
    private final Question question;
    private final HttpServerResponse response;
    private final Context context;
    private final Map<String, String> sent = new HashMap<>();

    /** Per Job, the uid of the run this stream has seen not yet succeeded. */
    private final Map<String, String> seenUnfinished = new HashMap<>();

    private JobTracker.Subscription subscription;
    private long heartbeatTimer = -1;
    private boolean syncNoticeSent;
    private boolean finished;
    private boolean confirming;
    private boolean changedWhileConfirming;
    private Duration confirmRetry = CONFIRM_RETRY;
    private boolean confirmNoticeSent;

    Stream(RoutingContext ctx, Question question) {
      this.ctx = ctx;
      this.question = question;
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
                      write(line("heartbeat"));
                    }
                  });
      update();
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
      reviewWorkers
          .executeBlocking(
              () -> JobTracker.noNewerRun(question.namespace(), answers, currentRuns), false)
          .onComplete(
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
      long delay = confirmRetry.toMillis();
      Duration doubled = confirmRetry.multipliedBy(2);
      confirmRetry = doubled.compareTo(MAX_CONFIRM_RETRY) > 0 ? MAX_CONFIRM_RETRY : doubled;
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
      if (subscription != null) {
        subscription.close();
      }
      if (heartbeatTimer >= 0) {
        ctx.vertx().cancelTimer(heartbeatTimer);
      }
      if (end && !response.ended() && !response.closed()) {
        response.end();
      }
    }
  }

  private static Question question(RoutingContext ctx) {
    String namespace = ctx.pathParam("namespace");
    if (namespace == null || !DNS_LABEL.matcher(namespace).matches()) {
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
      if (!JobReference.isValidJobName(job)) {
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
    ObjectNode body = JSON.createObjectNode();
    body.put("type", "error");
    body.put("code", status);
    body.put("reason", reason);
    body.put("message", message);
    HttpServerResponse response = ctx.response();
    if (response.ended() || response.closed()) {
      return;
    }
    response
        .setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(body.toString() + "\n");
  }

  static String jobLine(JobLookup answer) {
    ObjectNode line = JSON.createObjectNode();
    line.put("type", "job");
    line.put("job", answer.job());
    line.put("found", answer.found());
    line.put("source", answer.source().name().toLowerCase(java.util.Locale.ROOT));
    if (answer.uid() != null) {
      line.put("uid", answer.uid());
    }
    if (answer.verdict() != null) {
      line.put("phase", answer.verdict().phase().name());
      if (answer.verdict().reason() != null) {
        line.put("reason", answer.verdict().reason());
      }
      if (answer.verdict().message() != null) {
        line.put("message", answer.verdict().message());
      }
    }
    line.put("line", answer.line());
    return line.toString();
  }

  static String verdictLine(JobSetVerdict verdict, Map<String, JobLookup> answers) {
    ObjectNode line = JSON.createObjectNode();
    line.put("type", "verdict");
    line.put("outcome", verdict.outcome().name());
    if (verdict.decidingJob() != null) {
      line.put("job", verdict.decidingJob());
      line.put("line", verdict.decidingVerdict().line());
    } else {
      line.put("line", "jobs " + String.join(",", answers.keySet()) + " succeeded");
    }
    return line.toString();
  }

  static String notice(String event, String message) {
    ObjectNode line = JSON.createObjectNode();
    line.put("type", "notice");
    line.put("event", event);
    line.put("message", message);
    return line.toString();
  }

  private static String line(String type) {
    return "{\"type\":\"" + type + "\"}";
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
                tracker.isReady() ? 1 : 0);
    if (reviewer instanceof CachingTokenReviewer caching) {
      out.family(
              "migrate_gate_token_reviews_total",
              "counter",
              "Token checks, by source: the API server's TokenReview or the gate's short-lived"
                  + " cache.")
          .sample(
              "migrate_gate_token_reviews_total",
              PrometheusText.label("source", "api"),
              caching.reviews())
          .sample(
              "migrate_gate_token_reviews_total",
              PrometheusText.label("source", "cache"),
              caching.hits());
    }
    return out.toString();
  }
}
