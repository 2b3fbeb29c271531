package io.migrategate.gate.admission;

/** The annotations the gate reads and writes (documented in docs/annotations.md). */
public final class GateAnnotations {
  /** Prefix of every gate annotation; the owner cache keeps only these. */
  public static final String PREFIX = "migrate.io/";

  /**
   * Set by the Deployment controller on a Deployment and on each of its ReplicaSets: a ReplicaSet
   * with a higher revision than the cached Deployment proves that cache entry stale.
   */
  public static final String DEPLOYMENT_REVISION = "deployment.kubernetes.io/revision";

  /** The annotations an owner lookup keeps of a workload: the gate's own and the revision. */
  public static boolean keptOnOwners(String key) {
    return key.startsWith(PREFIX) || key.equals(DEPLOYMENT_REVISION);
  }

  /** Job name or comma-separated list of Job names to wait for. */
  public static final String JOB = "migrate.io/job";

  /** {@code "false"} opts a pod or workload out; {@code "true"} is accepted and changes nothing. */
  public static final String INJECT = "migrate.io/inject";

  /** Optional revision the Job must carry in its own {@code migrate.io/revision}. */
  public static final String REVISION = "migrate.io/revision";

  /** Optional waiter timeout, e.g. {@code 10m}. */
  public static final String TIMEOUT = "migrate.io/timeout";

  /**
   * Where the waiter reads Job status: {@code gate} (the default when the gate's wait API is
   * configured: no RBAC for the pod, no API load per pod) or {@code api} (directly from the API
   * server with the pod's ServiceAccount).
   */
  public static final String SOURCE = "migrate.io/source";

  /** Written by the gate on the pod: {@code injected} or {@code skipped: <reason>}. */
  public static final String STATUS = "migrate.io/status";

  public static final String STATUS_INJECTED = "injected";

  public static String statusSkipped(String reason) {
    return "skipped: " + reason;
  }

  private GateAnnotations() {}
}
