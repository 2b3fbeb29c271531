package io.migrategate.gate.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class JsonPatchTest {

  @Test
  void pointerEscapesSlashAndTilde() {
    assertEquals(
        "/metadata/annotations/migrate.io~1status",
        JsonPatch.pointer("metadata", "annotations", "migrate.io/status"));
    assertEquals("/a~0b~1c", JsonPatch.pointer("a~b/c"));
    // "~1" in a key is a literal tilde followed by 1, not an escaped slash.
    assertEquals("/~01", JsonPatch.pointer("~1"));
    assertEquals("/spec/initContainers/0", JsonPatch.pointer("spec", "initContainers", 0));
  }
}
