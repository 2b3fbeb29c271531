package io.migrategate.gate.ledger;

import java.time.Instant;
import java.util.Objects;

/**
 * What the gate remembers about the latest run of one Job name: that it succeeded (so pods created
 * after the Job was deleted still start), or that a newer run exists that has not succeeded (so the
 * success of an older run under the same name never passes it).
 *
 * @param namespace the Job's namespace
 * @param job the Job's name
 * @param uid the run's uid
 * @param revision the run's {@code migrate.io/revision} annotation, or null
 * @param createdAt the run's creationTimestamp: orders runs of the same name
 * @param succeededAt when the run succeeded, or null for a newer run that has not (yet)
 * @param recordedAt when a gate recorded this; retention counts from here
 * @param referencedAt when a gated pod last asked about this Job name (admission or the wait API),
 *     or null: such entries are kept first when a shard is full ({@link LedgerShard#compact})
 * @param doubtedAt when a gate found that no gate had watched Jobs for a while after this entry was
 *     recorded (the end of that gap), or null: a newer run may have come and gone unseen, so a
 *     doubted success passes no pod until the name is seen again ({@link #doubted})
 */
public record LedgerEntry(
    String namespace,
    String job,
    String uid,
    String revision,
    Instant createdAt,
    Instant succeededAt,
    Instant recordedAt,
    Instant referencedAt,
    Instant doubtedAt) {

  public LedgerEntry {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(job, "job");
    Objects.requireNonNull(uid, "uid");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(recordedAt, "recordedAt");
  }

  /** An entry no pod has asked about yet. */
  public LedgerEntry(
      String namespace,
      String job,
      String uid,
      String revision,
      Instant createdAt,
      Instant succeededAt,
      Instant recordedAt) {
    this(namespace, job, uid, revision, createdAt, succeededAt, recordedAt, null, null);
  }

  public boolean succeeded() {
    return succeededAt != null;
  }

  /** This entry, last asked about at {@code at} (the later of the two references). */
  public LedgerEntry referenced(Instant at) {
    Instant latest = latest(referencedAt, at);
    return Objects.equals(latest, referencedAt)
        ? this
        : new LedgerEntry(
            namespace, job, uid, revision, createdAt, succeededAt, recordedAt, latest, doubtedAt);
  }

  /**
   * This entry, doubted by a gap in the gate's view of Jobs that ended at {@code gapEnd} — when it
   * was recorded before that and is not doubted already.
   */
  public LedgerEntry doubted(Instant gapEnd) {
    if (doubtedAt != null || !recordedAt.isBefore(gapEnd)) {
      return this;
    }
    return new LedgerEntry(
        namespace, job, uid, revision, createdAt, succeededAt, recordedAt, referencedAt, gapEnd);
  }

  public boolean isDoubted() {
    return doubtedAt != null;
  }

  /**
   * Which of two entries for the same Job name the ledger keeps: the newer run (later
   * creationTimestamp, ties broken by uid so every replica picks the same), and for the same run
   * the success over the mere sighting, then the later evidence where one of the two is doubted (a
   * gap's doubt outranks what was recorded before the gap; seeing the run again after the gap
   * outranks the doubt). Otherwise the existing one stays, so re-recording what is known changes
   * nothing (and writes nothing). The name's latest reference carries over: it says pods wait for
   * this name, whichever run answers them.
   */
  public static LedgerEntry keep(LedgerEntry existing, LedgerEntry incoming) {
    if (existing == null) {
      return incoming;
    }
    if (incoming == null) {
      return existing;
    }
    LedgerEntry kept;
    if (existing.uid.equals(incoming.uid)) {
      if (existing.succeeded() != incoming.succeeded()) {
        kept = incoming.succeeded() ? incoming : existing;
      } else if (existing.isDoubted() != incoming.isDoubted()) {
        kept = incoming.evidence().isAfter(existing.evidence()) ? incoming : existing;
      } else {
        kept = existing;
      }
    } else {
      int order = incoming.createdAt.compareTo(existing.createdAt);
      if (order == 0) {
        order = incoming.uid.compareTo(existing.uid);
      }
      kept = order > 0 ? incoming : existing;
    }
    Instant reference = latest(existing.referencedAt, incoming.referencedAt);
    return reference == null ? kept : kept.referenced(reference);
  }

  /** When the gate last learnt something about this run: the doubt, else the recording. */
  private Instant evidence() {
    return doubtedAt != null ? doubtedAt : recordedAt;
  }

  /** {@code namespace/job}. */
  public String qualifiedName() {
    return namespace + "/" + job;
  }

  private static Instant latest(Instant a, Instant b) {
    if (a == null) {
      return b;
    }
    if (b == null) {
      return a;
    }
    return a.isAfter(b) ? a : b;
  }
}
