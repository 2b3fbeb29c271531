package io.migrategate.e2e;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.cluster.LocalCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * The local cluster with its real node (kubelet, containerd, runc, CNI, kube-proxy, CoreDNS on this
 * machine: local-cluster/README.md), started by the first test that needs it unless already
 * running.
 */
final class RealNodeCluster implements E2eCluster {
  private static final Path MEMORY_CGROUPS = Path.of("/sys/fs/cgroup/memory/kubepods");
  private static final Path UNIFIED_CGROUPS = Path.of("/sys/fs/cgroup/kubepods");

  private final LocalCluster cluster;

  private RealNodeCluster(LocalCluster cluster) {
    this.cluster = cluster;
  }

  static RealNodeCluster start() {
    return new RealNodeCluster(LocalCluster.realNode());
  }

  @Override
  public String description() {
    return "the local real node";
  }

  @Override
  public KubernetesClient client() {
    return cluster.client();
  }

  @Override
  public Path kubeconfig() {
    return cluster.kubeconfig();
  }

  @Override
  public void loadImages(List<Path> archives) {
    cluster.loadImages(archives.toArray(Path[]::new));
  }

  @Override
  public OptionalLong peakMemoryBytes(String containerId) {
    String id = containerId.substring(containerId.indexOf("://") + 3);
    for (Path root : List.of(MEMORY_CGROUPS, UNIFIED_CGROUPS)) {
      if (!Files.isDirectory(root)) {
        continue;
      }
      try (Stream<Path> dirs = Files.walk(root, 4)) {
        Path dir = dirs.filter(d -> d.getFileName().toString().equals(id)).findFirst().orElse(null);
        if (dir == null) {
          continue;
        }
        for (String file : List.of("memory.max_usage_in_bytes", "memory.peak")) {
          Path value = dir.resolve(file);
          if (Files.isReadable(value)) {
            return OptionalLong.of(Long.parseLong(Files.readString(value).strip()));
          }
        }
      } catch (IOException | java.io.UncheckedIOException | NumberFormatException e) {
        return OptionalLong.empty(); // the container ended while we read: no figure this time
      }
    }
    return OptionalLong.empty();
  }
}
