package io.migrategate.gate.admission;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Reads {@code metadata.ownerReferences} arrays. */
final class OwnerRefs {
  private OwnerRefs() {}

  static List<OwnerRef> read(JsonNode ownerReferences) {
    List<OwnerRef> owners = new ArrayList<>();
    for (JsonNode owner : ownerReferences) {
      String kind = owner.path("kind").asText("");
      String name = owner.path("name").asText("");
      if (kind.isEmpty() || name.isEmpty()) {
        continue;
      }
      owners.add(
          new OwnerRef(
              owner.path("apiVersion").asText(""),
              kind,
              name,
              owner.path("uid").asText(""),
              owner.path("controller").asBoolean(false)));
    }
    return owners;
  }

  static Optional<OwnerRef> controller(JsonNode ownerReferences) {
    return controller(read(ownerReferences));
  }

  static Optional<OwnerRef> controller(List<OwnerRef> owners) {
    return owners.stream().filter(OwnerRef::controller).findFirst();
  }
}
