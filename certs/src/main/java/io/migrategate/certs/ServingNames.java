package io.migrategate.certs;

import io.migrategate.core.Names;
import java.util.List;

/**
 * The DNS names under which a Kubernetes Service is reached from inside the cluster. The API server
 * calls a webhook at {@code <service>.<namespace>.svc}; the other forms cover in-cluster clients.
 */
public final class ServingNames {
  /** The cluster domain of nearly every cluster; kubelet's {@code --cluster-domain} default. */
  public static final String DEFAULT_CLUSTER_DOMAIN = "cluster.local";

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
    requireLabel("service", service, Names.isServiceName(service), "start with a letter");
    requireLabel(
        "namespace", namespace, Names.isDnsLabel(namespace), "start with a letter or digit");
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

  private static void requireLabel(String field, String value, boolean valid, String startRule) {
    if (!valid) {
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
