package io.migrategate.gate.ledger;

import java.util.Optional;

/**
 * The gate's durable memory of Job successes: survives gate restarts and is shared by replicas, so
 * a Job deleted right after it succeeded ({@code ttlSecondsAfterFinished: 0}, Helm {@code
 * hook-delete-policy: hook-succeeded}) still lets later pods start. Holds one {@link LedgerEntry}
 * per Job name: its latest known run.
 */
public interface SuccessLedger extends AutoCloseable {

  /**
   * Whether the stored entries have been read at least once; before that, absence means nothing.
   */
  boolean isLoaded();

  /** The latest known run of {@code namespace/job}, if the ledger holds one within retention. */
  Optional<LedgerEntry> find(String namespace, String job);

  /**
   * Records a run: a success, or a newer run that supersedes an older success. Applied in memory at
   * once (per {@link LedgerEntry#keep}), persisted in the background; never blocks, never throws.
   */
  void record(LedgerEntry entry);

  /**
   * A gated pod asked about {@code namespace/job}: its entry is kept before entries no pod asked
   * about when storage is full. Never blocks, never throws.
   */
  void referenced(String namespace, String job);

  /**
   * No gate watched Jobs for a while before {@code gapEnd}, and the events of that time are gone: a
   * run may have been created, failed and deleted unseen. Every success recorded before {@code
   * gapEnd} is doubted ({@link LedgerEntry#doubted}) and passes no pod until its Job is seen again.
   *
   * @return how many entries became doubted
   */
  int doubt(java.time.Instant gapEnd);

  /** Registers a listener; called from the ledger's threads. */
  void addListener(Listener listener);

  @Override
  void close();

  /** Changes a tracker reacts to. */
  interface Listener {
    /** The entry for {@code namespace/job} changed (e.g. another replica recorded a success). */
    void changed(String namespace, String job);

    /** The ledger finished its first read. */
    void loaded();
  }
}
