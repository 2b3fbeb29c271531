package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrategate.gate.admission.InjectionConfig;
import io.migrategate.gate.admission.OwnerLookup;
import io.migrategate.gate.admission.PodAdmissionReviewer;
import io.migrategate.gate.server.AdmissionEndpoint;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Property: whatever arrives at /mutate, the gate answers with a well-formed HTTP response (never a
 * 5xx, never a dropped connection), and whenever the body is an admission.k8s.io/v1 AdmissionReview
 * with a request.uid, the answer is an AdmissionReview echoing that uid. Runs the real pod reviewer
 * (with an owner lookup that always fails, as when the API is unreachable) over HTTPS.
 *
 * <p>Reproduce a run with {@code -Dfuzz.seed=N}; each case derives from the seed and its index.
 */
class AdmissionFuzzTest {
  private static final int CASES = 10_240;
  private static final int CONCURRENCY = 16;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final byte[] SAMPLE = GateFixture.sampleReview();
  private static final JsonNode SAMPLE_TREE = parse(SAMPLE);

  private static final java.util.Set<String> INTERNAL_ERRORS = ConcurrentHashMap.newKeySet();

  /** Marks a review whose uid is a JSON number or boolean rather than a string. */
  private static final String COERCED_UID = new String("coerced");

  /** One generated request: how it was made (for the failure message), body, content type. */
  record Case(int index, String strategy, byte[] body, String contentType) {}

  @Test
  void everyBodyGetsAValidHttpAnswerAndEveryReviewItsUid() throws Exception {
    long seed = Long.getLong("fuzz.seed", System.nanoTime());
    PodAdmissionReviewer reviewer =
        new PodAdmissionReviewer(
            InjectionConfig.defaults(
                "registry.example.com/migrate-gate/waiter:test", "migrate-gate"),
            OwnerLookup.unavailable("no Kubernetes API in this test"));
    try (GateFixture fixture = new GateFixture(reviewer)) {
      List<String> failures = Collections.synchronizedList(new ArrayList<>());
      Map<String, AtomicInteger> statuses = new ConcurrentHashMap<>();
      AtomicInteger uidsChecked = new AtomicInteger();
      Semaphore slots = new Semaphore(CONCURRENCY);
      long started = System.nanoTime();
      for (int i = 0; i < CASES; i++) {
        Case fuzzCase = generate(seed, i);
        slots.acquire();
        HttpRequest.Builder request =
            HttpRequest.newBuilder(fixture.mutateUri())
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofByteArray(fuzzCase.body()));
        if (fuzzCase.contentType() != null) {
          request.header("Content-Type", fuzzCase.contentType());
        }
        CompletableFuture<HttpResponse<String>> sent =
            fixture.client.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString());
        sent.whenComplete(
            (response, error) -> {
              try {
                String problem =
                    error != null
                        ? "no HTTP answer: " + error
                        : check(fuzzCase, response, uidsChecked);
                if (response != null) {
                  statuses
                      .computeIfAbsent(
                          fuzzCase.strategy() + "->" + response.statusCode(),
                          k -> new AtomicInteger())
                      .incrementAndGet();
                }
                if (problem != null && failures.size() < 20) {
                  failures.add(
                      "case "
                          + fuzzCase.index()
                          + " ("
                          + fuzzCase.strategy()
                          + ", seed "
                          + seed
                          + "): "
                          + problem);
                }
              } finally {
                slots.release();
              }
            });
      }
      assertTrue(
          slots.tryAcquire(CONCURRENCY, 120, TimeUnit.SECONDS), "requests still open after 120 s");
      Duration took = Duration.ofNanos(System.nanoTime() - started);
      System.out.printf(
          "fuzz: %d cases, seed %d, %d uids checked, %s, outcomes %s%n",
          CASES, seed, uidsChecked.get(), took, new java.util.TreeMap<>(statuses));

