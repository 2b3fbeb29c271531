package io.migrategate.e2e;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.migrategate.cluster.Tools;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

/**
 * K3s in a container (Testcontainers), for machines with Docker and a K3s image ({@code -Pk3s
 * -Dk3s.image=...}). Images are imported into K3s's containerd from the archives; no registry.
 * Where Docker or the image is missing, the run fails saying which (a skipped e2e suite would look
 * green).
 */
final class K3sCluster implements E2eCluster {
  private final K3sContainer k3s;
  private final Path kubeconfig;
  private final KubernetesClient client;
  private final String image;

  private K3sCluster(K3sContainer k3s, Path kubeconfig, String image) {
    this.k3s = k3s;
    this.kubeconfig = kubeconfig;
    this.image = image;
    this.client =
        new KubernetesClientBuilder()
            .withConfig(Config.fromKubeconfig(k3s.getKubeConfigYaml()))
            .build();
  }

  static K3sCluster start(String image) {
    if (!DockerClientFactory.instance().isDockerAvailable()) {
      throw new IllegalStateException(
          "-Pk3s needs a Docker daemon (Testcontainers found none); without one, run the"
              + " end-to-end tests on the local real node (mvn -B verify)");
    }
    K3sContainer k3s =
        new K3sContainer(DockerImageName.parse(image).asCompatibleSubstituteFor("rancher/k3s"));
    k3s.start();
    Runtime.getRuntime().addShutdownHook(new Thread(k3s::stop, "k3s-stop"));
    try {
      Path kubeconfig = Files.createTempFile("migrate-gate-k3s", ".kubeconfig");
      Files.writeString(kubeconfig, k3s.getKubeConfigYaml());
      K3sCluster cluster = new K3sCluster(k3s, kubeconfig, image);
      // The scenarios' shell image, as the real node has it (no registry here either).
      cluster.loadImages(List.of(Tools.nodeImageArchive("busybox")));
      return cluster;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public String description() {
    return "K3s " + image;
  }

  @Override
  public KubernetesClient client() {
    return client;
  }

  @Override
  public Path kubeconfig() {
    return kubeconfig;
  }

  @Override
  public void loadImages(List<Path> archives) {
    for (Path archive : archives) {
      String inContainer = "/tmp/" + archive.getFileName();
      k3s.copyFileToContainer(MountableFile.forHostPath(archive), inContainer);
      try {
        ExecResult result =
            k3s.execInContainer("ctr", "-n", "k8s.io", "images", "import", inContainer);
        if (result.getExitCode() != 0) {
          throw new IllegalStateException(
              "importing " + archive + " into K3s failed: " + result.getStderr());
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  @Override
  public OptionalLong peakMemoryBytes(String containerId) {
    return OptionalLong.empty(); // the node's cgroups are inside the K3s container: not measured
  }
}
