package io.migrategate.gate.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Whether a container named {@code migrate-wait} is the gate's own: the one rule for the reviewer
 * (a pod that already has one at CREATE: the gate's reinvocation, or a client that wrote it) and
 * for the un-gated pod audit. The name is reserved for the gate.
 *
 * <p>Compared is everything that could let a container named {@code migrate-wait} finish without
 * the Job having succeeded: the image (the code that runs); no {@code command}/{@code args} (the
 * image's entrypoint runs); not a native sidecar ({@code restartPolicy: Always}: the pod would not
 * wait for it to finish); exactly the {@code MIGRATE_GATE_*} environment the gate sets; none of the
 * variables the waiter, its JVM or the dynamic loader read otherwise ({@link #RESERVED_ENV}, {@code
 * LD_*}); no {@code envFrom} (it could carry them); the gate's volume mount and no other (a mount
 * could replace the image's files; only the ServiceAccount token mount the API server adds to every
 * container of a pod created with its containers is tolerated, where the waiter does not read it);
 * no {@code volumeDevices}; and the {@code securityContext} fields the gate sets.
 *
 * <p>Not compared: what the API server defaults ({@code imagePullPolicy}, {@code
 * terminationMessagePath}), and what another webhook may add without changing the waiter's verdict
 * (other environment variables, {@code securityContext} fields the gate leaves unset, resources),
 * so that a reinvocation after another webhook still recognizes the gate's container.
 */
final class InjectedWaiter {
  /** The prefix of the waiter's own settings: only the gate sets these. */
  static final String ENV_PREFIX = "MIGRATE_GATE_";

  /** Read by the waiter (its API access) or its JVM; the gate never sets them. */
  static final Set<String> RESERVED_ENV =
      Set.of(
          "KUBECONFIG",
          "KUBERNETES_SERVICE_HOST",
          "KUBERNETES_SERVICE_PORT",
          "JAVA_TOOL_OPTIONS",
          "JDK_JAVA_OPTIONS",
          "_JAVA_OPTIONS");

  /** The settings the gate writes, in any mode. */
  private static final Set<String> GATE_ENV =
      Set.of(
          "MIGRATE_GATE_NAMESPACE",
          "MIGRATE_GATE_JOBS",
          "MIGRATE_GATE_REVISION",
          "MIGRATE_GATE_TIMEOUT",
          "MIGRATE_GATE_URL",
          "MIGRATE_GATE_CA");

  /**
   * Equal JSON values, numbers by value: the gate writes {@code runAsUser} as whatever number type
   * it built, and a pod the API server decoded and encoded again (a reinvocation) carries an int.
   */
  private static final Comparator<JsonNode> SAME_VALUE =
      (a, b) ->
          a.equals(b)
                  || (a.isNumber()
                      && b.isNumber()
                      && a.decimalValue().compareTo(b.decimalValue()) == 0)
              ? 0
              : 1;

  /** Shown abbreviated in a denial: a CA is kilobytes. */
  private static final int MAX_VALUE_SHOWN = 80;

  /**
   * What the audit knows of the gate's waiter without its full configuration.
   *
   * @param image the gate's {@code --waiter-image}: a waiter of the same repository (any tag or
   *     digest: the gate may have been upgraded since) is accepted
   * @param waitUrl the gate's {@code --wait-url}, if any: a gate-mode waiter must ask that URL
   */
  record Identity(String image, Optional<String> waitUrl) {
    Identity {
      Objects.requireNonNull(image, "image");
      Objects.requireNonNull(waitUrl, "waitUrl");
    }
  }

  private InjectedWaiter() {}

  /**
   * Admission: how the pod's {@code migrate-wait} differs from {@code expected}, the container the
   * gate would inject into this pod now; empty when it is the gate's.
   */
  static List<String> differences(PodView pod, JsonNode expected) {
    List<String> differences = new ArrayList<>();
    Optional<JsonNode> found = located(pod, differences);
    if (found.isEmpty()) {
      return differences;
    }
    JsonNode actual = found.get();
    String image = actual.path("image").asText("");
    String expectedImage = expected.path("image").asText();
    if (!image.equals(expectedImage)) {
      differences.add("image " + quote(image) + " (the gate injects " + quote(expectedImage) + ")");
    }
    shape(actual, differences);
    Map<String, String> want = gateEnv(expected);
    Map<String, String> have = gateEnv(actual);
    for (Map.Entry<String, String> entry : want.entrySet()) {
      String value = have.get(entry.getKey());
      if (value == null) {
        differences.add("env " + entry.getKey() + " is missing");
      } else if (!value.equals(entry.getValue())) {
        differences.add(
            "env "
                + entry.getKey()
                + " is "
                + quote(value)
                + " (the gate sets "
                + quote(entry.getValue())
                + ")");
      }
    }
    for (String name : have.keySet()) {
      if (!want.containsKey(name)) {
        differences.add("env " + name + " is set (the gate does not set it for this pod)");
      }
    }
    mounts(actual, List.of(expected.path("volumeMounts").path(0)), differences);
    securityContext(actual, expected.path("securityContext"), differences);
    return differences;
  }

