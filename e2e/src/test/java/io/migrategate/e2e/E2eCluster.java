package io.migrategate.e2e;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * A cluster with a real kubelet that the end-to-end scenarios run on: the local real node (default)
 * or K3s started by Testcontainers ({@code -Pk3s}). The scenarios are the same code on both; only
 * how images get into the node and how a container's memory is read differ.
 */
interface E2eCluster {

  /** For messages: "the local real node", "K3s rancher/k3s:...". */
  String description();

  /** Admin client (do not close). */
  KubernetesClient client();

  /** Admin kubeconfig file, for kubectl and helm. */
  Path kubeconfig();

  /** Imports docker-save archives into the node's container runtime (no registry). */
  void loadImages(List<Path> archives);

  /**
   * The peak memory of a running container (the cgroup's {@code memory.max_usage_in_bytes} on
   * cgroup v1, {@code memory.peak} on v2), or empty where the node's cgroups cannot be read.
   *
   * @param containerId the container ID as the pod status gives it ({@code containerd://...})
   */
  OptionalLong peakMemoryBytes(String containerId);

  /** The one cluster of this test JVM, chosen by {@code -Dmigrategate.e2e.cluster}. */
  static E2eCluster get() {
    return Holder.get();
  }

  /** Holds the JVM's cluster. */
  final class Holder {
    private static E2eCluster cluster;

    private Holder() {}

    private static synchronized E2eCluster get() {
      if (cluster == null) {
        String kind = System.getProperty("migrategate.e2e.cluster", "real-node");
        cluster =
            switch (kind) {
              case "real-node" -> RealNodeCluster.start();
              case "k3s" -> K3sCluster.start(System.getProperty("migrategate.e2e.k3sImage"));
              default ->
                  throw new IllegalArgumentException(
                      "-Dmigrategate.e2e.cluster=" + kind + ": use real-node or k3s");
            };
      }
      return cluster;
    }
  }
}
