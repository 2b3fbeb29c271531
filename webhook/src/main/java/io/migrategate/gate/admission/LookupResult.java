package io.migrategate.gate.admission;

import java.util.List;
import java.util.Map;

/** The three answers an owner lookup can give; callers must handle each. */
public sealed interface LookupResult {

  /** The owner exists; its annotations and its own owners. */
  record Found(Map<String, String> annotations, List<OwnerRef> ownerReferences)
      implements LookupResult {
    public Found {
      annotations = Map.copyOf(annotations);
      ownerReferences = List.copyOf(ownerReferences);
    }
  }

  /** The API server says the owner does not exist (not merely absent from a cache). */
  record NotFound() implements LookupResult {}

  /** The gate could not find out (API server unreachable, timeout, forbidden). */
  record Failed(String cause) implements LookupResult {}
}
