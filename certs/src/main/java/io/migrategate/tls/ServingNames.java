package io.migrategate.tls;

import java.util.List;
import java.util.regex.Pattern;

/**
 * The DNS names under which a Kubernetes Service is reached from inside the cluster. The API server
 * calls a webhook at {@code <service>.<namespace>.svc}; the other forms cover in-cluster clients.
 */
public final class ServingNames {
  /** The cluster domain of nearly every cluster; kubelet's {@code --cluster-domain} default. */
  public static final String DEFAULT_CLUSTER_DOMAIN = "cluster.local";

  // Service names are DNS-1035 labels (must start with a letter); namespaces are DNS-1123 labels.
  private static final Pattern DNS_1035_LABEL = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern DNS_1123_LABEL =
      Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  private ServingNames() {}

  /**
   * {@code svc}, {@code svc.ns}, {@code svc.ns.svc}, {@code svc.ns.svc.cluster.local}.
   *
   * @throws IllegalArgumentException naming the field when service or namespace is not a valid name
   */
  public static List<String> forService(String service, String namespace) {
    return forService(service, namespace, DEFAULT_CLUSTER_DOMAIN);
  }

  /** As {@link #forService(String, String)} for a cluster with a non-default cluster domain. */
  public static List<String> forService(String service, String namespace, String clusterDomain) {
    requireLabel("service", service, DNS_1035_LABEL, "start with a letter");
    requireLabel("namespace", namespace, DNS_1123_LABEL, "start with a letter or digit");
    if (clusterDomain == null
        || !DnsNames.isValid(clusterDomain)
        || clusterDomain.startsWith("*")) {
      throw new IllegalArgumentException(
          "cluster domain '"
              + clusterDomain
              + "' is not a valid DNS name; the default is cluster.local");
    }
    String inCluster = service + "." + namespace + ".svc";
    return List.of(service, service + "." + namespace, inCluster, inCluster + "." + clusterDomain);
  }

  private static void requireLabel(String field, String value, Pattern label, String startRule) {
    if (value == null || !label.matcher(value).matches()) {
      throw new IllegalArgumentException(
          field
              + " name '"
              + value
              + "' is not a valid Kubernetes "
              + field
              + " name: use at most 63 lower-case letters, digits and '-', "
              + startRule
              + " and end with a letter or digit");
    }
  }
}
