package io.migrategate.ledger;

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
 */
public record LedgerEntry(
    String namespace,
    String job,
    String uid,
    String revision,
    Instant createdAt,
    Instant succeededAt,
    Instant recordedAt) {

  public LedgerEntry {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(job, "job");
    Objects.requireNonNull(uid, "uid");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(recordedAt, "recordedAt");
  }

  public boolean succeeded() {
    return succeededAt != null;
  }

  /**
   * Which of two entries for the same Job name the ledger keeps: the newer run (later
   * creationTimestamp, ties broken by uid so every replica picks the same), and for the same run
   * the success over the mere sighting. Otherwise the existing one stays, so re-recording what is
   * known changes nothing (and writes nothing).
   */
  public static LedgerEntry keep(LedgerEntry existing, LedgerEntry incoming) {
    if (existing == null) {
      return incoming;
    }
    if (incoming == null) {
      return existing;
    }
    if (existing.uid.equals(incoming.uid)) {
      return !existing.succeeded() && incoming.succeeded() ? incoming : existing;
    }
    int order = incoming.createdAt.compareTo(existing.createdAt);
    if (order == 0) {
      order = incoming.uid.compareTo(existing.uid);
    }
    return order > 0 ? incoming : existing;
  }

  /** {@code namespace/job}. */
  public String qualifiedName() {
    return namespace + "/" + job;
  }
}
