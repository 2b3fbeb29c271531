package io.migrategate.core;

import java.util.regex.Pattern;

/**
 * The Kubernetes name rules every module checks, once: namespaces (DNS-1123 labels), Job names
 * (DNS-1123 subdomains that also fit a label value), DNS names of certificates. Each rule comes
 * with its wording, so an error message anywhere states it the same way.
 */
public final class Names {
  /** DNS-1123 label: what the API server accepts as a namespace or Service name. */
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  /** DNS-1035 label: a Service name (starts with a letter). */
  private static final Pattern DNS_1035_LABEL = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");

  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  /**
   * The longest Job name that works. The API server validates Job names as DNS-1123 subdomains (253
   * characters), but it also copies the name into the {@code batch.kubernetes.io/job-name} label of
   * the Job's pod template, and label values stop at 63 characters, so a longer Job can never be
   * created.
   */
  public static final int MAX_JOB_NAME_LENGTH = 63;

  public static final String DNS_LABEL_RULE =
      "a DNS-1123 label: 1-63 lower-case letters, digits and '-', starting and ending with a letter"
          + " or digit";

  public static final String JOB_NAME_RULE =
      "1-63 characters of lowercase letters, digits, '-' and '.', starting and ending with a letter"
          + " or digit (a DNS-1123 subdomain of at most 63 characters: the Job controller copies"
          + " the name into a label)";

  private Names() {}

  /** A namespace (or Service, or other DNS-1123 label) name. */
  public static boolean isDnsLabel(String value) {
    return value != null && DNS_LABEL.matcher(value).matches();
  }

  /**
   * A name the API server would accept for a Job that can also be created: see {@link
   * #MAX_JOB_NAME_LENGTH}.
   */
  public static boolean isJobName(String value) {
    return value != null
        && value.length() <= MAX_JOB_NAME_LENGTH
        && DNS_SUBDOMAIN.matcher(value).matches();
  }

  /** A Service name: a DNS-1035 label (like a namespace, but starting with a letter). */
  public static boolean isServiceName(String value) {
    return value != null && DNS_1035_LABEL.matcher(value).matches();
  }

  /** A DNS-1123 subdomain of at most 253 characters (ConfigMap, Secret, webhook names). */
  public static boolean isDnsSubdomain(String value) {
    return value != null && value.length() <= 253 && DNS_SUBDOMAIN.matcher(value).matches();
  }
}
