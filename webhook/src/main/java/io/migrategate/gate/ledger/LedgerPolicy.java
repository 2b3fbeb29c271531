package io.migrategate.gate.ledger;

import java.time.Duration;

/**
 * How much the ledger keeps.
 *
 * @param retention entries recorded longer ago are dropped (a pod created after that waits for the
 *     Job again, as without the ledger)
 * @param maxEntriesPerNamespace newest entries kept per namespace; the oldest go first
 */
public record LedgerPolicy(Duration retention, int maxEntriesPerNamespace) {

  public static final Duration DEFAULT_RETENTION = Duration.ofDays(30);

  /**
   * One ConfigMap per namespace must stay under the API's 1 MiB object limit. A typical entry takes
   * ~250 bytes (name, uid, a commit-hash revision, three timestamps), so 1000 entries use a quarter
   * of it; {@link LedgerShard#MAX_DATA_BYTES} guards against unusually long revisions.
   */
  public static final int DEFAULT_MAX_ENTRIES_PER_NAMESPACE = 1000;

  /** Hard cap whatever the configuration says: keeps one shard well under 1 MiB. */
  public static final int MAX_ENTRIES_PER_NAMESPACE = 2000;

  public LedgerPolicy {
    if (retention.isNegative() || retention.isZero()) {
      throw new IllegalArgumentException("the ledger retention must be positive, got " + retention);
    }
    if (maxEntriesPerNamespace < 1 || maxEntriesPerNamespace > MAX_ENTRIES_PER_NAMESPACE) {
      throw new IllegalArgumentException(
          "the ledger keeps 1 to "
              + MAX_ENTRIES_PER_NAMESPACE
              + " entries per namespace, got "
              + maxEntriesPerNamespace);
    }
  }

  public static LedgerPolicy defaults() {
    return new LedgerPolicy(DEFAULT_RETENTION, DEFAULT_MAX_ENTRIES_PER_NAMESPACE);
  }
}
