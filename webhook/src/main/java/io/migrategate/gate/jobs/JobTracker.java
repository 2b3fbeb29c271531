package io.migrategate.gate.jobs;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.migrategate.core.JobSetVerdict;
import io.migrategate.core.JobVerdict;
import io.migrategate.core.JobVerdict.Phase;
import io.migrategate.gate.ledger.LedgerEntry;
import io.migrategate.gate.ledger.SuccessLedger;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArraySet;

/**
 * The gate's view of every Job in the cluster, fed by one cluster-wide informer: each Job's current
 * state, its verdict ({@link JobVerdict}, the waiter's code), and the success ledger for Jobs that
 * are gone.
 *
 * <p>The rule of {@link #lookup}: a live Job always wins; without one, the ledger's entry for that
 * name answers — a success only when it is the name's latest known run, and only for the pod's
 * revision when the pod names one. A new run under a known name is recorded in the ledger as soon
 * as it is seen, so an older run's success never passes it, even after the new run is deleted.
 *
 * <p>Feed methods are called from one thread (the informer's); lookups and subscriptions from any.
 */
public final class JobTracker implements SuccessLedger.Listener {
  private final SuccessLedger ledger;
  private final Clock clock;
  private final Map<String, Job> jobs = new ConcurrentHashMap<>();
  private final Map<String, Set<Subscription>> subscribers = new ConcurrentHashMap<>();
  private final Set<Subscription> everyone = new CopyOnWriteArraySet<>();
  private volatile boolean jobsSynced;

  public JobTracker(SuccessLedger ledger, Clock clock) {
    this.ledger = Objects.requireNonNull(ledger, "ledger");
    this.clock = Objects.requireNonNull(clock, "clock");
    ledger.addListener(this);
  }

  // --- feed ------------------------------------------------------------------------------------

  /** A Job was added or changed. */
  public void upserted(Job job) {
    Job compact = CompactJobs.compact(job);
    String key = key(compact);
    if (key == null) {
      return;
    }
    Job current = jobs.get(key);
    if (current != null && isOlder(compact, current)) {
      return;
    }
    jobs.put(key, compact);
    // Generated names (schedule-suffixed): no pod waits for them by name; recording each run
    // would only churn the ledger.
    if (!CompactJobs.isCronJobRun(job)) {
      recordRun(compact);
    }
    changed(key);
  }

  /**
   * A Job was deleted; {@code lastState} is its final state from the watch event (or the last one
   * cached, when the deletion was only noticed on a relist). A success seen only here still counts:
   * {@code ttlSecondsAfterFinished: 0} deletes a Job right after it finishes.
   */
  public void deleted(Job lastState) {
    Job compact = CompactJobs.compact(lastState);
    String key = key(compact);
    if (key == null) {
      return;
    }
    if (JobVerdict.of(CompactJobs.snapshot(compact), null).phase() == Phase.SUCCEEDED
        && !CompactJobs.isCronJobRun(lastState)) {
      ledger.record(entry(compact, true));
    }
    Job current = jobs.get(key);
    if (current != null
        && Objects.equals(current.getMetadata().getUid(), compact.getMetadata().getUid())) {
      jobs.remove(key, current);
    }
    changed(key);
  }

  /**
   * A Job's state from the events no replica watched while the gate was down, replayed after the
   * first list ({@link MissedEvents}). Only the run history counts: a run seen here that no longer
   * exists still supersedes an older success (or is one); the live view, from the list, is newer
   * and stays as it is.
   */
  public void missed(Job state) {
    Job compact = CompactJobs.compact(state);
    String key = key(compact);
    if (key == null || CompactJobs.isCronJobRun(state)) {
      return;
    }
    Job live = jobs.get(key);
    if (live != null && live.getMetadata().getUid().equals(compact.getMetadata().getUid())) {
      return;
    }
    recordRun(compact);
    changed(key);
  }

  /** The informer finished its first list. */
  public void jobsSynced() {
    jobsSynced = true;
    if (isReady()) {
      everyone.forEach(Subscription::fire);
    }
  }

  @Override
  public void changed(String namespace, String job) {
    String key = namespace + "/" + job;
    // A live Job wins over the ledger: a ledger change cannot change its answer (and the live
    // Job's own update notifies anyway).
    if (!jobs.containsKey(key)) {
      changed(key);
    }
  }

  @Override
  public void loaded() {
    if (isReady()) {
      everyone.forEach(Subscription::fire);
    }
  }

  // --- questions -------------------------------------------------------------------------------

  /**
   * Whether both the Jobs and the ledger have been read: before that, "not found" means nothing.
   */
  public boolean isReady() {
    return jobsSynced && ledger.isLoaded();
  }

  /** Jobs currently known (a gauge). */
  public int trackedJobs() {
    return jobs.size();
  }

  /** Open subscriptions (a gauge: waiters being answered). */
  public int subscriptions() {
    return everyone.size();
  }

