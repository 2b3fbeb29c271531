package io.migrategate.admission;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Finds the pods that should have waited for a migration but started without {@code migrate-wait}:
 * pods of a workload annotated on its own metadata that the gate never reviewed (no {@code
 * migrate.io/status}), or that it admitted unchecked because it could not read the workload
 * (fail-open). That happens where the webhook configuration sends such pods fail-open or not at all
 * (namespace label {@code migrate.io/gate=enabled}, or no label), and only there: pods carrying the
 * annotation themselves are always reviewed, fail-closed.
 *
 * <p>Whether a pod should have been gated is decided by the same {@link GateResolver} as at
 * admission, from the workloads as they are now.
 */
final class UngatedPods {
  /** A pod that started un-gated; {@code status} is its {@code migrate.io/status}, if any. */
  record Pod(String name, String uid, Optional<String> status) {}

  /** The un-gated pods of one workload, sorted by name. */
  record Finding(String namespace, OwnerRef workload, JobReference jobs, List<Pod> pods) {
    private static final int NAMED_PODS = 5;

    /**
     * Stable for the same set of pods: one Event per set, whichever gate replica finds it first
     * (the others get AlreadyExists), a new Event when another pod starts un-gated.
     */
    String eventName() {
      StringBuilder uids = new StringBuilder();
      pods.stream().map(Pod::uid).sorted().forEach(uid -> uids.append(uid).append('\n'));
      String hash = sha256(uids.toString()).substring(0, 16);
      String name = workload.name();
      // Event names are DNS subdomains: at most 253 characters.
      int room = 253 - ".migrate-gate-".length() - hash.length();
      return (name.length() > room ? name.substring(0, room) : name) + ".migrate-gate-" + hash;
    }

    /** For {@code kubectl describe}: what happened, why it can happen, what to do. */
    String message() {
      List<String> names = pods.stream().limit(NAMED_PODS).map(Pod::name).toList();
      String listed =
          String.join(", ", names)
              + (pods.size() > names.size()
                  ? " and " + (pods.size() - names.size()) + " more"
                  : "");
      boolean lookupFailed = pods.stream().anyMatch(pod -> pod.status().isPresent());
      boolean one = pods.size() == 1;
      String them = one ? "it" : "them";
      return pods.size()
          + (one ? " pod" : " pods")
          + " of this "
          + workload.kind()
          + " started WITHOUT "
          + WaiterContainer.NAME
          + ", so "
          + (one ? "it" : "they")
          + " did not wait for Job "
          + jobs.joined()
          + ": "
          + listed
          + ". "
          + (lookupFailed
              ? "The gate admitted "
                  + (one ? "it" : "some")
                  + " unchecked because it could not read this "
                  + workload.kind()
                  + " (owner lookup policy fail-open)"
                  + (one ? "" : "; others it never reviewed")
                  + ". "
              : "The gate never reviewed " + them + ": ")
          + GateAnnotations.JOB
          + " is on the "
          + workload.kind()
          + "'s metadata, not its pod template, and this namespace was not labeled "
          + "migrate.io/gate=enforced (with migrate.io/gate=enabled: the gate was unavailable when "
          + (one ? "it was" : "they were")
          + " created). Fix: put "
          + GateAnnotations.JOB
          + " on the pod template, or label the namespace migrate.io/gate=enforced; delete "
          + (one ? "this pod to have it" : "these pods to have them")
          + " re-created through the gate.";
    }
  }

  private final GateResolver resolver;

  UngatedPods(OwnerLookup owners) {
    this.resolver = new GateResolver(owners);
  }

  /**
   * @param pods the namespace's pods as JSON
   */
  List<Finding> find(String namespace, List<JsonNode> pods) {
    Map<String, Finding> byWorkload = new LinkedHashMap<>();
    for (JsonNode json : pods) {
      PodView pod = new PodView(json);
      Map<String, String> annotations = pod.annotations();
      if (pod.metadata().hasNonNull("deletionTimestamp") || !unreviewed(annotations)) {
        continue;
      }
      Optional<String> status = Optional.ofNullable(annotations.get(GateAnnotations.STATUS));
      if (!(resolver.resolve(namespace, pod) instanceof Resolution.Gate gate)
          || gate.spec().workload().isEmpty()) {
        continue;
      }
      OwnerRef workload = gate.spec().workload().get();
      Pod found =
          new Pod(
              pod.metadata().path("name").asText(""),
              pod.metadata().path("uid").asText(""),
              status);
      byWorkload
          .computeIfAbsent(
              workload.kind() + "/" + workload.name() + "/" + workload.uid(),
              key -> new Finding(namespace, workload, gate.spec().jobs(), new ArrayList<>()))
          .pods()
          .add(found);
    }
    return byWorkload.values().stream()
        .map(
            f ->
                new Finding(
                    f.namespace(),
                    f.workload(),
                    f.jobs(),
                    f.pods().stream().sorted(Comparator.comparing(Pod::name)).toList()))
        .toList();
  }

  /**
   * Whether a pod's annotations leave it a candidate: no {@code migrate.io/status} (never
   * reviewed), or admitted unchecked because the owner could not be read. Every other status was a
   * decision of the gate.
   */
  static boolean unreviewed(Map<String, String> annotations) {
    String status = annotations == null ? null : annotations.get(GateAnnotations.STATUS);
    return status == null
        || status.equals(GateAnnotations.statusSkipped(Reasons.OWNER_LOOKUP_FAILED));
  }

  private static String sha256(String text) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }
}
