package io.migrategate.gate.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs every folder of {@code src/test/resources/golden} (see its README.md): the exact patch, the
 * answer, and that the patched pod sent again yields no operations. {@code -Dgolden.update=true}
 * rewrites the expected files from the actual answers, for review by hand.
 */
class GoldenAdmissionTest {
  static final Path GOLDEN = Path.of("src/test/resources/golden");
  static final String WAITER_IMAGE = "registry.example/migrate-gate-waiter:0.1.0";
  static final String GATE_NAMESPACE = "migrate-gate";
  static final String WAIT_URL = "https://migrate-gate.migrate-gate.svc";

  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Two-space indent, one array element per line, {@code "key": value}: diff-friendly. */
  private static final DefaultPrettyPrinter PRINTER =
      new DefaultPrettyPrinter(
              Separators.createDefaultInstance()
                  .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                  .withArrayEmptySeparator("")
                  .withObjectEmptySeparator(""))
          .withArrayIndenter(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE);

  private static final boolean UPDATE = Boolean.getBoolean("golden.update");

  @TestFactory
  Stream<DynamicTest> goldenCases() throws IOException {
    List<Path> cases;
    try (Stream<Path> folders = Files.list(GOLDEN)) {
      cases = folders.filter(Files::isDirectory).sorted().toList();
    }
    assertTrue(cases.size() > 30, "golden cases found in " + GOLDEN.toAbsolutePath());
    return cases.stream()
        .map(folder -> DynamicTest.dynamicTest(folder.getFileName().toString(), () -> run(folder)));
  }

  private void run(Path folder) throws IOException {
    JsonNode reviewJson = JSON.readTree(folder.resolve("review.json").toFile());
    FakeOwnerLookup owners = FakeOwnerLookup.fromFolder(folder);
    AdmissionReviewer reviewer =
        new PodAdmissionReviewer(config(folder), owners, FakeJobStatus.fromFolder(folder));

    AdmissionReviewer.Entry entry = entry(folder);
    ReviewResult result = reviewer.review(parse(reviewJson), entry);
    AdmissionResponse response = result.response().getResponse();
    JsonNode patch = decodePatch(response);
    ObjectNode answer = answerOf(result);

    if (UPDATE) {
      write(folder.resolve("patch.json"), patch);
      write(folder.resolve("expect.json"), answer);
    }
    assertEquals("admission.k8s.io/v1", result.response().getApiVersion());
    assertEquals("AdmissionReview", result.response().getKind());
    assertEquals(reviewJson.path("request").path("uid").asText(), response.getUid(), "uid echoed");
    assertEquals(read(folder.resolve("expect.json")), answer, "answer (expect.json)");
    assertEquals(read(folder.resolve("patch.json")), patch, "patch (patch.json)");
    assertEquals(
        patch.isEmpty() ? null : "JSONPatch",
        response.getPatchType(),
        "patchType only with a patch");
    assertEquals(List.of(), owners.unexpected(), "owner lookups not listed in owners.json");

    if (!patch.isEmpty()) {
      JsonNode patchedPod =
          io.fabric8.zjsonpatch.JsonPatch.apply(patch, reviewJson.path("request").path("object"));
      // The result is still a pod the model can read (no mangled structure).
      SERIALIZATION.convertValue(patchedPod, Pod.class);
      ObjectNode again = reviewJson.deepCopy();
      ((ObjectNode) again.path("request")).set("object", patchedPod);
      ReviewResult second = reviewer.review(parse(again), entry);
      assertNull(
          second.response().getResponse().getPatch(),
          () ->
              "re-submitted patched pod yields operations: "
                  + decodePatch(second.response().getResponse()));
      assertEquals(response.getAllowed(), second.response().getResponse().getAllowed());
      if (result.outcome() == Outcome.INJECTED) {
        assertEquals(Reasons.ALREADY_INJECTED, second.reason());
      } else {
        assertEquals(result.reason(), second.reason());
      }
    }
  }

  /** The shared config (gate mode: the gate's wait API for waiters), then config.json. */
  static InjectionConfig config(Path folder) throws IOException {
    InjectionConfig config =
        InjectionConfig.defaults(WAITER_IMAGE, GATE_NAMESPACE)
            .withWaitEndpoint(
                Optional.of(
                    new WaitEndpoint(
                        WAIT_URL,
                        Files.readString(
                            GOLDEN.resolve("gate-ca.pem"), StandardCharsets.US_ASCII))));
    Path file = folder.resolve("config.json");
    if (Files.exists(file)) {
      JsonNode overrides = JSON.readTree(file.toFile());
      if (overrides.has("failurePolicy")) {
        config =
            config.withFailurePolicy(FailurePolicy.parse(overrides.path("failurePolicy").asText()));
      }
      if (overrides.path("runAsUser").asText().equals("platform")) {
        config =
            new InjectionConfig(
                config.waiterImage(),
                config.resources(),
                config.failurePolicy(),
                config.gateNamespace(),
                config.excludedNamespaces(),
                OptionalLong.empty(),
                config.waitEndpoint());
      }
      if (overrides.path("waitEndpoint").isBoolean()
          && !overrides.path("waitEndpoint").booleanValue()) {
        config = config.withWaitEndpoint(Optional.empty());
      }
    }
    return config;
  }

  /** The webhook entry that sends the review: {@code "entry": "enforced"} in config.json. */
  static AdmissionReviewer.Entry entry(Path folder) throws IOException {
    Path file = folder.resolve("config.json");
    if (Files.exists(file)
        && JSON.readTree(file.toFile()).path("entry").asText().equals("enforced")) {
      return AdmissionReviewer.Entry.ENFORCED;
    }
    return AdmissionReviewer.Entry.STANDARD;
  }

  static AdmissionReview parse(JsonNode review) {
    return SERIALIZATION.unmarshal(review.toString(), AdmissionReview.class);
  }

  static JsonNode decodePatch(AdmissionResponse response) {
    if (response.getPatch() == null) {
      return JsonNodeFactory.instance.arrayNode();
    }
    try {
      return JSON.readTree(Base64.getDecoder().decode(response.getPatch()));
    } catch (IOException e) {
      throw new AssertionError("patch is not JSON", e);
    }
  }

  /** What a user sees of the answer besides the patch. */
  private static ObjectNode answerOf(ReviewResult result) {
    AdmissionResponse response = result.response().getResponse();
    ObjectNode answer = JsonNodeFactory.instance.objectNode();
    answer.put("allowed", response.getAllowed());
    answer.put("outcome", result.outcome().name());
    answer.put("reason", result.reason());
    answer.put("dryRun", result.dryRun());
    ArrayNode warnings = answer.putArray("warnings");
    (response.getWarnings() == null ? new ArrayList<String>() : response.getWarnings())
        .forEach(warnings::add);
    if (response.getStatus() != null) {
      answer.put("code", response.getStatus().getCode());
      answer.put("message", response.getStatus().getMessage());
    }
    return answer;
  }

  private static JsonNode read(Path file) throws IOException {
    return JSON.readTree(file.toFile());
  }

  private static void write(Path file, JsonNode node) throws IOException {
    Files.writeString(
        file, JSON.writer(PRINTER).writeValueAsString(node) + "\n", StandardCharsets.UTF_8);
  }
}
