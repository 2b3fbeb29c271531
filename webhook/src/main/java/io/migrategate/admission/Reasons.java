package io.migrategate.admission;

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

  /** A pod CREATE the API server would never send: no object, or no namespace. */
  public static final String MALFORMED_REQUEST = "malformed-request";

  public static final String INTERNAL_ERROR = "internal-error";

  private Reasons() {}
}
