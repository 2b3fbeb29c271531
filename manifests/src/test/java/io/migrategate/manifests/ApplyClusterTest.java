package io.migrategate.manifests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The kustomize base and the rendered chart, applied with server-side apply to the real control
 * plane: every object is accepted (CEL matchConditions compile, PodSecurity "restricted" admits the
 * gate's pods), and applying them again, as GitOps does, keeps what the gate wrote (the caBundle,
 * the CA).
 */
@LocalClusterTest
class ApplyClusterTest {
  private static final String FIELD_MANAGER = "migrate-gate-install";

  /** What the gate writes, under its own field manager, as self-managed TLS does. */
  private static final String GATE_FIELD_MANAGER = "migrate-gate-tls";

  @Test
  void kustomizeBaseAppliesServerSideAndReapplyingKeepsWhatTheGateWrote(LocalCluster cluster) {
    try (ClusterScene scene = new ClusterScene(cluster)) {
      String namespace = "mg-apply-" + scene.id;
      Overlay applied = scopedBase(scene, "apply", namespace);
      String overlay = applied.dir();
      Rendered rendered = applied.rendered();

      scene
          .kubectl(
              null, "apply", "--server-side", "--field-manager=" + FIELD_MANAGER, "-k", overlay)
          .requireSuccess();
      assertAppliedAndRunning(scene, rendered, namespace);
      assertReapplyKeepsWhatTheGateWrote(
          scene,
          namespace,
          "migrate-gate-" + scene.id,
          "migrate-gate-ca-" + scene.id,
          () ->
              scene
                  .kubectl(
                      null,
                      "apply",
                      "--server-side",
                      "--field-manager=" + FIELD_MANAGER,
                      "-k",
                      overlay)
                  .requireSuccess());

      // The base's webhook configuration exactly as shipped (its name, its selectors): accepted
      // by the API server's validation and admission, not stored.
      Rendered shipped =
          Rendered.kustomize(scene.tools, "base")
              .filter(o -> Rendered.kind(o).equals("MutatingWebhookConfiguration"));
      scene
          .kubectl(shipped.toYaml(), "apply", "--server-side", "--dry-run=server", "-f", "-")
          .requireSuccess();
    }
  }

  /**
   * The OpenShift component leaves the gate's UID to the platform: its namespace still enforces
   * PodSecurity "restricted" and the ReplicaSet can create the gate's pods (runAsNonRoot, no UID).
   */
  @Test
  void withThePlatformsUidTheGatesPodsStillMeetRestricted(LocalCluster cluster) {
    try (ClusterScene scene = new ClusterScene(cluster)) {
      String namespace = "mg-uid-" + scene.id;
      Overlay overlay = scopedBase(scene, "uid", namespace, "openshift");
      scene.kubectl(null, "apply", "--server-side", "-k", overlay.dir()).requireSuccess();
      assertAppliedAndRunning(scene, overlay.rendered(), namespace);
    }
  }

  /**
   * The host-network component: PodSecurity admits the gate's host-network pods because its
   * namespace enforces "privileged" (no other level allows host networking).
   */
  @Test
  void onTheHostNetworkTheGatesPodsAreAdmitted(LocalCluster cluster) {
    try (ClusterScene scene = new ClusterScene(cluster)) {
      String namespace = "mg-hostnet-" + scene.id;
      Overlay overlay = scopedBase(scene, "hostnet", namespace, "host-network");
      scene.kubectl(null, "apply", "--server-side", "-k", overlay.dir()).requireSuccess();
      assertAppliedAndRunning(scene, overlay.rendered(), namespace);
      for (var pod :
          scene
              .admin
              .pods()
              .inNamespace(namespace)
              .withLabel("app.kubernetes.io/component", "webhook")
              .list()
              .getItems()) {
        assertEquals(Boolean.TRUE, pod.getSpec().getHostNetwork(), pod.getMetadata().getName());
        assertEquals(
            List.of(8443, 8444, 8080),
            pod.getSpec().getContainers().get(0).getPorts().stream()
                .map(p -> p.getHostPort())
                .toList(),
            "the API server declares the host ports the scheduler keeps apart");
      }
    }
  }

  @Test
  void helmChartAppliesServerSideAndReapplyingKeepsWhatTheGateWrote(LocalCluster cluster) {
    try (ClusterScene scene = new ClusterScene(cluster)) {
      String release = "mg-" + scene.id;
      String namespace = "mg-helm-" + scene.id;
      Rendered rendered =
          Rendered.helm(
              scene.tools,
              release,
              namespace,
              "--set",
              "namespace.create=true",
              "--set-json",
              "webhook.namespaceSelectorExpressions=[" + scene.scopeExpressionJson() + "]");
      String yaml = rendered.toYaml();
      scene.onClose(() -> scene.kubectl(yaml, "delete", "-f", "-", "--wait=false"));

      scene
          .kubectl(yaml, "apply", "--server-side", "--field-manager=" + FIELD_MANAGER, "-f", "-")
          .requireSuccess();
      String fullname = release + "-migrate-gate";
      assertAppliedAndRunning(scene, rendered, namespace);
      assertReapplyKeepsWhatTheGateWrote(
          scene,
          namespace,
          fullname,
          fullname + "-ca",
          () ->
              scene
                  .kubectl(
                      yaml, "apply", "--server-side", "--field-manager=" + FIELD_MANAGER, "-f", "-")
                  .requireSuccess());
    }
  }

