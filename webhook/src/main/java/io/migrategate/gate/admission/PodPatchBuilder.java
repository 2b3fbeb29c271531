package io.migrategate.gate.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.Optional;

/**
 * Writes the patch for one pod: explicit operations against what was read, creating arrays and maps
 * that are absent, and nothing when the pod already looks like the result (so a patched pod sent
 * again yields no operations).
 */
final class PodPatchBuilder {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private PodPatchBuilder() {}

  /** The status annotation only; no operation when the pod already carries that value. */
  static JsonPatch status(PodView pod, String status) {
    JsonPatch patch = new JsonPatch();
    setStatus(patch, pod, status);
    return patch;
  }

  /** {@code migrate-wait} at {@code index} of the init containers, the token volume, the status. */
  static JsonPatch inject(PodView pod, ObjectNode container, int index, Optional<JsonNode> volume) {
    JsonPatch patch = new JsonPatch();
    if (pod.hasInitContainersArray()) {
      patch.add(JsonPatch.pointer("spec", "initContainers", index), container);
    } else {
      patch.add(JsonPatch.pointer("spec", "initContainers"), JSON.arrayNode().add(container));
    }
    volume.ifPresent(
        v -> {
          if (pod.hasVolumesArray()) {
            patch.add(JsonPatch.pointer("spec", "volumes", "-"), v);
          } else {
            patch.add(JsonPatch.pointer("spec", "volumes"), JSON.arrayNode().add(v));
          }
        });
    setStatus(patch, pod, GateAnnotations.STATUS_INJECTED);
    return patch;
  }

  private static void setStatus(JsonPatch patch, PodView pod, String status) {
    if (!pod.hasAnnotationsObject()) {
      ObjectNode annotations = JSON.objectNode();
      annotations.put(GateAnnotations.STATUS, status);
      patch.add(JsonPatch.pointer("metadata", "annotations"), annotations);
      return;
    }
    String current = pod.annotations().get(GateAnnotations.STATUS);
    String path = JsonPatch.pointer("metadata", "annotations", GateAnnotations.STATUS);
    if (current == null) {
      patch.add(path, TextNode.valueOf(status));
    } else if (!current.equals(status)) {
      patch.replace(path, TextNode.valueOf(status));
    }
  }
}
