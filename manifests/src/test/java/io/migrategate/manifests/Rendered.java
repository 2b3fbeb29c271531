package io.migrategate.manifests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

/**
 * The objects a kustomize build or a helm template produced, as JSON trees (no model class in
 * between, so nothing the manifests say is lost or defaulted).
 */
final class Rendered {
  static final YAMLMapper YAML =
      YAMLMapper.builder(
              YAMLFactory.builder().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER).build())
          .build();

  final String source;
  final List<ObjectNode> objects;

  private Rendered(String source, List<ObjectNode> objects) {
    this.source = source;
    this.objects = List.copyOf(objects);
  }

  static Rendered parse(String source, String yaml) {
    List<ObjectNode> objects = new ArrayList<>();
    try (MappingIterator<JsonNode> documents = YAML.readerFor(JsonNode.class).readValues(yaml)) {
      while (documents.hasNext()) {
        JsonNode document = documents.next();
        if (document instanceof ObjectNode object && object.has("kind")) {
          objects.add(object);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(source + " did not produce YAML: " + e.getMessage(), e);
    }
    return new Rendered(source, objects);
  }

  /** kubectl kustomize of a folder under manifests/. */
  static Rendered kustomize(Tools tools, String folder) {
    String dir = tools.manifests().resolve(folder).toString();
    return parse(
        "kubectl kustomize manifests/" + folder,
        tools.kubectl(null, null, "kustomize", dir).requireSuccess().stdout());
  }

  /**
   * helm template of the chart, for the control plane's Kubernetes version: the release's objects
   * as {@code helm install} creates them ({@code --no-hooks}; {@link #helmHooks} for the hooks).
   */
  static Rendered helm(Tools tools, String release, String namespace, String... options) {
    List<String> all = new ArrayList<>(List.of("--no-hooks"));
    all.addAll(List.of(options));
    return helmTemplate(tools, release, namespace, all);
  }

  /** The chart's hooks only (what {@code helm uninstall} or {@code helm test} create). */
  static Rendered helmHooks(Tools tools, String release, String namespace, String... options) {
    Rendered all = helmTemplate(tools, release, namespace, List.of(options));
    return all.filter(o -> o.path("metadata").path("annotations").has("helm.sh/hook"));
  }

  private static Rendered helmTemplate(
      Tools tools, String release, String namespace, List<String> options) {
    List<String> args = new ArrayList<>();
    args.addAll(
        List.of(
            "template",
            release,
            tools.chart().toString(),
            "--namespace",
            namespace,
            "--kube-version",
            tools.kubeVersion));
    args.addAll(options);
    return parse(
        "helm template " + release + " -n " + namespace + " " + String.join(" ", options),
        tools.helm(args.toArray(String[]::new)).requireSuccess().stdout());
  }

  /** A deep copy, for tests that adapt the objects before applying them. */
  Rendered copy() {
    return new Rendered(source, objects.stream().map(ObjectNode::deepCopy).toList());
  }

  Rendered filter(Predicate<ObjectNode> keep) {
    return new Rendered(source, objects.stream().filter(keep).toList());
  }

  String toYaml() {
    StringBuilder out = new StringBuilder();
    for (ObjectNode object : objects) {
      try {
        out.append("---\n").append(YAML.writeValueAsString(object));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out.toString();
  }

  static String kind(JsonNode object) {
    return object.path("kind").asText();
  }

  static String name(JsonNode object) {
    return object.path("metadata").path("name").asText();
  }

  static String namespace(JsonNode object) {
    return object.path("metadata").path("namespace").asText("");
  }

  /** Kind/name or kind/namespace/name. */
  static String key(JsonNode object) {
    String namespace = namespace(object);
    return kind(object) + "/" + (namespace.isEmpty() ? "" : namespace + "/") + name(object);
  }

  Set<String> keys() {
    return objects.stream().map(Rendered::key).collect(Collectors.toCollection(TreeSet::new));
  }

  List<ObjectNode> all(String kind) {
    return objects.stream().filter(o -> kind(o).equals(kind)).toList();
  }

  Optional<ObjectNode> find(String kind, String name) {
    return objects.stream().filter(o -> kind(o).equals(kind) && name(o).equals(name)).findFirst();
  }

  /** The name of the Secret named {@code baseName} before a kustomize {@code nameSuffix}. */
  String secretNamed(String baseName) {
    return all("Secret").stream()
        .map(Rendered::name)
        .filter(name -> name.equals(baseName) || name.startsWith(baseName + "-"))
        .findFirst()
        .orElseThrow(() -> new AssertionError("the rendering has no Secret " + baseName));
  }

  ObjectNode one(String kind) {
    List<ObjectNode> matches = all(kind);
    if (matches.size() != 1) {
      throw new AssertionError(
          source + " renders " + matches.size() + " " + kind + " objects, expected one");
    }
    return matches.get(0);
  }

  static List<JsonNode> elements(JsonNode array) {
    return array instanceof ArrayNode list
        ? StreamSupport.stream(list.spliterator(), false).toList()
        : List.of();
  }

  static List<String> texts(JsonNode array) {
    return elements(array).stream().map(JsonNode::asText).toList();
  }

  @Override
  public String toString() {
    return source;
  }
}
