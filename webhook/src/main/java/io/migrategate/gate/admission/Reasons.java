package io.migrategate.gate.admission;

/**
 * The {@code reason} label values of {@link ReviewResult}; low cardinality by construction. The
 * status annotation of a skipped pod reads {@code skipped: <reason>}.
 */
public final class Reasons {
  public static final String INJECTED = "injected";

  /**
   * Every named Job already succeeded (live, or in the gate's success ledger): nothing to wait for.
   */
  public static final String JOB_SUCCEEDED = "job-succeeded";

  public static final String NOT_POD = "not-pod";
  public static final String NOT_CREATE = "not-create";
  public static final String EXCLUDED_NAMESPACE = "excluded-namespace";
  public static final String ALREADY_INJECTED = "already-injected";
  public static final String OPT_OUT = "opt-out";
  public static final String NO_ANNOTATION = "no-annotation";
  public static final String JOB_OWNED = "job-owned";
  public static final String NAMES_OWN_JOB = "names-own-job";
  public static final String OWNER_NOT_FOUND = "owner-not-found";
  public static final String OWNER_LOOKUP_FAILED = "owner-lookup-failed";
  public static final String INVALID_ANNOTATION = "invalid-annotation";
  public static final String NAME_CONFLICT = "name-conflict";

  /**
   * Denied: the pod has a container named {@code migrate-wait} that is not the one the gate injects
   * ({@link InjectedWaiter}); the name is reserved for the gate.
   */
  public static final String FOREIGN_WAITER = "foreign-waiter";

  /**
   * Denied: {@code migrate.io/inject: "false"} on a pod that only the webhook entry of namespaces
   * labelled {@code migrate.io/gate=enforced} sends (every other entry keeps opted-out pods away).
   */
  public static final String OPT_OUT_ENFORCED = "opt-out-enforced";

  /**
   * Denied: the pod uses the node's DNS resolver (hostNetwork with the default DNS policy, or
   * {@code dnsPolicy: Default}), so its waiter could never resolve the gate's Service name (gate
   * mode) and would wait forever.
   */
  public static final String NO_CLUSTER_DNS = "no-cluster-dns";

  /** Denied: a Windows pod; the waiter image is Linux-only. */
  public static final String WINDOWS_POD = "windows-pod";

  /**
   * Skipped: a mirror pod (static pod) is already running when the API server sees it, and cannot
   * mount the projected ServiceAccount token the waiter needs.
   */
  public static final String MIRROR_POD = "mirror-pod";

  /** A pod CREATE the API server would never send: no object, or no namespace. */
  public static final String MALFORMED_REQUEST = "malformed-request";

  public static final String INTERNAL_ERROR = "internal-error";

  private Reasons() {}
}
