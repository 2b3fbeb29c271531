package io.migrategate.manifests;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import io.migrategate.gate.admission.AnnotationValues;
import io.migrategate.gate.admission.GateAnnotations;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The apply-time warnings of manifests/base/annotation-warnings.yaml on the real API server, read
 * as kubectl prints them ("Warning: ..." on stderr of a server-side dry run): where an annotation
 * has no effect, typos with the closest known key, and exactly the values the gate would deny at
 * pod creation (the CEL rules held in step with the gate's own, {@link AnnotationValues}).
 */
@LocalClusterTest
class AnnotationWarningsClusterTest {
  private static final String POLICY = "Validation failed for ValidatingAdmissionPolicy";

  private static ClusterScene scene;

  /** The base's policy and binding, the binding limited to this test's namespaces. */
  @BeforeAll
  static void applyThePolicy(LocalCluster cluster) {
    scene = new ClusterScene(cluster);
    Rendered policy =
        Rendered.kustomize(scene.tools, "base")
            .filter(o -> Rendered.kind(o).startsWith("ValidatingAdmissionPolicy"))
            .filter(o -> Rendered.name(o).endsWith("-annotation-warnings"));
    for (ObjectNode object : policy.objects) {
      object.with("metadata").put("name", Rendered.name(object) + "-" + scene.id);
      if (Rendered.kind(object).equals("ValidatingAdmissionPolicyBinding")) {
        ObjectNode spec = object.with("spec");
        spec.put("policyName", spec.path("policyName").asText() + "-" + scene.id);
        ArrayNode expressions =
            spec.with("matchResources").with("namespaceSelector").putArray("matchExpressions");
        expressions
            .addObject()
            .put("key", ClusterScene.SCOPE_LABEL)
            .put("operator", "In")
            .putArray("values")
            .add(scene.id);
      }
    }
    String yaml = policy.toYaml();
    scene.onClose(() -> scene.kubectl(yaml, "delete", "-f", "-", "--wait=false"));
    scene.kubectl(yaml, "apply", "--server-side", "-f", "-").requireSuccess();
    // A binding takes effect when the API server's policy informer has it: wait for a warning.
    String namespace = scene.namespace("mg-warn-ready", Map.of());
    LocalCluster.await(
        "the annotation warnings take effect",
        ClusterScene.WAIT,
        () ->
            !warnings(
                    dryRun(
                        deployment(namespace, "ready", Map.of("migrate.io/jobs", "x"), Map.of())))
                .isEmpty());
  }

  @AfterAll
  static void close() {
    if (scene != null) {
      scene.close();
    }
  }

  @Test
  void jobOnAWorkloadWhereTheGateDoesNotReadItWarnsWithBothFixes() {
    String unlabelled = scene.namespace("mg-warn-plain", Map.of());
    String enabled = scene.namespace("mg-warn-enabled", Map.of("migrate.io/gate", "enabled"));
    Map<String, String> job = Map.of(GateAnnotations.JOB, "migrate");
    for (String kind : List.of("Deployment", "StatefulSet", "DaemonSet")) {
      List<String> warned = warnings(dryRun(workload(kind, unlabelled, "web", job, Map.of())));
      assertEquals(1, warned.size(), kind + ": " + warned);
      String warning = warned.get(0);
      for (String part :
          List.of(
              "migrate.io/job on "
                  + kind
                  + " "
                  + unlabelled
                  + "/web (metadata.annotations) has no"
                  + " effect in namespace "
                  + unlabelled,
              "its pods would start without waiting for their Jobs",
              "put the annotation on the pod template (spec.template.metadata.annotations)",
              "kubectl label namespace " + unlabelled + " migrate.io/gate=enabled")) {
        assertTrue(warning.contains(part), kind + ": " + part + "\n in: " + warning);
      }
      assertEquals(
          List.of(),
          warnings(dryRun(workload(kind, enabled, "web", job, Map.of()))),
          kind + " where the gate reads workload annotations");
      assertEquals(
          List.of(),
          warnings(dryRun(workload(kind, unlabelled, "web", Map.of(), job))),
          kind + " with the annotation on its pod template");
    }
  }

  @Test
  void jobInANamespaceTheGateNeverServesWarns() {
    String disabled = scene.namespace("mg-warn-off", Map.of("migrate.io/gate", "disabled"));
    List<String> warned =
        warnings(
            dryRun(deployment(disabled, "web", Map.of(), Map.of(GateAnnotations.JOB, "migrate"))));
    assertEquals(1, warned.size(), warned.toString());
    assertTrue(
        warned
            .get(0)
            .contains(
                "namespace "
                    + disabled
                    + " is labelled migrate.io/gate=disabled, which the gate never serves, so its"
                    + " pods would start without waiting. Fix: run the app in another namespace,"
                    + " or label this one: kubectl label namespace "
                    + disabled
                    + " migrate.io/gate=enabled --overwrite"),
        warned.get(0));
  }

  @Test
  void anUnknownKeyNamesTheClosestKnownOne() {
    String namespace = scene.namespace("mg-warn-typo", Map.of("migrate.io/gate", "enabled"));
    Map<String, String> expected = new LinkedHashMap<>();
    expected.put("migrate.io/jobs", "did you mean migrate.io/job?");
    expected.put("migrate.io/Job", "did you mean migrate.io/job?");
    expected.put("Migrate.io/timeout", "did you mean migrate.io/timeout?");
    expected.put("migrate.io/timout", "did you mean migrate.io/timeout?");
    expected.put("migrate.io/revison", "did you mean migrate.io/revision?");
    expected.put(
        "migrate.io/wait-for",
        "did you mean one of migrate.io/job, migrate.io/inject, migrate.io/revision,"
            + " migrate.io/timeout, migrate.io/source?");
    List<Executable> checks = new ArrayList<>();
    for (Map.Entry<String, String> typo : expected.entrySet()) {
      String key = typo.getKey();
      checks.add(
          () -> {
            List<String> onTemplate =
                warnings(dryRun(deployment(namespace, "web", Map.of(), Map.of(key, "migrate"))));
            assertEquals(
                List.of(
                    "unknown annotation on Deployment "
                        + namespace
                        + "/web, which the gate ignores: "
                        + key
                        + " (spec.template.metadata.annotations), "
                        + typo.getValue()),
                onTemplate,
                key);
          });
    }
    scene.awaitDefaultServiceAccount(namespace);
    checks.add(
        () -> {
          List<String> onPod =
              warnings(dryRun(pod(namespace, "solo", Map.of("migrate.io/jobs", "migrate"))));
          assertEquals(
              List.of(
                  "unknown annotation on Pod "
                      + namespace
                      + "/solo, which the gate ignores: migrate.io/jobs (metadata.annotations),"
                      + " did you mean migrate.io/job?"),
              onPod,
              "a bare pod");
        });
    assertAll(checks);
  }

  /**
   * The drift guard: for each value, the policy warns exactly when the gate's own rule denies it,
   * and its warning states the same rule.
   */
  @Test
  void valuesTheGateWouldDenyAreWarnedAboutAndNoOthers() {
    String namespace = scene.namespace("mg-warn-values", Map.of("migrate.io/gate", "enabled"));
    String name63 = "m".repeat(63);
    List<String> distinct32 = IntStream.range(0, 32).mapToObj(i -> "job-" + i).toList();
    Map<String, List<String>> corpus = new LinkedHashMap<>();
    corpus.put(
        GateAnnotations.JOB,
        List.of(
            "migrate",
            "schema, seed",
            "db.migrate",
            name63,
            name63 + "m",
            "Migrate_DB",
            "a,,b",
            "a,",
            "",
            " ",
            "-a",
            "a-",
            "a..b",
            "a b",
            String.join(",", distinct32),
            String.join(",", distinct32) + ",job-0",
            String.join(",", distinct32) + ",job-32"));
    corpus.put(GateAnnotations.INJECT, List.of("true", "false", "True", "yes", ""));
    corpus.put(
        GateAnnotations.TIMEOUT,
        List.of(
            "90s", "10m", "1h30m", "500ms", "2d", "0s", "0m0s", "00s", "1h0m", "10", "m", "-1s",
            "1.5h", "1H", "10m ", ""));
    corpus.put(GateAnnotations.REVISION, List.of("v1", "", " ", "r".repeat(253), "r".repeat(254)));
    corpus.put(GateAnnotations.SOURCE, List.of("gate", "api", "Gate", ""));

    Map<String, String[]> cases = new LinkedHashMap<>();
    StringBuilder documents = new StringBuilder();
    corpus.forEach(
        (key, values) -> {
          for (String value : values) {
            String name = "v" + cases.size();
            cases.put(name, new String[] {key, value});
            documents.append(deployment(namespace, name, Map.of(), Map.of(key, value)));
          }
        });
    Map<String, List<String>> warned = warningsByObject(dryRun(documents.toString()), namespace);

    List<Executable> checks = new ArrayList<>();
    cases.forEach(
        (name, keyValue) ->
            checks.add(
                () -> {
                  String key = keyValue[0];
                  String value = keyValue[1];
                  List<String> mine = warned.getOrDefault(name, List.of());
                  var denial = AnnotationValues.problem(key, value);
                  String what = key + "=\"" + abbreviated(value) + "\"";
                  if (denial.isEmpty()) {
                    assertEquals(List.of(), mine, what + " is admitted by the gate");
                    return;
                  }
                  assertEquals(1, mine.size(), what + " is denied by the gate: " + denial.get());
                  String rule = ruleOf(key, value, denial.get());
                  assertTrue(
                      mine.get(0).contains(rule),
                      what
                          + ": the warning states the gate's rule\n  gate: "
                          + rule
                          + "\n  warning: "
                          + mine.get(0));
                  assertTrue(
                      mine.get(0)
                          .endsWith(
                              "; pods of Deployment "
                                  + namespace
                                  + "/"
                                  + name
                                  + " would be denied at creation"),
                      mine.get(0));
                }));
    assertAll(checks);
  }

  @Test
  void hugeOrMalformedAnnotationsNeverRejectAWorkload() {
    String namespace = scene.namespace("mg-warn-huge", Map.of("migrate.io/gate", "enabled"));
    // Within the API server's 256 KiB for all annotations: the policy, not validation, is tried.
    String huge = ",".repeat(60_000) + "x".repeat(60_000);
    Map<String, String> template = new LinkedHashMap<>();
    template.put(GateAnnotations.JOB, huge);
    template.put(GateAnnotations.REVISION, huge.substring(0, 100_000));
    template.put("migrate.io/" + "y".repeat(50), huge.substring(0, 1000));
    Tools.Result result = dryRun(deployment(namespace, "huge", Map.of(), template));
    result.requireSuccess();
    for (String warning : warnings(result)) {
      assertTrue(warning.length() < 2_000, "a warning stays readable: " + warning.length());
    }
  }

  /**
   * The rule part of a gate denial ({@code <key>: "<value>" <rule>}, a long value abbreviated as
   * {@code "<start>..." (<n> characters)}): what both must state.
   */
  private static String ruleOf(String key, String value, String denial) {
    String whole = key + ": \"" + value + "\" ";
    String rule =
        denial.startsWith(whole)
            ? denial.substring(whole.length())
            : denial.substring(denial.indexOf(" characters) ") + " characters) ".length());
    // The gate adds why a too-long value can never be served; the warning keeps the rule.
    return rule.startsWith("is longer than")
        ? "at most 253 characters"
        : rule.startsWith("names ") && rule.contains("distinct Jobs")
            ? "name at most 32 Jobs"
            : rule.replaceFirst(
                "^(is empty|has an empty element|names '[^']*', not a valid Job name): ", "");
  }

  private static String abbreviated(String value) {
    return value.length() > 40 ? value.substring(0, 40) + "...(" + value.length() + ")" : value;
  }

  private static Tools.Result dryRun(String yaml) {
    Tools.Result result = scene.kubectl(yaml, "create", "--dry-run=server", "-f", "-");
    result.requireSuccess();
    return result;
  }

  /** The policy's warnings as kubectl prints them, without the API server's preamble. */
  static List<String> warnings(Tools.Result result) {
    return result
        .stderr()
        .lines()
        .filter(l -> l.startsWith("Warning: "))
        .map(l -> l.substring("Warning: ".length()))
        // This test's policy only: another test's installation may be bound at the same time.
        .filter(l -> l.startsWith(POLICY + " 'migrate-gate-annotation-warnings-" + scene.id + "'"))
        .map(l -> l.substring(l.indexOf("': ") + 3))
        .toList();
  }

  /** Warnings of a multi-document dry run, by the name of the Deployment they are about. */
  private static Map<String, List<String>> warningsByObject(Tools.Result result, String namespace) {
    String marker = "Deployment " + namespace + "/";
    return warnings(result).stream()
        .collect(
            Collectors.groupingBy(
                w -> {
                  int at = w.indexOf(marker) + marker.length();
                  int end = at;
                  while (end < w.length() && Character.isLetterOrDigit(w.charAt(end))) {
                    end++;
                  }
                  return w.substring(at, end);
                }));
  }

  private static String deployment(
      String namespace, String name, Map<String, String> own, Map<String, String> template) {
    return workload("Deployment", namespace, name, own, template);
  }

  private static String workload(
      String kind,
      String namespace,
      String name,
      Map<String, String> own,
      Map<String, String> template) {
    ObjectNode object = Rendered.YAML.createObjectNode();
    object.put("apiVersion", "apps/v1").put("kind", kind);
    ObjectNode metadata = object.with("metadata").put("name", name).put("namespace", namespace);
    own.forEach(metadata.with("annotations")::put);
    ObjectNode spec = object.with("spec");
    spec.with("selector").with("matchLabels").put("app", name);
    if (kind.equals("StatefulSet")) {
      spec.put("serviceName", name);
    }
    ObjectNode podMetadata = spec.with("template").with("metadata");
    podMetadata.with("labels").put("app", name);
    template.forEach(podMetadata.with("annotations")::put);
    oneContainer(spec.with("template").with("spec"));
    return yaml(object);
  }

  private static String pod(String namespace, String name, Map<String, String> annotations) {
    ObjectNode object = Rendered.YAML.createObjectNode();
    object.put("apiVersion", "v1").put("kind", "Pod");
    ObjectNode metadata = object.with("metadata").put("name", name).put("namespace", namespace);
    annotations.forEach(metadata.with("annotations")::put);
    oneContainer(object.with("spec"));
    return yaml(object);
  }

  /** A pod spec's one container: the policy reads annotations, never the image. */
  private static void oneContainer(ObjectNode podSpec) {
    podSpec
        .putArray("containers")
        .addObject()
        .put("name", "app")
        .put("image", "registry.invalid/app:1");
  }

  private static String yaml(ObjectNode object) {
    try {
      return "---\n" + Rendered.YAML.writeValueAsString(object);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
