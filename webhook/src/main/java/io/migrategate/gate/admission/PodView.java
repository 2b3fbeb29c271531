package io.migrategate.gate.admission;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Read-only access to the pod of a review, as the JSON tree the API server sent: the gate reads a
 * handful of fields and writes patch operations, so fields it does not know survive untouched.
 */
final class PodView {
  /** Set by the kubelet on the API server's copy of a static pod. */
  static final String MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

  /** The ServiceAccount admission plugin's token volume: {@code kube-api-access-xxxxx}. */
  static final String SERVICE_ACCOUNT_VOLUME_PREFIX = "kube-api-access-";

  private final JsonNode pod;

  PodView(JsonNode pod) {
    this.pod = pod;
  }

  JsonNode metadata() {
    return pod.path("metadata");
  }

  JsonNode spec() {
    return pod.path("spec");
  }

  /** {@code ns/name}, or {@code ns/generateName*} for a pod the API server has not named yet. */
  String describe(String namespace) {
    String name = metadata().path("name").asText("");
    if (name.isEmpty()) {
      String generateName = metadata().path("generateName").asText("");
      name = generateName.isEmpty() ? "(unnamed)" : generateName + "*";
    }
    return "pod " + namespace + "/" + name;
  }

  /** Whether {@code metadata.annotations} exists as an object (decides add-member vs add-map). */
  boolean hasAnnotationsObject() {
    return metadata().path("annotations").isObject();
  }

  Map<String, String> annotations() {
    JsonNode node = metadata().path("annotations");
    if (!node.isObject()) {
      return Map.of();
    }
    Map<String, String> annotations = new LinkedHashMap<>();
    node.fields()
        .forEachRemaining(
            field -> {
              if (field.getValue().isTextual()) {
                annotations.put(field.getKey(), field.getValue().asText());
              }
            });
    return Collections.unmodifiableMap(annotations);
  }

  /** The owner with {@code controller: true}; the workload that created the pod. */
  Optional<OwnerRef> controller() {
    return OwnerRefs.controller(metadata().path("ownerReferences"));
  }

  List<InitContainer> initContainers() {
    List<InitContainer> containers = new ArrayList<>();
    for (JsonNode container : spec().path("initContainers")) {
      containers.add(
          new InitContainer(
              container.path("name").asText(""), container.path("restartPolicy").asText("")));
    }
    return containers;
  }

  /** Whether {@code spec.initContainers} exists as an array (decides insert vs create). */
  boolean hasInitContainersArray() {
    return spec().path("initContainers").isArray();
  }

  List<String> containerNames() {
    List<String> names = new ArrayList<>();
    for (JsonNode container : spec().path("containers")) {
      names.add(container.path("name").asText(""));
    }
    return names;
  }

  boolean hasContainerNamed(String name) {
    return containerNames().contains(name)
        || initContainers().stream().anyMatch(c -> c.name().equals(name));
  }

  /** The init container called {@code name}, as sent. */
  Optional<JsonNode> initContainer(String name) {
    return named(spec().path("initContainers"), name);
  }

  /** The regular (app) container called {@code name}, as sent. */
  Optional<JsonNode> regularContainer(String name) {
    return named(spec().path("containers"), name);
  }

  private static Optional<JsonNode> named(JsonNode containers, String name) {
    for (JsonNode container : containers) {
      if (name.equals(container.path("name").asText(null))) {
        return Optional.of(container);
      }
    }
    return Optional.empty();
  }

  /**
   * A mirror pod: the API server's copy of a static pod, created by the kubelet after the pod
   * already runs on its node.
   */
  boolean isMirrorPod() {
    return metadata().path("annotations").has(MIRROR_ANNOTATION);
  }

  /** {@code spec.hostNetwork: true}. */
  boolean hostNetwork() {
    return spec().path("hostNetwork").asBoolean(false);
  }

  /** {@code spec.dnsPolicy}, {@code ClusterFirst} when unset (the API server's default). */
  String dnsPolicy() {
    String policy = spec().path("dnsPolicy").asText("");
    return policy.isEmpty() ? "ClusterFirst" : policy;
  }

  /**
   * Where the pod says it runs Windows: {@code spec.os.name: windows}, or a node selector {@code
   * kubernetes.io/os: windows}; empty for a Linux (or unspecified) pod.
   */
  Optional<String> windowsField() {
    if ("windows".equals(spec().path("os").path("name").asText(""))) {
      return Optional.of("spec.os.name: windows");
    }
    if ("windows".equals(spec().path("nodeSelector").path("kubernetes.io/os").asText(""))) {
      return Optional.of("spec.nodeSelector kubernetes.io/os: windows");
    }
    return Optional.empty();
  }

  /** {@code metadata.creationTimestamp}, when the pod has one (stored pods do). */
  Optional<Instant> creationTimestamp() {
    String text = metadata().path("creationTimestamp").asText("");
    try {
      return text.isEmpty() ? Optional.empty() : Optional.of(Instant.parse(text));
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  boolean hasVolumesArray() {
    return spec().path("volumes").isArray();
  }

  List<String> volumeNames() {
    List<String> names = new ArrayList<>();
    for (JsonNode volume : spec().path("volumes")) {
      names.add(volume.path("name").asText(""));
    }
    return names;
  }

  /** The token volume the ServiceAccount admission plugin added ({@code kube-api-access-xxxxx}). */
  Optional<String> serviceAccountTokenVolume() {
    for (JsonNode volume : spec().path("volumes")) {
      String name = volume.path("name").asText("");
      if (name.startsWith(SERVICE_ACCOUNT_VOLUME_PREFIX) && volume.has("projected")) {
        return Optional.of(name);
      }
    }
    return Optional.empty();
  }

  /** Pod-level {@code securityContext.runAsUser}, when set. */
  Optional<Long> podRunAsUser() {
    JsonNode uid = spec().path("securityContext").path("runAsUser");
    return uid.isIntegralNumber() ? Optional.of(uid.asLong()) : Optional.empty();
  }

  Optional<Long> podRunAsGroup() {
    JsonNode gid = spec().path("securityContext").path("runAsGroup");
    return gid.isIntegralNumber() ? Optional.of(gid.asLong()) : Optional.empty();
  }

  /** One init container, reduced to what placement needs. */
  record InitContainer(String name, String restartPolicy) {
    /** A native sidecar: started in order, then kept running beside the app containers. */
    boolean isNativeSidecar() {
      return "Always".equals(restartPolicy);
    }
  }
}
