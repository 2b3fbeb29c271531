package io.migrategate.gate.admission;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The {@code migrate-wait} init container and its token volume, as JSON for the patch. */
public final class WaiterContainer {
  public static final String NAME = "migrate-wait";

  /**
   * Volume added when the pod has no ServiceAccount token volume to share (direct mode), or always
   * holding the gate-audience token (gate mode). Mounted into migrate-wait only.
   */
  static final String TOKEN_VOLUME = "migrate-gate-token";

  /** Gate mode: where the waiter finds its token (its default {@code --token-file} directory). */
  static final String GATE_TOKEN_MOUNT_PATH = "/var/run/secrets/migrate-gate";

  /** Gate mode: the audience of the projected token, checked by the gate with TokenReview. */
  static final String GATE_AUDIENCE = "migrate-gate";

  /** Where in-cluster clients (fabric8, client-go) look for token, ca.crt and namespace. */
  static final String TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";

  /**
   * The kubelet refreshes a projected token at 80% of its lifetime; 3607 s is the value the
   * ServiceAccount admission plugin uses for {@code kube-api-access-*}, so the API server treats
   * both alike (including its extended-expiry handling).
   */
  static final long TOKEN_EXPIRATION_SECONDS = 3607;

  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private WaiterContainer() {}

  /**
   * The container. No command or args: the image's entrypoint is the one place for JVM options, and
   * the waiter reads its settings from the environment (contracts.md).
   */
  static ObjectNode container(
      InjectionConfig config, WaitSpec spec, String namespace, PodView pod, String tokenVolume) {
    return container(config, spec, namespace, pod, tokenVolume, TOKEN_MOUNT_PATH, null);
  }

  /**
   * Gate mode: the waiter asks the gate, with a token of the gate's audience ({@link
   * #gateTokenVolume}); it gets no API token at all, so it needs (and has) no RBAC.
   */
  static ObjectNode gateContainer(
      InjectionConfig config, WaitSpec spec, String namespace, PodView pod, WaitEndpoint endpoint) {
    return container(config, spec, namespace, pod, TOKEN_VOLUME, GATE_TOKEN_MOUNT_PATH, endpoint);
  }

  private static ObjectNode container(
      InjectionConfig config,
      WaitSpec spec,
      String namespace,
      PodView pod,
      String tokenVolume,
      String tokenMountPath,
      WaitEndpoint endpoint) {
    ObjectNode container = JSON.objectNode();
    container.put("name", NAME);
    container.put("image", config.waiterImage());
    ArrayNode env = container.putArray("env");
    env.add(envVar("MIGRATE_GATE_NAMESPACE", namespace));
    env.add(envVar("MIGRATE_GATE_JOBS", spec.jobs().joined()));
    spec.revision().ifPresent(revision -> env.add(envVar("MIGRATE_GATE_REVISION", revision)));
    spec.timeout().ifPresent(timeout -> env.add(envVar("MIGRATE_GATE_TIMEOUT", timeout)));
    if (endpoint != null) {
      env.add(envVar("MIGRATE_GATE_URL", endpoint.url()));
      env.add(envVar("MIGRATE_GATE_CA", endpoint.caPem()));
    }
    container.set("resources", resources(config.resources()));
    container.set("securityContext", securityContext(config, pod));
    // The waiter writes its verdict to /dev/termination-log; should it die before writing, the
    // last log lines say why instead of an empty message.
    container.put("terminationMessagePolicy", "FallbackToLogsOnError");
    ObjectNode mount = container.putArray("volumeMounts").addObject();
    mount.put("name", tokenVolume);
    mount.put("mountPath", tokenMountPath);
    mount.put("readOnly", true);
    return container;
  }