  /**
   * The audit, on a stored pod: how its {@code migrate-wait} differs from a waiter the gate injects
   * into a pod of {@code namespace}; empty when it is one. Unlike {@link #differences}, the values
   * that change over time are not compared (the image's tag, the CA, the Jobs of an earlier
   * release), nor is the mode (gate or direct) the gate chose then.
   */
  static List<String> auditDifferences(PodView pod, String namespace, Optional<Identity> identity) {
    List<String> differences = new ArrayList<>();
    Optional<JsonNode> found = located(pod, differences);
    if (found.isEmpty()) {
      return differences;
    }
    JsonNode actual = found.get();
    String image = actual.path("image").asText("");
    identity
        .filter(known -> !repository(known.image()).equals(repository(image)))
        .ifPresent(
            known ->
                differences.add(
                    "image "
                        + quote(image)
                        + " (the gate injects "
                        + quote(known.image())
                        + " or another tag of it)"));
    shape(actual, differences);
    Map<String, String> have = gateEnv(actual);
    for (String name : have.keySet()) {
      if (!GATE_ENV.contains(name)) {
        differences.add("env " + name + " is set (the gate never sets it)");
      }
    }
    if (!namespace.equals(have.get("MIGRATE_GATE_NAMESPACE"))) {
      differences.add(
          "env MIGRATE_GATE_NAMESPACE is "
              + quote(have.get("MIGRATE_GATE_NAMESPACE"))
              + " (the gate sets the pod's namespace "
              + quote(namespace)
              + ")");
    }
    try {
      JobReference.parse(have.get("MIGRATE_GATE_JOBS"));
    } catch (InvalidAnnotationException e) {
      differences.add("env MIGRATE_GATE_JOBS names no valid Jobs");
    }
    boolean gateMode = have.containsKey("MIGRATE_GATE_URL");
    if (gateMode) {
      if (!have.containsKey("MIGRATE_GATE_CA")) {
        differences.add("env MIGRATE_GATE_CA is missing");
      }
      identity
          .flatMap(Identity::waitUrl)
          .filter(url -> !url.equals(have.get("MIGRATE_GATE_URL")))
          .ifPresent(
              url ->
                  differences.add(
                      "env MIGRATE_GATE_URL is "
                          + quote(have.get("MIGRATE_GATE_URL"))
                          + " (the gate's is "
                          + quote(url)
                          + ")"));
      mounts(actual, List.of(gateMount()), differences);
    } else {
      if (have.containsKey("MIGRATE_GATE_CA")) {
        differences.add("env MIGRATE_GATE_CA is set without MIGRATE_GATE_URL");
      }
      // The pod's own ServiceAccount token volume, or the gate's projected one when it had none.
      String volume = WaiterContainer.TOKEN_VOLUME;
      for (JsonNode mount : actual.path("volumeMounts")) {
        String name = mount.path("name").asText("");
        if (name.startsWith(PodView.SERVICE_ACCOUNT_VOLUME_PREFIX)) {
          volume = name;
        }
      }
      mounts(actual, List.of(mount(volume, WaiterContainer.TOKEN_MOUNT_PATH)), differences);
    }
    securityContext(actual, WaiterContainer.fixedSecurityContext(), differences);
    return differences;
  }

  /** The pod's {@code migrate-wait}, if it is an init container; else why not. */
  private static Optional<JsonNode> located(PodView pod, List<String> differences) {
    Optional<JsonNode> init = pod.initContainer(WaiterContainer.NAME);
    if (init.isPresent()) {
      return init;
    }
    if (pod.regularContainer(WaiterContainer.NAME).isPresent()) {
      differences.add(
          "it is an app container (the gate injects "
              + WaiterContainer.NAME
              + " among the init containers, which must finish before the app starts)");
    } else {
      differences.add("it has no init container " + WaiterContainer.NAME);
    }
    return Optional.empty();
  }

  /** What no waiter of the gate ever has, whatever its configuration. */
  private static void shape(JsonNode container, List<String> differences) {
    if (container.hasNonNull("restartPolicy")) {
      differences.add(
          "restartPolicy is "
              + quote(container.path("restartPolicy").asText())
              + " (a native sidecar: the pod would not wait for it to finish; the gate sets none)");
    }
    for (String field : List.of("command", "args")) {
      if (container.path(field).size() > 0) {
        differences.add(field + " is set (the gate sets none: the waiter image's entrypoint runs)");
      }
    }
    if (container.path("envFrom").size() > 0) {
      differences.add("envFrom is set (the gate sets none)");
    }
    if (container.path("volumeDevices").size() > 0) {
      differences.add("volumeDevices is set (the gate sets none)");
    }
    List<String> seen = new ArrayList<>();
    for (JsonNode env : container.path("env")) {
      String name = env.path("name").asText("");
      if (RESERVED_ENV.contains(name) || name.startsWith("LD_")) {
        differences.add(
            "env " + name + " is set (read by the waiter or its JVM; the gate never sets it)");
      }
      if (name.startsWith(ENV_PREFIX)) {
        if (seen.contains(name)) {
          differences.add("env " + name + " is set twice");
        }
        if (env.hasNonNull("valueFrom")) {
          differences.add("env " + name + " uses valueFrom (the gate sets a value)");
        }
        seen.add(name);
      }
      // Any other variable (a proxy, a time zone another webhook adds) is not read by the waiter.
    }
  }

