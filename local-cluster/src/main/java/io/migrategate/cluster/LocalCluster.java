package io.migrategate.cluster;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * A real local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok)
 * started by {@code local-cluster/up}. One per JVM: {@link #shared()} reuses a control plane that
 * is already running (for example one started by {@code .ci/run}) and otherwise starts one and
 * stops it when the JVM exits.
 */
public final class LocalCluster {

  /** The control plane of this test run, started on first use. */
  public static synchronized LocalCluster shared() {
    throw new UnsupportedOperationException("not yet implemented");
  }

  /** Admin kubeconfig file. */
  public Path kubeconfig() {
    throw new UnsupportedOperationException();
  }

  /** A fabric8 client with cluster-admin rights, shared; do not close it. */
  public KubernetesClient client() {
    throw new UnsupportedOperationException();
  }

  /** Creates a namespace with a unique name starting with {@code prefix}, with the given labels. */
  public String createNamespace(String prefix, Map<String, String> labels) {
    throw new UnsupportedOperationException();
  }

  /** Stops and starts kube-apiserver on the same port, returns when it is ready again. */
  public void restartApiServer() {
    throw new UnsupportedOperationException();
  }

  /** The folder holding kubectl, kube-apiserver, etcd, ... of the cached build. */
  public Path binDir() {
    throw new UnsupportedOperationException();
  }

  /**
   * Log file of one component (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
   * kwok).
   */
  public Path logFile(String component) {
    throw new UnsupportedOperationException();
  }

  /** Waits for a condition with a deadline, failing with {@code description} on timeout. */
  public static void await(
      String description, Duration timeout, java.util.function.BooleanSupplier condition) {
    throw new UnsupportedOperationException();
  }
}