  /**
   * A projected volume with what an in-cluster client needs, for pods without a token volume
   * ({@code automountServiceAccountToken: false} on the pod or its ServiceAccount). It is mounted
   * into {@code migrate-wait} only, so the app containers stay without a token as asked.
   */
  static ObjectNode tokenVolume() {
    ObjectNode volume = JSON.objectNode();
    volume.put("name", TOKEN_VOLUME);
    ArrayNode sources = volume.putObject("projected").putArray("sources");
    ObjectNode token = sources.addObject().putObject("serviceAccountToken");
    token.put("expirationSeconds", TOKEN_EXPIRATION_SECONDS);
    token.put("path", "token");
    ObjectNode caBundle = sources.addObject().putObject("configMap");
    caBundle.put("name", "kube-root-ca.crt");
    ObjectNode caItem = caBundle.putArray("items").addObject();
    caItem.put("key", "ca.crt");
    caItem.put("path", "ca.crt");
    ObjectNode namespaceItem =
        sources.addObject().putObject("downwardAPI").putArray("items").addObject();
    namespaceItem.put("path", "namespace");
    ObjectNode fieldRef = namespaceItem.putObject("fieldRef");
    fieldRef.put("apiVersion", "v1");
    fieldRef.put("fieldPath", "metadata.namespace");
    return volume;
  }

  /**
   * Gate mode: a token for the gate's audience only (useless against the API server), refreshed by
   * the kubelet like any projected token.
   */
  static ObjectNode gateTokenVolume() {
    ObjectNode volume = JSON.objectNode();
    volume.put("name", TOKEN_VOLUME);
    ObjectNode token =
        volume
            .putObject("projected")
            .putArray("sources")
            .addObject()
            .putObject("serviceAccountToken");
    token.put("audience", GATE_AUDIENCE);
    token.put("expirationSeconds", TOKEN_EXPIRATION_SECONDS);
    token.put("path", "token");
    return volume;
  }

  private static ObjectNode envVar(String name, String value) {
    ObjectNode env = JSON.objectNode();
    env.put("name", name);
    env.put("value", value);
    return env;
  }

  private static ObjectNode resources(WaiterResources resources) {
    ObjectNode node = JSON.objectNode();
    ObjectNode requests = node.putObject("requests");
    requests.put("cpu", resources.requestsCpu());
    requests.put("memory", resources.requestsMemory());
    ObjectNode limits = node.putObject("limits");
    limits.put("cpu", resources.limitsCpu());
    limits.put("memory", resources.limitsMemory());
    return node;
  }

  /**
   * Passes PodSecurity "restricted" on its own, whatever the pod sets. The UID is the pod's when
   * the pod sets a non-root one (files the pod shares are then readable as usual), otherwise a
   * fixed non-root UID; a pod-level UID 0 is not inherited because runAsNonRoot would refuse it.
   * Without a configured UID the platform assigns one (runAsNonRoot still holds).
   */
  private static ObjectNode securityContext(InjectionConfig config, PodView pod) {
    ObjectNode context = JSON.objectNode();
    context.put("runAsNonRoot", true);
    boolean podSetsNonRootUser = pod.podRunAsUser().filter(uid -> uid > 0).isPresent();
    if (!podSetsNonRootUser && config.runAsUser().isPresent()) {
      long uid = config.runAsUser().getAsLong();
      context.put("runAsUser", uid);
      if (pod.podRunAsGroup().isEmpty()) {
        // Without it the waiter would run with the image's group, often 0.
        context.put("runAsGroup", uid);
      }
    }
    context.setAll(fixedSecurityContext());
    return context;
  }

  /** The fields of the waiter's securityContext that never depend on the pod or the config. */
  static ObjectNode fixedSecurityContext() {
    ObjectNode context = JSON.objectNode();
    context.put("runAsNonRoot", true);
    context.put("allowPrivilegeEscalation", false);
    context.put("readOnlyRootFilesystem", true);
    context.putObject("capabilities").putArray("drop").add("ALL");
    context.putObject("seccompProfile").put("type", "RuntimeDefault");
    return context;
  }
}
