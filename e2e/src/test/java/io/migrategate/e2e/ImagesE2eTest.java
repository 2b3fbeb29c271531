package io.migrategate.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.migrategate.cluster.BuiltImages;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterExtension;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The images as a node runs them: as UID 65532 with a read-only root file system under PodSecurity
 * "restricted", each JVM mapping its CDS archive ({@code -Xshare:on} refuses to start otherwise:
 * the waiter's own archive, dumped at build time, and the gate runtime's default one).
 */
@ExtendWith(LocalClusterExtension.class)
class ImagesE2eTest {

  @Test
  void bothImagesStartFromTheirCdsArchivesUnderRestrictedSettings() {
    E2eCluster cluster = E2eCluster.get();
    BuiltImages.Image webhook = BuiltImages.webhook();
    BuiltImages.Image waiter = BuiltImages.waiter();
    cluster.loadImages(List.of(webhook.archive(), waiter.archive()));
    try (Scene scene = new Scene(cluster, "e2e-images")) {
      Pod pod =
          new PodBuilder()
              .withNewMetadata()
              .withName("jvms")
              .endMetadata()
              .withNewSpec()
              .withRestartPolicy("Never")
              .addToContainers(
                  new ContainerBuilder()
                      .withName("waiter")
                      .withImage(waiter.reference())
                      .withImagePullPolicy("Never")
                      .withCommand(
                          "/opt/java/bin/java",
                          "@/app/waiter.jvmopts",
                          "-XX:SharedArchiveFile=/app/waiter.jsa",
                          "-Xshare:on",
                          "-jar",
                          "/app/migrate-gate-waiter.jar",
                          "--help")
                      .build(),
                  new ContainerBuilder()
                      .withName("gate")
                      .withImage(webhook.reference())
                      .withImagePullPolicy("Never")
                      .withCommand(
                          "/opt/java/bin/java", "@/app/gate.jvmopts", "-Xshare:on", "-version")
                      .build())
              .endSpec()
              .build();
      Workloads.restricted(pod.getSpec());
      pod.getSpec()
          .getContainers()
          .forEach(c -> c.getSecurityContext().setReadOnlyRootFilesystem(true));
      scene.create(pod);
      LocalCluster.await(
          "pod jvms to finish",
          Scene.POD_START,
          () -> {
            Pod current = scene.client.pods().inNamespace(scene.namespace).withName("jvms").get();
            String phase = current.getStatus() == null ? "" : current.getStatus().getPhase();
            return "Succeeded".equals(phase) || "Failed".equals(phase);
          });
      Pod done = scene.client.pods().inNamespace(scene.namespace).withName("jvms").get();
      for (ContainerStatus status : done.getStatus().getContainerStatuses()) {
        String log =
            scene
                .client
                .pods()
                .inNamespace(scene.namespace)
                .withName("jvms")
                .inContainer(status.getName())
                .getLog();
        assertEquals(
            0,
            status.getState().getTerminated().getExitCode(),
            status.getName() + " did not start from its CDS archive:\n" + log);
      }
    }
  }
}