  /**
   * The answer for one Job name.
   *
   * @param revision the pod's {@code migrate.io/revision}, or null/blank to accept any run
   */
  public JobLookup lookup(String namespace, String name, String revision) {
    // A gated pod asks about this name: its ledger entry outranks unrelated Jobs' entries.
    ledger.referenced(namespace, name);
    Job live = jobs.get(namespace + "/" + name);
    if (live != null) {
      JobVerdict verdict = JobVerdict.of(CompactJobs.snapshot(live), revision);
      return new JobLookup(
          name, JobLookup.Source.LIVE, live.getMetadata().getUid(), verdict, verdict.line());
    }
    Optional<LedgerEntry> recorded = ledger.find(namespace, name);
    if (recorded.isEmpty()) {
      return new JobLookup(name, JobLookup.Source.NONE, null, null, "not found");
    }
    LedgerEntry entry = recorded.get();
    if (entry.succeeded() && entry.isDoubted()) {
      return new JobLookup(
          name,
          JobLookup.Source.NONE,
          null,
          null,
          "not found (its run "
              + entry.uid()
              + " succeeded, but no gate watched Jobs for a while before "
              + entry.doubtedAt()
              + ": a newer run may have failed unseen, so that success passes no pod; run the"
              + " Job again)");
    }
    if (!entry.succeeded()) {
      return new JobLookup(
          name,
          JobLookup.Source.NONE,
          null,
          null,
          "not found (its latest run, uid " + entry.uid() + ", was deleted before it succeeded)");
    }
    boolean revisionWanted = revision != null && !revision.isBlank();
    if (revisionWanted && !revision.equals(entry.revision())) {
      String found = entry.revision() == null ? "no revision" : "revision " + entry.revision();
      String line =
          "a different run ("
              + found
              + " succeeded and was deleted, expecting "
              + revision
              + ") — waiting";
      return new JobLookup(
          name,
          JobLookup.Source.LEDGER,
          entry.uid(),
          new JobVerdict(Phase.OTHER_REVISION, line, null, null),
          line);
    }
    // Starts with "succeeded", like every success line of JobVerdict.
    String line =
        "succeeded (recorded by the gate at "
            + entry.succeededAt()
            + (entry.revision() == null ? "" : ", revision " + entry.revision())
            + "; the Job was deleted since)";
    return new JobLookup(
        name,
        JobLookup.Source.LEDGER,
        entry.uid(),
        new JobVerdict(Phase.SUCCEEDED, line, "RecordedSuccess", null),
        line);
  }

  /** The answers for several names, in the given order. */
  public Map<String, JobLookup> lookupAll(
      String namespace, Collection<String> names, String revision) {
    Map<String, JobLookup> answers = new LinkedHashMap<>();
    for (String name : names) {
      answers.put(name, lookup(namespace, name, revision));
    }
    return answers;
  }

  /**
   * The answers when the tracker is ready and every named Job succeeded (live or recorded) for the
   * revision, by the waiter's rule; empty otherwise. Read from memory: before a pod passes on it,
   * {@link #noNewerRun} confirms it with the API server.
   */
  public Optional<Map<String, JobLookup>> successes(
      String namespace, Collection<String> names, String revision) {
    if (!isReady()) {
      return Optional.empty();
    }
    Map<String, JobLookup> answers = lookupAll(namespace, names, revision);
    return verdictOf(answers).outcome() == JobSetVerdict.Outcome.SUCCEEDED
        ? Optional.of(answers)
        : Optional.empty();
  }

  /** Whether {@link #successes} has an answer. */
  public boolean allSucceeded(String namespace, List<String> names, String revision) {
    return successes(namespace, names, revision).isPresent();
  }

  /** Which run of a Job exists in the API server right now, read past the informer (blocking). */
  @FunctionalInterface
  public interface CurrentRuns {
    /**
     * @return the uid of the Job of that name now, or empty when there is none
     * @throws RuntimeException when the API server cannot say
     */
    Optional<String> uidOf(String namespace, String name);
  }

  /**
   * Whether successes answered from memory still stand: for every Job, the API server now holds the
   * run that was judged, or no run at all (deleted after it succeeded). The informer is a moment
   * behind the API server: a Job deleted and created again under the same name (a re-run after
   * {@code ttlSecondsAfterFinished}, Helm's {@code hook-delete-policy}, or {@code kubectl delete;
   * kubectl apply}) can exist before its watch event arrives, and the older run's success must not
   * pass a pod that the newer run gates. One read per Job, so only where a pod would pass on a
   * success it was not already waiting for.
   *
   * @throws RuntimeException when the API server cannot say (the caller does not pass the pod)
   */
  public static boolean noNewerRun(
      String namespace, Map<String, JobLookup> answers, CurrentRuns now) {
    for (JobLookup answer : answers.values()) {
      Optional<String> current = now.uidOf(namespace, answer.job());
      if (current.isPresent() && !current.get().equals(answer.uid())) {
        return false;
      }
    }
    return true;
  }

