package io.migrategate.wait;

import io.migrategate.core.Backoff;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * The health of one follower's connection to where Job states come from (the API server in direct
 * mode, the gate in gate mode), as the waiter reports it: an outage is logged once ({@code
 * connection_lost} … {@code reconnected}), attempts are spaced by jittered back-off, and a 401/403
 * after access has worked is retried for {@link #DENIED_GRACE}, since a restarting server may
 * answer before its permissions or token keys are loaded. Used by both job sources, so they behave
 * alike.
 */
final class ConnectionHealth {
  static final Duration DENIED_GRACE = Duration.ofSeconds(30);

  private final Consumer<JobEvent> events;
  private final String job;
  private final String peer;
  private final String deniedPrefix;
  private final String deniedCause;
  final Backoff backoff;
  private boolean outage;
  private boolean permittedBefore;
  private long deniedSinceNanos = -1;

  /**
   * @param job the Job the notices are about, null for all of a follower's Jobs
   * @param peer what is reached, e.g. "API server" ("… reachable again")
   * @param deniedPrefix e.g. "access denied" ("… (HTTP 403) after it worked")
   * @param deniedCause e.g. "the API server is still starting" ("… in case …")
   */
  ConnectionHealth(
      Consumer<JobEvent> events,
      String job,
      String peer,
      String deniedPrefix,
      String deniedCause,
      Backoff backoff) {
    this.events = events;
    this.job = job;
    this.peer = peer;
    this.deniedPrefix = deniedPrefix;
    this.deniedCause = deniedCause;
    this.backoff = backoff;
  }

  /** Waits before the next attempt (jittered, growing while failures last). */
  void pause() throws InterruptedException {
    Thread.sleep(backoff.next().toMillis());
  }

  /** Reports the first of a run of failures; {@link #restored()} ends the run. */
  void lost(String what) {
    if (!outage) {
      outage = true;
      events.accept(new JobEvent.Notice(job, "connection_lost", what + "; retrying"));
    }
  }

  /** An answer came: access works, back-off and denial grace start over. */
  void restored() {
    backoff.reset();
    permittedBefore = true;
    deniedSinceNanos = -1;
    if (outage) {
      outage = false;
      events.accept(new JobEvent.Notice(job, "reconnected", peer + " reachable again"));
    }
  }

  /** Whether a 401/403 ends the wait now: at once if access never worked, else after the grace. */
  boolean deniedIsFinal(int status) {
    if (!permittedBefore) {
      return true;
    }
    long now = System.nanoTime();
    if (deniedSinceNanos < 0) {
      deniedSinceNanos = now;
      events.accept(
          new JobEvent.Notice(
              job,
              "denied_retrying",
              deniedPrefix
                  + " (HTTP "
                  + status
                  + ") after it worked; retrying for up to "
                  + DENIED_GRACE.toSeconds()
                  + " s in case "
                  + deniedCause));
    }
    return now - deniedSinceNanos >= DENIED_GRACE.toNanos();
  }
}
