package io.migrategate.gate.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * RFC 6902 operations, written one by one from what the gate read, so fields the gate does not know
 * are never rewritten. Only {@code add} and {@code replace} are needed: the gate never removes
 * anything.
 */
final class JsonPatch {
  private final List<ObjectNode> operations = new ArrayList<>();

  /** Adds a member or inserts into an array ({@code /spec/initContainers/0}). */
  JsonPatch add(String path, JsonNode value) {
    return op("add", path, value);
  }

  JsonPatch replace(String path, JsonNode value) {
    return op("replace", path, value);
  }

  boolean isEmpty() {
    return operations.isEmpty();
  }

  ArrayNode toJson() {
    ArrayNode array = JsonNodeFactory.instance.arrayNode();
    operations.forEach(array::add);
    return array;
  }

  private JsonPatch op(String op, String path, JsonNode value) {
    ObjectNode node = JsonNodeFactory.instance.objectNode();
    node.put("op", op);
    node.put("path", path);
    node.set("value", value);
    operations.add(node);
    return this;
  }

  /** Joins reference tokens into a JSON pointer, escaping {@code ~} and {@code /} (RFC 6901). */
  static String pointer(Object... tokens) {
    StringBuilder path = new StringBuilder();
    for (Object token : tokens) {
      path.append('/').append(escape(String.valueOf(token)));
    }
    return path.toString();
  }

  static String escape(String token) {
    // Order matters: escaping '~' first keeps the '~' of "~1" from being escaped again.
    return token.replace("~", "~0").replace("/", "~1");
  }
}