  /** The pod's verdict over its Jobs: the waiter's rule ({@link JobSetVerdict}). */
  public static JobSetVerdict verdictOf(Map<String, JobLookup> answers) {
    Map<String, JobVerdict> verdicts = new LinkedHashMap<>();
    answers.forEach((name, answer) -> verdicts.put(name, answer.verdict()));
    return JobSetVerdict.of(verdicts);
  }

  /**
   * Calls {@code onChange} whenever anything about one of the names may have changed (and when the
   * tracker becomes ready), from the tracker's threads: it must hand off, not block. Close the
   * subscription to stop.
   */
  public Subscription subscribe(String namespace, Collection<String> names, Runnable onChange) {
    List<String> keys = new ArrayList<>();
    for (String name : names) {
      keys.add(namespace + "/" + name);
    }
    Subscription subscription = new Subscription(keys, onChange);
    for (String key : keys) {
      subscribers.computeIfAbsent(key, k -> new CopyOnWriteArraySet<>()).add(subscription);
    }
    everyone.add(subscription);
    return subscription;
  }

  /** One subscriber's registration. */
  public final class Subscription implements AutoCloseable {
    private final List<String> keys;
    private final Runnable onChange;

    private Subscription(List<String> keys, Runnable onChange) {
      this.keys = keys;
      this.onChange = onChange;
    }

    private void fire() {
      onChange.run();
    }

    @Override
    public void close() {
      everyone.remove(this);
      for (String key : keys) {
        subscribers.computeIfPresent(
            key,
            (k, set) -> {
              set.remove(this);
              return set.isEmpty() ? null : set;
            });
      }
    }
  }

  private void changed(String key) {
    Set<Subscription> interested = subscribers.get(key);
    if (interested != null) {
      interested.forEach(Subscription::fire);
    }
  }

  /**
   * What a run tells the ledger: its success; or, when an older run of the name is on record, that
   * a newer one exists, so the old success passes no one from now on, even once this run is deleted
   * ({@link LedgerEntry#keep} orders runs by creation: an older run's state changes nothing).
   */
  private void recordRun(Job compact) {
    if (JobVerdict.of(CompactJobs.snapshot(compact), null).phase() == Phase.SUCCEEDED) {
      ledger.record(entry(compact, true));
      return;
    }
    Optional<LedgerEntry> known =
        ledger.find(compact.getMetadata().getNamespace(), compact.getMetadata().getName());
    if (known.isPresent() && !known.get().uid().equals(compact.getMetadata().getUid())) {
      ledger.record(entry(compact, false));
    }
  }

  private LedgerEntry entry(Job job, boolean succeeded) {
    Instant now = clock.instant();
    String revision =
        job.getMetadata().getAnnotations() == null
            ? null
            : job.getMetadata().getAnnotations().get(JobVerdict.REVISION_ANNOTATION);
    return new LedgerEntry(
        job.getMetadata().getNamespace(),
        job.getMetadata().getName(),
        job.getMetadata().getUid(),
        revision,
        instant(job.getMetadata().getCreationTimestamp()).orElse(now),
        succeeded ? successTime(job).orElse(now) : null,
        now);
  }

  /** When the deciding success condition turned true, else the completion time. */
  private static Optional<Instant> successTime(Job job) {
    if (job.getStatus() == null) {
      return Optional.empty();
    }
    List<JobCondition> conditions =
        job.getStatus().getConditions() == null ? List.of() : job.getStatus().getConditions();
    for (String type : List.of("Complete", "SuccessCriteriaMet")) {
      for (JobCondition condition : conditions) {
        if (type.equals(condition.getType()) && "True".equalsIgnoreCase(condition.getStatus())) {
          Optional<Instant> time = instant(condition.getLastTransitionTime());
          if (time.isPresent()) {
            return time;
          }
        }
      }
    }
    return instant(job.getStatus().getCompletionTime());
  }

  private static Optional<Instant> instant(String timestamp) {
    if (timestamp == null || timestamp.isBlank()) {
      return Optional.empty();
    }
    try {
      return Optional.of(Instant.parse(timestamp));
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  /**
   * Whether {@code incoming} is an older state of the same Job than {@code current}: the tracker is
   * fed from the informer's store at sync and from its handler, which may deliver older states
   * afterwards. resourceVersions are compared as numbers when both are (etcd revisions, as every
   * API server in practice gives them), else not at all.
   */
  private static boolean isOlder(Job incoming, Job current) {
    if (!Objects.equals(incoming.getMetadata().getUid(), current.getMetadata().getUid())) {
      return false;
    }
    try {
      return Long.parseLong(incoming.getMetadata().getResourceVersion())
          < Long.parseLong(current.getMetadata().getResourceVersion());
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static String key(Job job) {
    if (job.getMetadata() == null
        || job.getMetadata().getNamespace() == null
        || job.getMetadata().getName() == null
        || job.getMetadata().getUid() == null) {
      return null;
    }
    return job.getMetadata().getNamespace() + "/" + job.getMetadata().getName();
  }
}
