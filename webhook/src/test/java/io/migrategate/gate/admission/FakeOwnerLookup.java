package io.migrategate.gate.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Owner lookups answered from a case's {@code owners.json}: {@code "Kind/name"} → {@code
 * {annotations, ownerReferences}}, {@code {"notFound": true}} or {@code {"failed": "cause"}}; a
 * {@code "fresh Kind/name"} entry is what a direct GET returns when the cached one differs. A
 * lookup of an owner not listed is recorded as unexpected and fails.
 */
final class FakeOwnerLookup implements OwnerLookup {
  private final JsonNode owners;
  private final List<String> unexpected = new ArrayList<>();
  private final List<String> calls = new ArrayList<>();

  FakeOwnerLookup(JsonNode owners) {
    this.owners = owners;
  }

  static FakeOwnerLookup fromFolder(Path folder) throws IOException {
    Path file = folder.resolve("owners.json");
    ObjectMapper json = new ObjectMapper();
    return new FakeOwnerLookup(
        Files.exists(file) ? json.readTree(file.toFile()) : json.createObjectNode());
  }

  @Override
  public synchronized LookupResult lookup(String namespace, OwnerRef owner) {
    return answer(namespace, owner.kind() + "/" + owner.name());
  }

  /** What a direct GET says: the {@code "fresh Kind/name"} entry when there is one. */
  @Override
  public synchronized LookupResult lookupFresh(String namespace, OwnerRef owner) {
    String key = owner.kind() + "/" + owner.name();
    return answer(namespace, owners.has("fresh " + key) ? "fresh " + key : key);
  }

  private LookupResult answer(String namespace, String key) {
    calls.add(namespace + "/" + key);
    JsonNode entry = owners.get(key);
    if (entry == null) {
      unexpected.add(namespace + "/" + key);
      return new LookupResult.Failed("no such owner in owners.json: " + key);
    }
    if (entry.path("notFound").asBoolean(false)) {
      return new LookupResult.NotFound();
    }
    if (entry.has("failed")) {
      return new LookupResult.Failed(entry.path("failed").asText());
    }
    Map<String, String> annotations = new LinkedHashMap<>();
    entry
        .path("annotations")
        .fields()
        .forEachRemaining(f -> annotations.put(f.getKey(), f.getValue().asText()));
    return new LookupResult.Found(annotations, OwnerRefs.read(entry.path("ownerReferences")));
  }

  synchronized List<String> unexpected() {
    return List.copyOf(unexpected);
  }

  synchronized List<String> calls() {
    return List.copyOf(calls);
  }
}
