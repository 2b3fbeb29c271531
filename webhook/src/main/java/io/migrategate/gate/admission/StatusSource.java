package io.migrategate.gate.admission;

/** Where the injected waiter reads Job status ({@code migrate.io/source}). */
public enum StatusSource {
  /**
   * The gate's wait API, with a projected token of the gate's audience: the pod needs no RBAC and
   * the API server sees no request per waiting pod.
   */
  GATE,
  /** The API server, with the pod's own ServiceAccount (needs a Role to read the Jobs). */
  API
}
