package io.migrategate.gate.admission;

/**
 * Reads the metadata of a pod's owning workload. Implementations answer from a cache when they can
 * and ask the API server otherwise; they never throw, a lookup they cannot make is {@link
 * LookupResult.Failed}.
 */
public interface OwnerLookup {

  /**
   * Metadata of the object {@code owner} names, in {@code namespace}.
   *
   * @throws WouldBlockException when the answer needs the API server and the caller is on an event
   *     loop; the caller asks again from a worker thread
   */
  LookupResult lookup(String namespace, OwnerRef owner);

  /**
   * As {@link #lookup}, but never from a cache: for when a cached answer is known to be stale.
   *
   * @throws WouldBlockException as {@link #lookup}
   */
  default LookupResult lookupFresh(String namespace, OwnerRef owner) {
    return lookup(namespace, owner);
  }

  /** For a gate started without API access: every lookup fails, reviews follow the policy. */
  static OwnerLookup unavailable(String why) {
    return (namespace, owner) -> new LookupResult.Failed(why);
  }
}
