package io.migrategate.gate.waitapi;

import io.migrategate.core.JobSetVerdict;
import io.migrategate.core.JobVerdict;
import io.migrategate.core.WaitLine;
import io.migrategate.gate.jobs.JobLookup;
import io.migrategate.gate.jobs.JobTracker;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One open answer of the wait API, on its connection's event loop: subscribed to the Job tracker
 * until the verdict or the connection's end. It writes each Job's line when it changes, heartbeats,
 * re-checks the token on a schedule (ending with a {@code reauthenticate} notice), and confirms a
 * success it did not see happen with one read of the Job before the verdict goes out.
 */
final class WaitStream {
  private final WaitApi api;
  private final RoutingContext ctx;
  private final WaitQuestion question;
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

  WaitStream(
      WaitApi api,
      RoutingContext ctx,
      WaitQuestion question,
      String token,
      String client,
      TokenReviewer.Result.Authenticated caller) {
    this.api = api;
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
    WaitApi.count(api.requests, "200");
    api.openStreams.increment();
    response
        .setChunked(true)
        .putHeader(HttpHeaders.CONTENT_TYPE, WaitApi.CONTENT_TYPE)
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store");
    response.closeHandler(v -> finish(false));
    HttpConnection connection = ctx.request().connection();
    if (connection != null) {
      // The gate is draining: end the stream so the waiter reconnects to another replica.
      connection.shutdownHandler(
          v -> {
            if (!finished) {
              write(WaitApi.notice("stopping", "the gate is shutting down; reconnect"));
              finish(true);
            }
          });
    }
    subscription =
        api.tracker.subscribe(
            question.namespace(), question.jobs(), () -> context.runOnContext(v -> update()));
    heartbeatTimer =
        ctx.vertx()
            .setPeriodic(
                api.heartbeat.toMillis(),
                id -> {
                  if (!finished) {
                    write(WaitLine.encode(new WaitLine.Heartbeat()));
                  }
                });
    scheduleReauthentication(api.limits.reauthInterval());
    update();
  }

  /**
   * The next re-check of the token: after {@code interval}, but no later than {@link
   * WaitApi#EXPIRY_MARGIN} before the token expires; a token that expires sooner than that ends the
   * stream at its expiry.
   */
  private void scheduleReauthentication(Duration interval) {
    if (finished) {
      return;
    }
    long delayMillis = interval.toMillis();
    if (expiresAtEpochSecond > 0) {
      long now = api.epochSecond.getAsLong();
      long untilMargin = expiresAtEpochSecond - WaitApi.EXPIRY_MARGIN.toSeconds() - now;
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
        && api.epochSecond.getAsLong()
            >= expiresAtEpochSecond - WaitApi.EXPIRY_MARGIN.toSeconds()) {
      WaitApi.count(api.reauthentications, "expiring");
      endForReauthentication("the token expires; reconnect with the current token");
      return;
    }
    api.review(
        token,
        client,
        true,
        result -> {
          if (finished) {
            return;
          }
          if (result instanceof TokenReviewer.Result.Authenticated again
              && again.identity().equals(caller.identity())) {
            WaitApi.count(api.reauthentications, "valid");
            if (again.expiresAtEpochSecond() > 0) {
              expiresAtEpochSecond = again.expiresAtEpochSecond();
            }
            scheduleReauthentication(api.limits.reauthInterval());
          } else if (!(result instanceof TokenReviewer.Result.Unavailable)) {
            WaitApi.count(api.reauthentications, "rejected");
            WaitApi.LOG.info(
                "wait api stream ended caller=\"{}\" namespace={} remote={}" + " reason=\"{}\"",
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
            WaitApi.count(api.reauthentications, "unavailable");
            scheduleReauthentication(
                WaitApi.REAUTH_RETRY.compareTo(api.limits.reauthInterval()) < 0
                    ? WaitApi.REAUTH_RETRY
                    : api.limits.reauthInterval());
          }
        });
  }

  private void endForReauthentication(String message) {
    write(WaitApi.notice("reauthenticate", message));
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
    if (!api.tracker.isReady()) {
      if (!syncNoticeSent) {
        syncNoticeSent = true;
        write(
            WaitApi.notice(
                "syncing", "the gate is still reading Jobs and its success ledger; waiting"));
      }
      return;
    }
    Map<String, JobLookup> answers =
        api.tracker.lookupAll(question.namespace(), question.jobs(), question.revision());
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
          api.blocking.run(
              () -> JobTracker.noNewerRun(question.namespace(), answers, api.currentRuns));
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
      WaitApi.LOG.warn(
          "wait api cannot confirm a success namespace={} jobs={} cause=\"{}\"; retrying",
          question.namespace(),
          String.join(",", question.jobs()),
          failure.getMessage());
      write(
          WaitApi.notice(
              "confirming",
              "the gate is confirming the Jobs' success with the API server; waiting"));
    }
    if (changedWhileConfirming) {
      changedWhileConfirming = false;
      update();
      return;
    }
    long delay = WaitApi.CONFIRM_BACKOFF.delay(++confirmAttempts).toMillis();
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
            lines.append(WaitApi.jobLine(answer)).append('\n');
          }
        });
    if (verdict.isTerminal()) {
      WaitApi.count(api.verdicts, verdict.outcome().name().toLowerCase(java.util.Locale.ROOT));
      lines.append(WaitApi.verdictLine(verdict, answers)).append('\n');
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
    api.openStreams.decrement();
    api.streamClosed(caller.identity());
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