      if (!INTERNAL_ERRORS.isEmpty()) {
        System.out.println("fuzz: the reviewer answered with internal errors: " + INTERNAL_ERRORS);
      }
      assertEquals(List.of(), failures);
      assertTrue(
          uidsChecked.get() > CASES / 4, "too few reviews reached the reviewer: " + uidsChecked);
      // Still alive and well afterwards.
      assertEquals(200, fixture.probe("/livez").statusCode());
      assertEquals(200, fixture.probe("/readyz").statusCode());
      assertEquals(200, fixture.post(SAMPLE, "application/json").statusCode());
      assertEquals(0.0, fixture.metric("migrate_gate_inflight_reviews"));
    }
  }

  /** Null when the answer satisfies the property, else what is wrong with it. */
  private static String check(
      Case fuzzCase, HttpResponse<String> response, AtomicInteger uidsChecked) {
    int status = response.statusCode();
    JsonNode body;
    try {
      body = JSON.readTree(response.body());
    } catch (Exception e) {
      return "status " + status + " with a body that is not JSON: " + abbreviate(response.body());
    }
    boolean json = AdmissionEndpoint.isJson(fuzzCase.contentType());
    if (fuzzCase.body().length > AdmissionEndpoint.MAX_BODY_BYTES) {
      return status == 413
          ? null
          : "expected 413 for " + fuzzCase.body().length + " bytes, got " + status;
    }
    if (!json) {
      return status == 415
          ? null
          : "expected 415 for content type " + fuzzCase.contentType() + ", got " + status;
    }
    String uid = reviewUid(fuzzCase.body());
    if (uid == COERCED_UID) {
      return status == 200 && body.path("response").path("uid").isTextual() || status == 400
          ? null
          : "a review with a non-string uid got " + status + ": " + abbreviate(response.body());
    }
    if (uid != null) {
      uidsChecked.incrementAndGet();
      if (status != 200) {
        return "an AdmissionReview with uid "
            + uid
            + " got "
            + status
            + ": "
            + abbreviate(response.body());
      }
      if (!"admission.k8s.io/v1".equals(body.path("apiVersion").asText())
          || !"AdmissionReview".equals(body.path("kind").asText())
          || !uid.equals(body.path("response").path("uid").asText(null))
          || !body.path("response").path("allowed").isBoolean()) {
        return "the answer does not echo uid " + uid + ": " + abbreviate(response.body());
      }
      String message = body.path("response").path("status").path("message").asText("");
      if (message.contains("internal error")) {
        // Answered and uid echoed, so the property holds; reported so reviewer bugs get seen.
        INTERNAL_ERRORS.add(fuzzCase.strategy() + ": " + abbreviate(message));
      }
      return null;
    }
    if (status != 400
        || !"Status".equals(body.path("kind").asText())
        || body.path("message").asText().isEmpty()) {
      return "a body that is no AdmissionReview got " + status + ": " + abbreviate(response.body());
    }
    return null;
  }

  /** The oracle: what a plain JSON reader says the uid is, if the body is a v1 review at all. */
  private static String reviewUid(byte[] body) {
    JsonNode tree;
    try (var parser = JSON.createParser(body)) {
      tree = JSON.readTree(parser);
      if (tree == null || parser.nextToken() != null) {
        return null;
      }
    } catch (Exception | StackOverflowError e) {
      return null;
    }
    JsonNode uid = tree.path("request").path("uid");
    // Absent apiVersion/kind count as the v1 review's (the model's defaults); present, they must
    // match.
    boolean review =
        tree.isObject()
            && (tree.path("apiVersion").isMissingNode()
                || "admission.k8s.io/v1".equals(tree.path("apiVersion").asText(null))
                    && tree.path("apiVersion").isTextual())
            && (tree.path("kind").isMissingNode()
                || "AdmissionReview".equals(tree.path("kind").asText(null))
                    && tree.path("kind").isTextual())
            && tree.path("request").isObject();
    if (review && (uid.isNumber() || uid.isBoolean())) {
      // Jackson coerces a scalar to the String uid; echoing it or refusing it are both fine.
      return COERCED_UID;
    }
    return review && uid.isTextual() && !uid.asText().isBlank() ? uid.asText() : null;
  }

  static Case generate(long seed, int index) {
    Random random = new Random(seed * 1_000_003L + index);
    int pick = random.nextInt(100);
    if (pick < 15) {
      return json(index, "valid-new-uid", withUid(SAMPLE_TREE.deepCopy(), random));
    } else if (pick < 30) {
      return bytes(index, "byte-flips", flipBytes(SAMPLE, random));
    } else if (pick < 40) {
      return bytes(
          index, "truncated", java.util.Arrays.copyOf(SAMPLE, random.nextInt(SAMPLE.length)));
    } else if (pick < 55) {
      return json(
          index, "type-swap", swapRandomNode(withUid(SAMPLE_TREE.deepCopy(), random), random));
    } else if (pick < 62) {
      return json(
          index,
          "field-removed",
          removeRandomField(withUid(SAMPLE_TREE.deepCopy(), random), random));
    } else if (pick < 67) {
      return bytes(index, "deep-nesting", deepNesting(random));
    } else if (pick < 72) {
      return json(
          index, "random-unicode", unicodeStrings(withUid(SAMPLE_TREE.deepCopy(), random), random));
    } else if (pick < 74) {
      return json(
          index, "huge-string", hugeString(withUid(SAMPLE_TREE.deepCopy(), random), random));
    } else if (pick < 84) {
      byte[] noise = new byte[random.nextInt(4096)];
      random.nextBytes(noise);
      return bytes(index, "random-bytes", noise);
    } else if (pick < 88) {
      String[] odd = {
        "null",
        "\"text\"",
        "123",
        "{}",
        "[]",
        "true",
        "{\"request\":{}}",
        "{\"apiVersion\":{}}",
        " "
      };
      return bytes(
          index, "odd-json", odd[random.nextInt(odd.length)].getBytes(StandardCharsets.UTF_8));
    } else if (pick < 92) {
      byte[] body = withUid(SAMPLE_TREE.deepCopy(), random);
      String[] tails = {"}", "]", " garbage", "{}", "\u0000", ",{\"a\":1}"};
      return bytes(
          index,
          "trailing-data",
          concat(body, tails[random.nextInt(tails.length)].getBytes(StandardCharsets.UTF_8)));
    } else if (pick < 96) {
      String[] types = {
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/yaml",
        "",
        "application/jsonx",
        null
      };
      return new Case(
          index,
          "wrong-content-type",
          withUid(SAMPLE_TREE.deepCopy(), random),
          types[random.nextInt(types.length)]);
    } else if (pick < 97 && random.nextBoolean()) {
      byte[] big = new byte[(int) AdmissionEndpoint.MAX_BODY_BYTES + 1 + random.nextInt(1024)];
      java.util.Arrays.fill(big, (byte) ' ');
      return bytes(index, "over-limit", big);
    } else {
      return json(
          index, "duplicate-keys", duplicateKeys(withUid(SAMPLE_TREE.deepCopy(), random), random));
    }
  }

  private static Case json(int index, String strategy, byte[] body) {
    return new Case(index, strategy, body, "application/json");
  }

  private static Case bytes(int index, String strategy, byte[] body) {
    return new Case(index, strategy, body, "application/json");
  }

  private static byte[] withUid(JsonNode review, Random random) {
    ((ObjectNode) review.path("request"))
        .put("uid", new java.util.UUID(random.nextLong(), random.nextLong()).toString());
    return write(review);
  }

  private static byte[] flipBytes(byte[] body, Random random) {
    byte[] copy = body.clone();
    int flips = 1 + random.nextInt(10);
    for (int i = 0; i < flips; i++) {
      copy[random.nextInt(copy.length)] ^= (byte) (1 << random.nextInt(8));
    }
    return copy;
  }

  private static byte[] swapRandomNode(byte[] body, Random random) {
    JsonNode tree = parse(body);
    List<JsonNode[]> slots = new ArrayList<>();
    collectContainers(tree, slots);
    JsonNode[] slot = slots.get(random.nextInt(slots.size()));
    JsonNode container = slot[0];
    JsonNode replacement = randomValue(random);
    if (container instanceof ObjectNode object && object.size() > 0) {
      List<String> names = new ArrayList<>();
      object.fieldNames().forEachRemaining(names::add);
      object.set(names.get(random.nextInt(names.size())), replacement);
    } else if (container instanceof ArrayNode array && array.size() > 0) {
      array.set(random.nextInt(array.size()), replacement);
    }
    return write(tree);
  }

  private static byte[] removeRandomField(byte[] body, Random random) {
    JsonNode tree = parse(body);
    List<JsonNode[]> slots = new ArrayList<>();
    collectContainers(tree, slots);
    for (int attempt = 0; attempt < 10; attempt++) {
      JsonNode container = slots.get(random.nextInt(slots.size()))[0];
      if (container instanceof ObjectNode object && object.size() > 0) {
        List<String> names = new ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        object.remove(names.get(random.nextInt(names.size())));
        break;
      }
    }
    return write(tree);
  }

  private static void collectContainers(JsonNode node, List<JsonNode[]> into) {
    if (node.isContainerNode()) {
      into.add(new JsonNode[] {node});
      for (Iterator<JsonNode> children = node.elements(); children.hasNext(); ) {
        collectContainers(children.next(), into);
      }
    }
  }

  private static JsonNode randomValue(Random random) {
    JsonNodeFactory nodes = JsonNodeFactory.instance;
    return switch (random.nextInt(8)) {
      case 0 -> nodes.nullNode();
      case 1 -> nodes.booleanNode(random.nextBoolean());
      case 2 -> nodes.numberNode(random.nextLong());
      case 3 -> nodes.numberNode(random.nextDouble() * 1e300);
      case 4 -> nodes.textNode(randomUnicode(random, random.nextInt(40)));
      case 5 -> nodes.arrayNode().add(random.nextInt()).add("x");
      case 6 -> nodes.objectNode().put("unexpected", random.nextInt());
      default -> nodes.textNode("");
    };
  }

  private static byte[] deepNesting(Random random) {
    int depth = 100 + random.nextInt(20_000);
    boolean arrays = random.nextBoolean();
    String open = arrays ? "[" : "{\"a\":";
    String close = arrays ? "]" : "}";
    String nested = open.repeat(depth) + "1" + close.repeat(depth);
    if (random.nextBoolean()) {
      return nested.getBytes(StandardCharsets.UTF_8);
    }
    // Nested inside an otherwise valid review, where fabric8 keeps unknown fields.
    String review = new String(SAMPLE, StandardCharsets.UTF_8);
    return review
        .replace("\"status\":{}", "\"status\":{\"deep\":" + nested + "}")
        .getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] unicodeStrings(byte[] body, Random random) {
    JsonNode tree = parse(body);
    List<JsonNode[]> slots = new ArrayList<>();
    collectContainers(tree, slots);
    for (int i = 0; i < 5; i++) {
      JsonNode container = slots.get(random.nextInt(slots.size()))[0];
      if (container instanceof ObjectNode object && object.size() > 0) {
        List<String> names = new ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        String name = names.get(random.nextInt(names.size()));
        if (object.get(name).isTextual()) {
          object.put(name, randomUnicode(random, 1 + random.nextInt(64)));
        } else {
          object.put(randomUnicode(random, 8), randomUnicode(random, 16));
        }
      }
    }
    return write(tree);
  }

  private static String randomUnicode(Random random, int length) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < length; i++) {
      switch (random.nextInt(6)) {
        case 0 -> text.append((char) random.nextInt(0x20)); // control characters
        case 1 -> text.append((char) (0xD800 + random.nextInt(0x800))); // lone surrogates
        case 2 -> text.appendCodePoint(0x1F300 + random.nextInt(0x300)); // emoji
        case 3 -> text.append('\u202E'); // right-to-left override
        case 4 -> text.append("\"\\/");
        default -> text.appendCodePoint(random.nextInt(0x10FFFF));
      }
    }
    return text.toString();
  }

  private static byte[] hugeString(byte[] body, Random random) {
    JsonNode tree = parse(body);
    int length = 64 * 1024 + random.nextInt(1024 * 1024);
    ObjectNode annotations =
        (ObjectNode) tree.path("request").path("object").path("metadata").path("annotations");
    annotations.put(random.nextBoolean() ? "migrate.io/job" : "huge", "j".repeat(length));
    return write(tree);
  }

  private static byte[] duplicateKeys(byte[] body, Random random) {
    String text = new String(body, StandardCharsets.UTF_8);
    String duplicate =
        random.nextBoolean() ? "\"kind\":\"Nope\"," : "\"request\":{\"uid\":\"dup\"},";
    return ("{" + duplicate + text.substring(1)).getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] concat(byte[] first, byte[] second) {
    byte[] all = java.util.Arrays.copyOf(first, first.length + second.length);
    System.arraycopy(second, 0, all, first.length, second.length);
    return all;
  }

  private static JsonNode parse(byte[] body) {
    try {
      return JSON.readTree(body);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] write(JsonNode tree) {
    try {
      return JSON.writeValueAsBytes(tree);
    } catch (Exception e) {
      // Lone surrogates cannot be encoded as UTF-8; as \\u escapes they are still valid JSON.
      try {
        return JSON.writer()
            .with(com.fasterxml.jackson.core.json.JsonWriteFeature.ESCAPE_NON_ASCII)
            .writeValueAsBytes(tree);
      } catch (Exception again) {
        throw new IllegalStateException(again);
      }
    }
  }

  private static String abbreviate(String text) {
    return text.length() <= 400 ? text : text.substring(0, 400) + "...";
  }
}
