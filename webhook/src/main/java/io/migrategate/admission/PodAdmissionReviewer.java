package io.migrategate.admission;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gate's reviewer: injects {@code migrate-wait} into annotated pods at CREATE (rules in {@link
 * GateResolver}, placement in {@link InitContainerPlacement}, the container in {@link
 * WaiterContainer}).
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
  public ReviewResult review(AdmissionReview review) {
    AdmissionRequest request = review == null ? null : review.getRequest();
    String uid = request == null ? null : request.getUid();
    boolean dryRun = request != null && Boolean.TRUE.equals(request.getDryRun());
    Reply reply;
    try {
      reply = decide(request);
    } catch (WouldBlockException e) {
      throw e;
    } catch (RuntimeException e) {
      LOG.error("internal error reviewing uid={}", uid, e);
      reply = unableToDecide(Reasons.INTERNAL_ERROR, "internal error: " + e, 500);
    }
    return new ReviewResult(envelope(uid, reply), reply.outcome(), reply.reason(), dryRun);
  }

  private Reply decide(AdmissionRequest request) {
    if (request == null) {
      throw new IllegalArgumentException("the AdmissionReview has no request");
    }
    if (!isPodCreateTarget(request)) {
      return Reply.allow(Outcome.SKIPPED, Reasons.NOT_POD);
    }
    if (!"CREATE".equals(request.getOperation())) {
      return Reply.allow(Outcome.SKIPPED, Reasons.NOT_CREATE);
    }
    JsonNode object = asTree(request.getObject());
    if (object == null || !object.isObject()) {
      return Reply.deny(
          Reasons.MALFORMED_REQUEST,
          "migrate-gate: the pod CREATE request has no request.object (a JSON object) to review",
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
    if (pod.hasContainerNamed(WaiterContainer.NAME)) {
      return Reply.allow(Outcome.SKIPPED, Reasons.ALREADY_INJECTED);
    }
    Resolution resolution = resolver.resolve(namespace, pod);
    if (resolution instanceof Resolution.Gate gate) {
      WaitSpec spec = gate.spec();
      if (jobs.allSucceeded(namespace, spec.jobs().names(), spec.revision().orElse(null))) {
        // The fast path: nothing to wait for, so the pod starts with zero overhead.
        return skipped(pod, Reasons.JOB_SUCCEEDED, Optional.empty());
      }
      return inject(namespace, pod, spec);
    }
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

  private Reply inject(String namespace, PodView pod, WaitSpec spec) {
    StatusSource source = spec.statusSource().orElse(StatusSource.GATE);
    if (source == StatusSource.GATE && config.waitEndpoint().isPresent()) {
      return injectGateMode(namespace, pod, spec, config.waitEndpoint().get());
    }
    Optional<String> noGate =
        spec.statusSource().isPresent() && source == StatusSource.GATE
            ? Optional.of(
                GateAnnotations.SOURCE
                    + ": gate, but this gate has no wait API URL configured (--wait-url and"
                    + " --wait-ca-file); migrate-wait reads the Jobs from the API server instead")
            : Optional.empty();
    return injectDirectMode(namespace, pod, spec).withWarning(noGate);
  }

  private Reply injectGateMode(
      String namespace, PodView pod, WaitSpec spec, WaitEndpoint endpoint) {
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
