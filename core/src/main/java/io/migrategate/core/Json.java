package io.migrategate.core;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads API JSON into plain maps and lists with Jackson's streaming parser.
 *
 * <p>Why not Jackson data binding: binding a Job builds deserializers for the whole pod spec graph
 * (hundreds of classes), and even an ObjectMapper costs more start-up time than this whole class
 * (docs/benchmarks/waiter.md); the waiter reads every answer through here.
 */
public final class Json {
  private static final JsonFactory FACTORY = new JsonFactory();

  private Json() {}

  /** A JSON document as maps, lists, strings, numbers, booleans and nulls. */
  public static Object parse(String json) {
    try (JsonParser parser = FACTORY.createParser(json)) {
      JsonToken first = parser.nextToken();
      if (first == null) {
        throw new IllegalArgumentException("not JSON: empty");
      }
      return value(parser, first);
    } catch (IOException e) {
      throw new IllegalArgumentException("not JSON: " + e.getMessage(), e);
    }
  }

  /** A JSON object document as a map (empty when the document is not an object). */
  public static Map<String, Object> object(String json) {
    return map(parse(json));
  }

  private static Object value(JsonParser parser, JsonToken token) throws IOException {
    switch (token) {
      case START_OBJECT -> {
        Map<String, Object> object = new LinkedHashMap<>();
        for (JsonToken t = parser.nextToken(); t != JsonToken.END_OBJECT; t = parser.nextToken()) {
          String name = parser.currentName();
          object.put(name, value(parser, parser.nextToken()));
        }
        return object;
      }
      case START_ARRAY -> {
        List<Object> array = new ArrayList<>();
        for (JsonToken t = parser.nextToken(); t != JsonToken.END_ARRAY; t = parser.nextToken()) {
          array.add(value(parser, t));
        }
        return array;
      }
      case VALUE_STRING -> {
        return parser.getText();
      }
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
        return parser.getNumberValue();
      }
      case VALUE_TRUE -> {
        return Boolean.TRUE;
      }
      case VALUE_FALSE -> {
        return Boolean.FALSE;
      }
      case VALUE_NULL -> {
        return null;
      }
      default -> throw new IOException("unexpected " + token);
    }
  }

  /** The value as an object (empty when it is none). */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> map(Object value) {
    return value instanceof Map<?, ?> ? (Map<String, Object>) value : Map.of();
  }

  /** A scalar field as text, or null when absent, null or not a scalar. */
  public static String text(Map<String, Object> node, String field) {
    Object value = node.get(field);
    return value == null || value instanceof Map || value instanceof List ? null : value.toString();
  }

  /** A number field as an int, or null when absent or not a number. */
  public static Integer intValue(Map<String, Object> node, String field) {
    return node.get(field) instanceof Number n ? n.intValue() : null;
  }
}
