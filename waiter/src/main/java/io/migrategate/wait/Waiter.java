package io.migrategate.wait;

import io.migrategate.core.Durations;
import io.migrategate.core.JobSetVerdict;
import io.migrategate.core.JobVerdict;
import io.migrategate.core.JobVerdict.Phase;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The waiting loop: follows every Job of the config through a {@link JobSource}, logs each state
 * transition once, and returns the {@link Exit} as soon as the outcome is known. One thread
 * decides; the source only delivers events.
 */
final class Waiter {
  /** "Still waiting" lines: at most one per this interval. */
  static final Duration STILL_WAITING_EVERY = Duration.ofMinutes(1);

  private final WaiterConfig config;
  private final JobSource source;
  private final WaitLog log;
  private final LongSupplier nanoTime;
  private final BlockingQueue<JobEvent> events = new LinkedBlockingQueue<>();
  private final Map<String, JobState> states = new LinkedHashMap<>();

  /** What the loop knows about one Job. */
  private static final class JobState {
    String uid;

    /** The last logged line, so only transitions are logged. */
    String lastLine;

    /** The current verdict, or null while the Job is missing or unknown. */
    JobVerdict verdict;

    boolean missing;
  }

  Waiter(WaiterConfig config, JobSource source, WaitLog log, LongSupplier nanoTime) {
    this.config = config;
    this.source = source;
    this.log = log;
    this.nanoTime = nanoTime;
  }

  /** Blocks until every Job succeeded, one failed, the timeout elapsed, or access was denied. */
  Exit await() throws InterruptedException {
    long start = nanoTime.getAsLong();
    long deadline = config.timeout().map(t -> start + t.toNanos()).orElse(Long.MAX_VALUE);
    long nextStillWaiting = start + STILL_WAITING_EVERY.toNanos();
    for (String job : config.jobs()) {
      states.put(job, new JobState());
    }
    source.followAll(config.namespace(), config.jobs(), events::add);
    while (true) {
      long now = nanoTime.getAsLong();
      if (now - deadline >= 0) {
        return timeout(now - start);
      }
      if (now - nextStillWaiting >= 0) {
        log.info(
            null,
            "still_waiting",
            "still waiting, " + Durations.format(elapsed(start, now)) + " elapsed: " + summary());
        nextStillWaiting = now + STILL_WAITING_EVERY.toNanos();
      }
      long wait = Math.min(deadline - now, nextStillWaiting - now);
      JobEvent event = events.poll(Math.max(wait, 1), TimeUnit.NANOSECONDS);
      if (event == null) {
        continue;
      }
      Exit exit = handle(event, start);
      if (exit != null) {
        return exit;
      }
    }
  }

  private Exit handle(JobEvent event, long start) {
    // A null job: a notice about the source as a whole (e.g. the gate connection).
    String name = event.job() == null ? null : config.qualified(event.job());
    JobState state = states.get(event.job());
    if (event instanceof JobEvent.Observed observed) {
      return judged(
          name,
          state,
          observed.object().uid(),
          JobVerdict.of(observed.object(), config.revision()),
          start);
    }
    if (event instanceof JobEvent.Judged judged) {
      return judged(name, state, judged.uid(), judged.verdict(), start);
    }
    if (event instanceof JobEvent.Missing) {
      if (!state.missing) {
        state.missing = true;
        state.verdict = null;
        state.lastLine = null;
        log.info(
            name,
            "not_found",
            state.uid == null
                ? "not found, waiting for it to be created"
                : "deleted, waiting for it to be re-created");
      }
      return null;
    }
    if (event instanceof JobEvent.Denied denied) {
      log.error(name, "not_permitted", denied.message());
      return Exit.of(ExitCode.NOT_PERMITTED, denied.message());
    }
    JobEvent.Notice notice = (JobEvent.Notice) event;
    log.info(name, notice.event(), notice.message());
    return null;
  }

  private Exit judged(String name, JobState state, String uid, JobVerdict verdict, long start) {
    if (state.uid != null && uid != null && !uid.equals(state.uid)) {
      // A new run under the same name: whatever the old one did no longer counts.
      log.info(name, "recreated", "re-created, following the new Job", Map.of("uid", uid));
      state.lastLine = null;
    }
    state.uid = uid;
    state.missing = false;
    state.verdict = verdict;
    long now = nanoTime.getAsLong();
    if (verdict.phase() == Phase.FAILED) {
      log.error(name, "failed", verdict.line());
      return Exit.of(ExitCode.JOB_FAILED, "job " + name + " failed: " + verdict.cause());
    }
    if (verdict.phase() == Phase.SUCCEEDED) {
      log.info(
          name,
          "succeeded",
          "succeeded after "
              + Durations.format(elapsed(start, now))
              // the verdict line starts with "succeeded"; keep its detail (condition, reason)
              + verdict.line().substring("succeeded".length()),
          uid == null ? Map.of() : Map.of("uid", uid));
      Map<String, JobVerdict> verdicts = new LinkedHashMap<>();
      states.forEach((job, s) -> verdicts.put(job, s.verdict));
      if (JobSetVerdict.of(verdicts).outcome() == JobSetVerdict.Outcome.SUCCEEDED) {
        return Exit.of(
            ExitCode.SUCCEEDED,
            (states.size() == 1 ? "job " + name : "jobs " + String.join(",", states.keySet()))
                + " succeeded after "
                + Durations.format(elapsed(start, now)));
      }
      state.lastLine = verdict.line();
      return null;
    }
    if (!verdict.line().equals(state.lastLine)) {
      state.lastLine = verdict.line();
      log.info(
          name,
          verdict.phase().name().toLowerCase(java.util.Locale.ROOT),
          verdict.line(),
          uid == null ? Map.of() : Map.of("uid", uid));
    }
    return null;
  }

  private Exit timeout(long elapsedNanos) {
    String reason =
        "timed out after "
            + Durations.format(Duration.ofNanos(elapsedNanos))
            + " waiting for "
            + summary();
    log.error(null, "timeout", reason);
    return Exit.of(ExitCode.TIMEOUT, reason);
  }

  /** Where each unfinished Job stands, e.g. {@code job shop/db-migrate: running (1 active)}. */
  private String summary() {
    StringJoiner summary = new StringJoiner("; ");
    states.forEach(
        (job, state) -> {
          if (state.verdict != null && state.verdict.phase() == Phase.SUCCEEDED) {
            return;
          }
          String where;
          if (state.verdict != null) {
            where = state.verdict.line();
          } else if (state.missing) {
            where = "not found";
          } else {
            where = "no answer from the API server yet";
          }
          summary.add("job " + config.qualified(job) + " (" + where + ")");
        });
    return summary.toString();
  }

  private static Duration elapsed(long start, long now) {
    return Duration.ofNanos(now - start);
  }
}