  /** A kustomization under manifests/target and what kubectl kustomize renders of it. */
  private record Overlay(String dir, Rendered rendered) {}

  /**
   * The base with these components (names under manifests/components), in a namespace and with
   * names of this test's own, its webhooks limited to this test's namespaces (of which there are
   * none): the control plane is shared. Deleted when the scene closes.
   */
  private static Overlay scopedBase(
      ClusterScene scene, String name, String namespace, String... components) {
    List<String> lines = new ArrayList<>(List.of("resources: [../../../base]"));
    if (components.length > 0) {
      lines.add(
          Arrays.stream(components)
              .map(c -> "../../../components/" + c)
              .collect(Collectors.joining(", ", "components: [", "]")));
    }
    lines.addAll(
        List.of(
            "namespace: " + namespace,
            "nameSuffix: -" + scene.id,
            "patches:",
            "  - target: {kind: MutatingWebhookConfiguration}",
            "    patch: |-",
            scene.scopePatch(3)));
    String dir = scene.overlay(name, String.join("\n", lines)).toString();
    scene.onClose(() -> scene.kubectl(null, "delete", "-k", dir, "--wait=false"));
    return new Overlay(
        dir, Rendered.kustomize(scene.tools, "target/kustomize-test/" + name + "-" + scene.id));
  }

  private static void assertAppliedAndRunning(
      ClusterScene scene, Rendered rendered, String namespace) {
    for (ObjectNode object : rendered.objects) {
      String apiVersion = object.path("apiVersion").asText();
      var resources = scene.admin.genericKubernetesResources(apiVersion, Rendered.kind(object));
      String objectNamespace = Rendered.namespace(object);
      GenericKubernetesResource stored =
          objectNamespace.isEmpty()
              ? resources.withName(Rendered.name(object)).get()
              : resources.inNamespace(objectNamespace).withName(Rendered.name(object)).get();
      assertNotNull(stored, Rendered.key(object) + " exists after apply");
    }
    // The namespace enforces PodSecurity "restricted" (or "privileged" on the host network): the
    // ReplicaSet can only create the gate's pods if their spec meets it. (kwok runs no containers;
    // the pods exist, nothing listens.)
    LocalCluster.await(
        "the gate's 2 pods created in " + namespace + " (restricted)",
        ClusterScene.WAIT,
        () ->
            scene
                    .admin
                    .pods()
                    .inNamespace(namespace)
                    .withLabel("app.kubernetes.io/component", "webhook")
                    .list()
                    .getItems()
                    .size()
                == 2);
    assertEquals(
        List.of(),
        scene.admin.v1().events().inNamespace(namespace).list().getItems().stream()
            .filter(e -> "FailedCreate".equals(e.getReason()))
            .map(e -> e.getMessage())
            .toList(),
        "no pod of the gate was refused");
  }

  /**
   * The gate writes the caBundle (JSON patch, its own field manager) and fills the CA Secret
   * (update); the install tool applies the manifests again: no conflict, and both stay.
   */
  private static void assertReapplyKeepsWhatTheGateWrote(
      ClusterScene scene,
      String namespace,
      String webhookConfiguration,
      String caSecret,
      Runnable reapply) {
    String bundle = Base64.getEncoder().encodeToString("ca".getBytes(StandardCharsets.US_ASCII));
    var webhooks = scene.admin.admissionRegistration().v1().mutatingWebhookConfigurations();
    int entries = webhooks.withName(webhookConfiguration).get().getWebhooks().size();
    StringBuilder patch = new StringBuilder("[");
    for (int i = 0; i < entries; i++) {
      patch
          .append(i == 0 ? "" : ",")
          .append("{\"op\":\"add\",\"path\":\"/webhooks/")
          .append(i)
          .append("/clientConfig/caBundle\",\"value\":\"")
          .append(bundle)
          .append("\"}");
    }
    patch.append(']');
    webhooks
        .withName(webhookConfiguration)
        .patch(
            new PatchContext.Builder()
                .withPatchType(PatchType.JSON)
                .withFieldManager(GATE_FIELD_MANAGER)
                .build(),
            patch.toString());
    Secret secret = scene.admin.secrets().inNamespace(namespace).withName(caSecret).get();
    scene
        .admin
        .secrets()
        .inNamespace(namespace)
        .resource(new SecretBuilder(secret).withData(Map.of("ca.crt", bundle)).build())
        .update();

    reapply.run();

    MutatingWebhookConfiguration after = webhooks.withName(webhookConfiguration).get();
    after
        .getWebhooks()
        .forEach(
            w ->
                assertEquals(
                    bundle,
                    w.getClientConfig().getCaBundle(),
                    w.getName() + ": the gate's caBundle survives a re-apply"));
    assertEquals(
        Map.of("ca.crt", bundle),
        scene.admin.secrets().inNamespace(namespace).withName(caSecret).get().getData(),
        "the CA survives a re-apply");
    assertTrue(
        after.getMetadata().getManagedFields().stream()
            .anyMatch(f -> GATE_FIELD_MANAGER.equals(f.getManager())),
        "the caBundle stays the gate's field");
  }
}