  /** The {@code MIGRATE_GATE_*} variables with their values, in order. */
  private static Map<String, String> gateEnv(JsonNode container) {
    Map<String, String> env = new LinkedHashMap<>();
    for (JsonNode variable : container.path("env")) {
      String name = variable.path("name").asText("");
      if (name.startsWith(ENV_PREFIX)) {
        env.putIfAbsent(name, variable.path("value").asText(""));
      }
    }
    return env;
  }

  /**
   * The mounts must be exactly {@code expected}, plus at most the ServiceAccount token mount the
   * API server adds (when the waiter's own mount is elsewhere: gate mode, which does not read it).
   */
  private static void mounts(
      JsonNode container, List<JsonNode> expected, List<String> differences) {
    List<JsonNode> missing = new ArrayList<>(expected);
    for (JsonNode mount : container.path("volumeMounts")) {
      Optional<JsonNode> match = missing.stream().filter(e -> sameMount(e, mount)).findFirst();
      if (match.isPresent()) {
        missing.remove(match.get());
        continue;
      }
      boolean serviceAccountMount =
          WaiterContainer.TOKEN_MOUNT_PATH.equals(mount.path("mountPath").asText())
              && mount.path("readOnly").asBoolean(false)
              && isBlank(mount, "subPath")
              && isBlank(mount, "subPathExpr")
              && expected.stream()
                  .noneMatch(
                      e -> WaiterContainer.TOKEN_MOUNT_PATH.equals(e.path("mountPath").asText()));
      if (!serviceAccountMount) {
        differences.add(
            "it mounts volume "
                + quote(mount.path("name").asText(""))
                + " at "
                + quote(mount.path("mountPath").asText(""))
                + " (the gate mounts nothing there)");
      }
    }
    for (JsonNode mount : missing) {
      differences.add(
          "it does not mount volume "
              + quote(mount.path("name").asText())
              + " read-only at "
              + quote(mount.path("mountPath").asText())
              + " (the gate's token mount)");
    }
  }

  private static boolean sameMount(JsonNode expected, JsonNode actual) {
    return expected.path("name").asText().equals(actual.path("name").asText(""))
        && expected.path("mountPath").asText().equals(actual.path("mountPath").asText(""))
        && actual.path("readOnly").asBoolean(false)
        && isBlank(actual, "subPath")
        && isBlank(actual, "subPathExpr");
  }

  private static boolean isBlank(JsonNode node, String field) {
    return node.path(field).asText("").isEmpty();
  }

  private static void securityContext(
      JsonNode container, JsonNode expected, List<String> differences) {
    JsonNode actual = container.path("securityContext");
    expected
        .fields()
        .forEachRemaining(
            field -> {
              if (!field.getValue().equals(SAME_VALUE, actual.path(field.getKey()))) {
                differences.add(
                    "securityContext."
                        + field.getKey()
                        + " is "
                        + (actual.has(field.getKey()) ? actual.path(field.getKey()) : "unset")
                        + " (the gate sets "
                        + field.getValue()
                        + ")");
              }
            });
  }

  private static JsonNode gateMount() {
    return mount(WaiterContainer.TOKEN_VOLUME, WaiterContainer.GATE_TOKEN_MOUNT_PATH);
  }

  private static JsonNode mount(String volume, String path) {
    ObjectNode mount = JsonNodeFactory.instance.objectNode();
    mount.put("name", volume);
    mount.put("mountPath", path);
    mount.put("readOnly", true);
    return mount;
  }

  /** {@code registry:5000/team/waiter} of {@code registry:5000/team/waiter:1.2@sha256:...}. */
  static String repository(String image) {
    String name = image;
    int digest = name.indexOf('@');
    if (digest >= 0) {
      name = name.substring(0, digest);
    }
    int tag = name.lastIndexOf(':');
    if (tag > name.lastIndexOf('/')) {
      name = name.substring(0, tag);
    }
    return name;
  }

  private static String quote(String value) {
    return value == null ? "unset" : "\"" + abbreviated(value) + "\"";
  }

  /** One line, at most 80 characters and an ellipsis: values quoted in messages. */
  static String abbreviated(String value) {
    String single = value.replace('\n', ' ');
    return single.length() > MAX_VALUE_SHOWN
        ? single.substring(0, MAX_VALUE_SHOWN) + "..."
        : single;
  }
}
