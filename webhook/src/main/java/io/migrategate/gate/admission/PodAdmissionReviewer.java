package io.migrategate.gate.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GroupVersionKind;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponseBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReviewBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gate's reviewer: injects {@code migrate-wait} into annotated pods at CREATE (rules in {@link
 * GateResolver}, placement in {@link InitContainerPlacement}, the container in {@link
 * WaiterContainer}).
 *
 * <p>In order: a review the API server never sends (no kind, no operation, no pod object, no
 * namespace) is denied, never allowed; other kinds and operations pass; excluded namespaces are
 * never touched; a mirror pod is skipped (its static pod already runs); from the entry of enforced
 * namespaces ({@link Entry#ENFORCED}) a pod that opts out, itself or through its workload, is
 * denied; a pod that already has a {@code migrate-wait} passes only when it is the gate's own
 * ({@link InjectedWaiter}); otherwise the resolution decides, and an injection is denied where the
 * waiter could never work (Windows, no cluster DNS in gate mode). {@code migrate.io/status} on
 * every pod admitted past the excluded namespaces is the gate's, overwriting a client's.
 *
 * <p>Dry-run requests get exactly the same answer: the reviewer has no side effects.
 */
public final class PodAdmissionReviewer implements AdmissionReviewer {
  private static final Logger LOG = LoggerFactory.getLogger(PodAdmissionReviewer.class);
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private final InjectionConfig config;
  private final GateResolver resolver;
  private final JobStatusView jobs;

  public PodAdmissionReviewer(InjectionConfig config, OwnerLookup owners) {
    this(config, owners, JobStatusView.NONE);
  }

  /**
   * @param jobs what the gate knows about Jobs: a pod whose Jobs all succeeded gets no waiter
   */
  public PodAdmissionReviewer(InjectionConfig config, OwnerLookup owners, JobStatusView jobs) {
    this.config = Objects.requireNonNull(config, "config");
    this.resolver = new GateResolver(Objects.requireNonNull(owners, "owners"));
    this.jobs = Objects.requireNonNull(jobs, "jobs");
  }

  @Override
  public ReviewResult review(AdmissionReview review, Entry entry) {
    AdmissionRequest request = review == null ? null : review.getRequest();
    String uid = request == null ? null : request.getUid();
    boolean dryRun = request != null && Boolean.TRUE.equals(request.getDryRun());
    Reply reply;
    try {
      reply = decide(request, entry);
    } catch (WouldBlockException e) {
      throw e;
    } catch (RuntimeException e) {
      LOG.error("internal error reviewing uid={}", uid, e);
      reply = unableToDecide(Reasons.INTERNAL_ERROR, "internal error: " + e, 500);
    }
    return new ReviewResult(envelope(uid, reply), reply.outcome(), reply.reason(), dryRun);
  }

  private Reply decide(AdmissionRequest request, Entry entry) {
    if (request == null) {
      throw new IllegalArgumentException("the AdmissionReview has no request");
    }
    Optional<String> malformed = malformedEnvelope(request);
    if (malformed.isPresent()) {
      return Reply.deny(Reasons.MALFORMED_REQUEST, "migrate-gate: " + malformed.get(), 400);
    }
    if (!isPodCreateTarget(request)) {
      return Reply.allow(Outcome.SKIPPED, Reasons.NOT_POD);
    }
    if (!"CREATE".equals(request.getOperation())) {
      return Reply.allow(Outcome.SKIPPED, Reasons.NOT_CREATE);
    }
    JsonNode object = asTree(request.getObject());
    Optional<String> notAPod = notAPod(object);
    if (notAPod.isPresent()) {
      return Reply.deny(
          Reasons.MALFORMED_REQUEST,
          "migrate-gate: the pod CREATE request has no request.object (a JSON object) to review: "
              + notAPod.get(),
          400);
    }
    PodView pod = new PodView(object);
    String namespace = namespaceOf(request, pod);
    if (namespace.isEmpty()) {
      return Reply.deny(
          Reasons.MALFORMED_REQUEST,
          "migrate-gate: the pod CREATE request names no namespace (request.namespace and"
              + " request.object.metadata.namespace are both empty)",
          400);
    }
    if (config.isExcluded(namespace)) {
      return Reply.allow(Outcome.SKIPPED, Reasons.EXCLUDED_NAMESPACE);
    }
    if (pod.isMirrorPod()) {
      return skipped(pod, Reasons.MIRROR_POD, Optional.of(mirrorPodWarning(namespace, pod)));
    }
    boolean enforced = entry == Entry.ENFORCED;
    if (enforced && "false".equals(pod.annotations().get(GateAnnotations.INJECT))) {
      // Only the entry of namespaces labelled migrate.io/gate=enforced sends pods that opt
      // themselves out (the others keep them away with matchConditions), and there opting out is
      // what the label forbids.
      return optOutEnforced(namespace, pod, "the pod (its template)");
    }
    Resolution resolution = resolver.resolve(namespace, pod);
    if (enforced
        && resolution instanceof Resolution.Skip skip
        && skip.reason().equals(Reasons.OPT_OUT)) {
      return optOutEnforced(
          namespace, pod, "the metadata of its workload (Deployment, StatefulSet or DaemonSet)");
    }
    if (pod.hasContainerNamed(WaiterContainer.NAME)) {
      return existingWaiter(namespace, pod, resolution);
    }
    if (resolution instanceof Resolution.Gate gate) {
      WaitSpec spec = gate.spec();
      if (jobs.allSucceeded(namespace, spec.jobs().names(), spec.revision().orElse(null))) {
        // The fast path: nothing to wait for, so the pod starts with zero overhead.
        return skipped(pod, Reasons.JOB_SUCCEEDED, Optional.empty());
      }
      return inject(namespace, pod, spec);
    }
    return notGated(namespace, pod, resolution);
  }

  /** The answer for a pod the gate injects nothing into: skipped, denied, or the lookup policy. */
  private Reply notGated(String namespace, PodView pod, Resolution resolution) {
    if (resolution instanceof Resolution.Skip skip) {
      return skipped(pod, skip.reason(), skip.warning());
    }
    if (resolution instanceof Resolution.Deny deny) {
      return Reply.deny(
          deny.reason(),
          "migrate-gate denied " + pod.describe(namespace) + ": " + deny.message(),
          400);
    }
    Resolution.LookupFailed failed = (Resolution.LookupFailed) resolution;
    if (config.failurePolicy() == FailurePolicy.FAIL_OPEN) {
      return skipped(
          pod,
          Reasons.OWNER_LOOKUP_FAILED,
          Optional.of(
              "migrate-gate could not read "
                  + failed.owner()
                  + " ("
                  + failed.cause()
                  + "); "
                  + pod.describe(namespace)
                  + " was admitted WITHOUT migrate-wait (owner lookup policy fail-open)"));
    }
    return Reply.deny(
        Reasons.OWNER_LOOKUP_FAILED,
        "migrate-gate could not read "
            + failed.owner()
            + " to see whether it carries "
            + GateAnnotations.JOB
            + " ("
            + failed.cause()
            + "); "
            + pod.describe(namespace)
            + " is denied rather than started without its gate (owner lookup policy fail-closed)."
            + " This is temporary: the workload controller retries creating the pod.",
        503);
  }

  /**
   * A pod that already has a container named {@code migrate-wait} at CREATE: the gate's own
   * (reinvocation after another webhook, or a pod re-created from a stored one) only when it is
   * exactly what the gate would inject now ({@link InjectedWaiter}); anything else is denied, the
   * name is reserved. Either way {@code migrate.io/status} stays the gate's word.
   */
  private Reply existingWaiter(String namespace, PodView pod, Resolution resolution) {
    if (resolution instanceof Resolution.Gate gate) {
      List<String> differences =
          InjectedWaiter.differences(pod, expectedWaiter(namespace, pod, gate.spec()));
      if (differences.isEmpty()) {
        return Reply.allow(Outcome.SKIPPED, Reasons.ALREADY_INJECTED)
            .withPatch(PodPatchBuilder.status(pod, GateAnnotations.STATUS_INJECTED));
      }
      return foreignWaiter(
          namespace,
          pod,
          " that is not the one the gate injects: " + listed(differences) + ".",
          " If another webhook rewrites the waiter's image (a registry mirror), set the gate's"
              + " --waiter-image to the rewritten image.");
    }
    if (resolution instanceof Resolution.Skip skip) {
      return foreignWaiter(
          namespace,
          pod,
          ", but the gate injects none into this pod ("
              + GateAnnotations.statusSkipped(skip.reason())
              + ").",
          "");
    }
    return notGated(namespace, pod, resolution);
  }

  private static Reply foreignWaiter(String namespace, PodView pod, String what, String imageHint) {
    return Reply.deny(
        Reasons.FOREIGN_WAITER,
        "migrate-gate denied "
            + pod.describe(namespace)
            + ": it has a container named "
            + WaiterContainer.NAME
            + what
            + " The name "
            + WaiterContainer.NAME
            + " is reserved for the gate: remove that container from the pod template (the gate"
            + " injects its own into pods that carry "
            + GateAnnotations.JOB
            + ") or rename it."
            + imageHint,
        400);
  }

  private static String listed(List<String> differences) {
    int shown = Math.min(differences.size(), 6);
    String text = String.join("; ", differences.subList(0, shown));
    return differences.size() > shown
        ? text + "; and " + (differences.size() - shown) + " more"
        : text;
  }

  private static Reply optOutEnforced(String namespace, PodView pod, String where) {
    return Reply.deny(
        Reasons.OPT_OUT_ENFORCED,
        "migrate-gate denied "
            + pod.describe(namespace)
            + ": "
            + where
            + " carries "
            + GateAnnotations.INJECT
            + ": \"false\", but namespace "
            + namespace
            + " enforces gating (label migrate.io/gate=enforced), so its pods cannot opt out."
            + " Remove "
            + GateAnnotations.INJECT
            + " there; to run this namespace's pods un-gated, relabel the"
            + " namespace instead: migrate.io/gate=enabled (opt-outs honoured, fail-open) or"
            + " migrate.io/gate=disabled.",
        400);
  }

  private static String mirrorPodWarning(String namespace, PodView pod) {
    return pod.describe(namespace)
        + " is a mirror pod (annotation "
        + PodView.MIRROR_ANNOTATION
        + "): the kubelet runs its static pod from a manifest on the node whatever the gate"
        + " answers, and a mirror pod cannot mount the projected ServiceAccount token migrate-wait"
        + " needs, so migrate-wait was not injected (migrate.io/status: "
        + GateAnnotations.statusSkipped(Reasons.MIRROR_POD)
        + "). To gate it, run it as a Deployment, StatefulSet or DaemonSet.";
  }

  /** The container the gate injects into this pod now, in the mode {@link #inject} picks. */
  private ObjectNode expectedWaiter(String namespace, PodView pod, WaitSpec spec) {
    Optional<WaitEndpoint> endpoint = gateModeEndpoint(spec);
    if (endpoint.isPresent()) {
      return WaiterContainer.gateContainer(config, spec, namespace, pod, endpoint.get());
    }
    String tokenVolume = pod.serviceAccountTokenVolume().orElse(WaiterContainer.TOKEN_VOLUME);
    return WaiterContainer.container(config, spec, namespace, pod, tokenVolume);
  }

  /** The wait API the waiter asks, unless it reads the Jobs from the API server (direct mode). */
  private Optional<WaitEndpoint> gateModeEndpoint(WaitSpec spec) {
    StatusSource source = spec.statusSource().orElse(StatusSource.GATE);
    return source == StatusSource.GATE ? config.waitEndpoint() : Optional.empty();
  }

  private Reply inject(String namespace, PodView pod, WaitSpec spec) {
    Optional<String> windows = pod.windowsField();
    if (windows.isPresent()) {
      return Reply.deny(
          Reasons.WINDOWS_POD,
          "migrate-gate denied "
              + pod.describe(namespace)
              + ": it runs on Windows ("
              + windows.get()
              + "), but the "
              + WaiterContainer.NAME
              + " image is Linux-only, so the pod could never start. Opt the pod out ("
              + GateAnnotations.INJECT
              + ": \"false\", not allowed in a namespace labelled migrate.io/gate=enforced) and"
              + " wait for the migration another way, e.g. an init container of your own that"
              + " checks the Job.",
          400);
    }
    Optional<WaitEndpoint> endpoint = gateModeEndpoint(spec);
    if (endpoint.isPresent()) {
      return injectGateMode(namespace, pod, spec, endpoint.get());
    }
    Optional<String> noGate =
        spec.statusSource().isPresent() && spec.statusSource().get() == StatusSource.GATE
            ? Optional.of(
                GateAnnotations.SOURCE
                    + ": gate, but this gate has no wait API URL configured (--wait-url and"
                    + " --wait-ca-file); migrate-wait reads the Jobs from the API server instead")
            : Optional.empty();
    return injectDirectMode(namespace, pod, spec).withWarning(noGate);
  }

  private Reply injectGateMode(
      String namespace, PodView pod, WaitSpec spec, WaitEndpoint endpoint) {
    Optional<String> dns = clusterDnsProblem(pod, endpoint);
    if (dns.isPresent()) {
      return Reply.deny(
          Reasons.NO_CLUSTER_DNS,
          "migrate-gate denied "
              + pod.describe(namespace)
              + ": "
              + dns.get()
              + ", so its "
              + WaiterContainer.NAME
              + " could never resolve the gate's address "
              + endpoint.host()
              + " and would wait forever. Set dnsPolicy: "
              + (pod.hostNetwork() ? "ClusterFirstWithHostNet" : "ClusterFirst")
              + " on the pod template, or have the waiter read the Jobs from the API server ("
              + GateAnnotations.SOURCE
              + ": api; its ServiceAccount then needs a Role, see docs/annotations.md), or opt"
              + " the pod out ("
              + GateAnnotations.INJECT
              + ": \"false\").",
          400);
    }
    if (pod.volumeNames().contains(WaiterContainer.TOKEN_VOLUME)) {
      return nameConflict(namespace, pod);
    }
    JsonPatch patch =
        PodPatchBuilder.inject(
            pod,
            WaiterContainer.gateContainer(config, spec, namespace, pod, endpoint),
            InitContainerPlacement.indexFor(pod.initContainers()),
            Optional.of(WaiterContainer.gateTokenVolume()));
    return Reply.allow(Outcome.INJECTED, Reasons.INJECTED)
        .withPatch(patch)
        .withWarning(InitContainerPlacement.meshWarning(pod));
  }

  /**
   * Why the pod's containers cannot resolve a Service name, when the wait API is one: a host
   * network pod with the default DNS policy, or {@code dnsPolicy: Default}, both use the node's
   * resolver. {@code dnsPolicy: None} brings its own resolver configuration and is trusted.
   */
  private static Optional<String> clusterDnsProblem(PodView pod, WaitEndpoint endpoint) {
    if (!endpoint.hostIsName()) {
      return Optional.empty();
    }
    String policy = pod.dnsPolicy();
    if ("Default".equals(policy)) {
      return Optional.of(
          "it sets dnsPolicy: Default"
              + (pod.hostNetwork() ? " (and hostNetwork: true)" : "")
              + ", which uses the node's DNS resolver instead of the cluster's");
    }
    if (pod.hostNetwork() && "ClusterFirst".equals(policy)) {
      return Optional.of(
          "it sets hostNetwork: true with dnsPolicy: ClusterFirst (the default), which on the"
              + " host network means the node's DNS resolver instead of the cluster's");
    }
    return Optional.empty();
  }

  private static Reply nameConflict(String namespace, PodView pod) {
    return Reply.deny(
        Reasons.NAME_CONFLICT,
        "migrate-gate denied "
            + pod.describe(namespace)
            + ": it has a volume named "
            + WaiterContainer.TOKEN_VOLUME
            + " but no "
            + WaiterContainer.NAME
            + " container; the gate needs that volume name for the waiter's token. Rename the"
            + " volume.",
        400);
  }

  private Reply injectDirectMode(String namespace, PodView pod, WaitSpec spec) {
    List<String> volumes = pod.volumeNames();
    Optional<String> serviceAccountVolume = pod.serviceAccountTokenVolume();
    if (serviceAccountVolume.isEmpty() && volumes.contains(WaiterContainer.TOKEN_VOLUME)) {
      return nameConflict(namespace, pod);
    }
    String tokenVolume = serviceAccountVolume.orElse(WaiterContainer.TOKEN_VOLUME);
    Optional<JsonNode> newVolume =
        serviceAccountVolume.isPresent()
            ? Optional.empty()
            : Optional.of(WaiterContainer.tokenVolume());
    JsonPatch patch =
        PodPatchBuilder.inject(
            pod,
            WaiterContainer.container(config, spec, namespace, pod, tokenVolume),
            InitContainerPlacement.indexFor(pod.initContainers()),
            newVolume);
    return Reply.allow(Outcome.INJECTED, Reasons.INJECTED)
        .withPatch(patch)
        .withWarning(InitContainerPlacement.meshWarning(pod));
  }

  private static Reply skipped(PodView pod, String reason, Optional<String> warning) {
    return Reply.allow(Outcome.SKIPPED, reason)
        .withPatch(PodPatchBuilder.status(pod, GateAnnotations.statusSkipped(reason)))
        .withWarning(warning);
  }

  /** An internal error: the failure policy decides, as for an owner lookup the gate cannot make. */
  private Reply unableToDecide(String reason, String message, int code) {
    if (config.failurePolicy() == FailurePolicy.FAIL_OPEN) {
      return Reply.allow(Outcome.ERROR, reason)
          .withWarning(
              Optional.of("migrate-gate admitted this object unchecked (fail-open): " + message));
    }
    return Reply.deny(Outcome.ERROR, reason, "migrate-gate: " + message, code);
  }

  /**
   * What makes this request one the API server never sends: every review names the kind of object
   * and the operation. Without them the gate cannot know what it would be allowing.
   */
  private static Optional<String> malformedEnvelope(AdmissionRequest request) {
    GroupVersionKind kind = request.getKind();
    if (kind == null || isEmpty(kind.getKind()) || isEmpty(kind.getVersion())) {
      return Optional.of(
          "the AdmissionReview's request names no kind (request.kind.version and .kind): not a"
              + " review the API server sends");
    }
    if (isEmpty(request.getOperation())) {
      return Optional.of(
          "the AdmissionReview's request names no operation (request.operation): not a review"
              + " the API server sends");
    }
    return Optional.empty();
  }

  /**
   * Why {@code request.object} of a pod CREATE is not a pod, or empty: the API server always sends
   * the pod as a JSON object with its metadata and spec (and apiVersion v1, kind Pod).
   */
  private static Optional<String> notAPod(JsonNode object) {
    if (object == null || object.isNull() || object.isMissingNode()) {
      return Optional.of("it is missing");
    }
    if (!object.isObject()) {
      return Optional.of("it is a JSON " + object.getNodeType().name().toLowerCase(Locale.ROOT));
    }
    String kind = object.path("kind").asText("");
    String apiVersion = object.path("apiVersion").asText("");
    if (!kind.isEmpty() && !"Pod".equals(kind)
        || !apiVersion.isEmpty() && !"v1".equals(apiVersion)) {
      return Optional.of("it is a " + apiVersion + " " + kind + ", not a v1 Pod");
    }
    if (!object.path("metadata").isObject() || !object.path("spec").isObject()) {
      return Optional.of("it has no metadata or no spec object, so it is no pod");
    }
    return Optional.empty();
  }

  private static boolean isPodCreateTarget(AdmissionRequest request) {
    GroupVersionKind kind = request.getKind();
    boolean pod =
        kind != null
            && isEmpty(kind.getGroup())
            && "v1".equals(kind.getVersion())
            && "Pod".equals(kind.getKind());
    return pod && isEmpty(request.getSubResource());
  }

  private static String namespaceOf(AdmissionRequest request, PodView pod) {
    String namespace = request.getNamespace();
    if (isEmpty(namespace)) {
      namespace = pod.metadata().path("namespace").asText("");
    }
    return namespace;
  }

  /**
   * The pod as a JSON tree. The gate's endpoint already reads {@code request.object} as a tree;
   * only callers that built a typed model pay for the conversion.
   */
  private static JsonNode asTree(Object object) {
    if (object == null || object instanceof JsonNode) {
      return (JsonNode) object;
    }
    return SERIALIZATION.convertValue(object, JsonNode.class);
  }

  private static boolean isEmpty(String value) {
    return value == null || value.isEmpty();
  }

  private static AdmissionReview envelope(String uid, Reply reply) {
    AdmissionResponseBuilder response =
        new AdmissionResponseBuilder().withUid(uid).withAllowed(reply.allowed());
    if (reply.patch() != null && !reply.patch().isEmpty()) {
      byte[] json = reply.patch().toJson().toString().getBytes(StandardCharsets.UTF_8);
      response.withPatchType("JSONPatch").withPatch(Base64.getEncoder().encodeToString(json));
    }
    if (reply.status() != null) {
      response.withStatus(reply.status());
    }
    if (!reply.warnings().isEmpty()) {
      response.withWarnings(reply.warnings());
    }
    return new AdmissionReviewBuilder()
        .withApiVersion("admission.k8s.io/v1")
        .withKind("AdmissionReview")
        .withResponse(response.build())
        .build();
  }

  /** The answer before it is wrapped in an AdmissionReview. */
  private record Reply(
      Outcome outcome,
      String reason,
      boolean allowed,
      Status status,
      JsonPatch patch,
      List<String> warnings) {

    static Reply allow(Outcome outcome, String reason) {
      return new Reply(outcome, reason, true, null, null, List.of());
    }

    static Reply deny(Outcome outcome, String reason, String message, int code) {
      Status status = new StatusBuilder().withCode(code).withMessage(message).build();
      return new Reply(outcome, reason, false, status, null, List.of());
    }

    static Reply deny(String reason, String message, int code) {
      return deny(Outcome.DENIED, reason, message, code);
    }

    Reply withPatch(JsonPatch newPatch) {
      return new Reply(outcome, reason, allowed, status, newPatch, warnings);
    }

    Reply withWarning(Optional<String> warning) {
      if (warning.isEmpty()) {
        return this;
      }
      List<String> more = new ArrayList<>(warnings);
      more.add(warning.get());
      return new Reply(outcome, reason, allowed, status, patch, List.copyOf(more));
    }
  }
}
