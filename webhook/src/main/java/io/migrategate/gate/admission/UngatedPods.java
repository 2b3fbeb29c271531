package io.migrategate.gate.admission;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Finds the pods that should have waited for a migration but started without the gate's {@code
 * migrate-wait}: pods of a workload annotated on its own metadata that the gate never reviewed, or
 * that it admitted unchecked because it could not read the workload (fail-open). That happens where
 * the webhook configuration sends such pods fail-open or not at all (namespace label {@code
 * migrate.io/gate=enabled}, or no label), and only there: pods carrying the annotation themselves
 * are always reviewed, fail-closed.
 *
 * <p>{@code migrate.io/status} is the gate's word, but anyone who can create or update a pod can
 * write it too, so it is not trusted alone: a pod counts as gated only when it carries a {@code
 * migrate-wait} that is the gate's ({@link InjectedWaiter}, the same rule as at admission), or a
 * {@code skipped:} status that what the audit can see does not contradict:
 *
 * <ul>
 *   <li>{@code skipped: job-succeeded}: contradicted when a Job the pod names (for the pod's
 *       revision, if any) was created before the pod and had not succeeded when the pod was
 *       created. Not checkable, so trusted: a Job created after the pod (a later run under the same
 *       name; the gate may have passed the pod on an earlier run it remembers) or gone.
 *   <li>{@code skipped: no-annotation}, {@code skipped: opt-out}: the workload may have changed
 *       since; trusted.
 *   <li>every other status ({@code injected} without a waiter, {@code job-owned}, {@code
 *       names-own-job}, {@code owner-not-found}, {@code mirror-pod}, anything unknown): the
 *       workload found now contradicts it.
 * </ul>
 *
 * <p>Whether a pod should have been gated is decided by the same {@link GateResolver} as at
 * admission, from the workloads as they are now.
 */
final class UngatedPods {
  /** Why a pod counts as un-gated. */
  enum Why {
    /** No {@code migrate.io/status}: the gate never saw it. */
    NEVER_REVIEWED,
    /** {@code skipped: owner-lookup-failed}: admitted unchecked (fail-open). */
    LOOKUP_FAILED,
    /** A {@code migrate-wait} that is not the gate's. */
    FOREIGN_WAITER,
    /** A status the gate did not write, or that the pod or its Jobs contradict. */
    FORGED_STATUS
  }

  /**
   * A pod that started un-gated.
   *
   * @param status its {@code migrate.io/status}, if any
   * @param detail what gives it away, for {@link Why#FOREIGN_WAITER} and {@link Why#FORGED_STATUS}
   */
  record Pod(String name, String uid, Optional<String> status, Why why, String detail) {}

  /** What the audit can still see of the Jobs of a namespace. */
  @FunctionalInterface
  interface Jobs {
    /** Knows no Job: every {@code skipped: job-succeeded} is trusted. */
    Jobs NONE = (namespace, name) -> Optional.empty();

    Optional<JobRecord> find(String namespace, String name);
  }

  /**
   * One live Job.
   *
   * @param created its creation time
   * @param succeeded when it succeeded ({@code SuccessCriteriaMet} or {@code Complete}), if it did
   * @param revision its {@code migrate.io/revision}, if any
   */
  record JobRecord(Instant created, Optional<Instant> succeeded, Optional<String> revision) {}

  /** The un-gated pods of one workload, sorted by name. */
  record Finding(String namespace, OwnerRef workload, JobReference jobs, List<Pod> pods) {
    private static final int NAMED_PODS = 5;
    private static final int EXPLAINED_PODS = 3;

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
      boolean one = pods.size() == 1;
      StringBuilder message =
          new StringBuilder()
              .append(pods.size())
              .append(one ? " pod" : " pods")
              .append(" of this ")
              .append(workload.kind())
              .append(" started WITHOUT ")
              .append(WaiterContainer.NAME)
              .append(", so ")
              .append(one ? "it" : "they")
              .append(" did not wait for Job ")
              .append(jobs.joined())
              .append(": ")
              .append(listed)
              .append(". ");
      List<Pod> unreviewed =
          pods.stream()
              .filter(pod -> pod.why() == Why.NEVER_REVIEWED || pod.why() == Why.LOOKUP_FAILED)
              .toList();
      if (!unreviewed.isEmpty()) {
        boolean oneUnreviewed = unreviewed.size() == 1;
        boolean lookupFailed = unreviewed.stream().anyMatch(pod -> pod.why() == Why.LOOKUP_FAILED);
        message
            .append(
                lookupFailed
                    ? "The gate admitted "
                        + (oneUnreviewed ? "it" : "some")
                        + " unchecked because it could not read this "
                        + workload.kind()
                        + " (owner lookup policy fail-open)"
                        + (oneUnreviewed ? "" : "; others it never reviewed")
                        + ". "
                    : "The gate never reviewed " + (oneUnreviewed ? "it" : "them") + ": ")
            .append(GateAnnotations.JOB)
            .append(" is on the ")
            .append(workload.kind())
            .append("'s metadata, not its pod template, and this namespace was not labeled ")
            .append("migrate.io/gate=enforced (with migrate.io/gate=enabled: the gate was")
            .append(" unavailable when ")
            .append(oneUnreviewed ? "it was" : "they were")
            .append(" created). ");
      }
      List<Pod> forged = pods.stream().filter(pod -> !unreviewed.contains(pod)).toList();
      if (!forged.isEmpty()) {
        forged.stream()
            .limit(EXPLAINED_PODS)
            .forEach(
                pod -> message.append(pod.name()).append(": ").append(pod.detail()).append(". "));
        if (forged.size() > EXPLAINED_PODS) {
          message.append("The same for ").append(forged.size() - EXPLAINED_PODS).append(" more. ");
        }
        message
            .append(GateAnnotations.STATUS)
            .append(" and ")
            .append(WaiterContainer.NAME)
            .append(" are the gate's to write: ")
            .append(forged.size() == 1 ? "this pod" : "these pods")
            .append(" did not pass the gate as ")
            .append(forged.size() == 1 ? "its annotations claim" : "their annotations claim")
            .append(". ");
      }
      return message
          .append("Fix: put ")
          .append(GateAnnotations.JOB)
          .append(" on the pod template, or label the namespace migrate.io/gate=enforced; delete ")
          .append(one ? "this pod to have it" : "these pods to have them")
          .append(" re-created through the gate.")
          .toString();
    }
  }

  private final GateResolver resolver;
  private final Optional<InjectedWaiter.Identity> waiter;

  /** Without the gate's waiter identity: any image passes as the waiter's. */
  UngatedPods(OwnerLookup owners) {
    this(owners, Optional.empty());
  }

  /**
   * @param waiter the gate's waiter image and wait URL: a {@code migrate-wait} of another image
   *     repository or asking another URL is not the gate's
   */
  UngatedPods(OwnerLookup owners, Optional<InjectedWaiter.Identity> waiter) {
    this.resolver = new GateResolver(owners);
    this.waiter = waiter;
  }

  List<Finding> find(String namespace, List<JsonNode> pods) {
    return find(namespace, pods, Jobs.NONE);
  }

  /**
   * @param pods the namespace's pods as JSON
   * @param jobs the namespace's Jobs, to check a {@code skipped: job-succeeded}
   */
  List<Finding> find(String namespace, List<JsonNode> pods, Jobs jobs) {
    Map<String, Finding> byWorkload = new LinkedHashMap<>();
    for (JsonNode json : pods) {
      PodView pod = new PodView(json);
      if (pod.metadata().hasNonNull("deletionTimestamp") || !candidate(pod.annotations())) {
        continue;
      }
      if (!(resolver.resolve(namespace, pod) instanceof Resolution.Gate gate)
          || gate.spec().workload().isEmpty()) {
        continue;
      }
      Optional<Pod> ungated = ungated(namespace, pod, gate.spec(), jobs);
      if (ungated.isEmpty()) {
        continue;
      }
      OwnerRef workload = gate.spec().workload().get();
      byWorkload
          .computeIfAbsent(
              workload.kind() + "/" + workload.name() + "/" + workload.uid(),
              key -> new Finding(namespace, workload, gate.spec().jobs(), new ArrayList<>()))
          .pods()
          .add(ungated.get());
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

  /** The pod as un-gated, or empty when it passed the gate (as far as the audit can tell). */
  private Optional<Pod> ungated(String namespace, PodView pod, WaitSpec spec, Jobs jobs) {
    String name = pod.metadata().path("name").asText("");
    String uid = pod.metadata().path("uid").asText("");
    Optional<String> status = Optional.ofNullable(pod.annotations().get(GateAnnotations.STATUS));
    if (pod.hasContainerNamed(WaiterContainer.NAME)) {
      List<String> differences = InjectedWaiter.auditDifferences(pod, namespace, waiter);
      return differences.isEmpty()
          ? Optional.empty()
          : Optional.of(
              new Pod(
                  name,
                  uid,
                  status,
                  Why.FOREIGN_WAITER,
                  "its container "
                      + WaiterContainer.NAME
                      + " is not the gate's ("
                      + differences.get(0)
                      + (differences.size() > 1 ? "; ..." : "")
                      + ")"));
    }
    if (status.isEmpty()) {
      return Optional.of(new Pod(name, uid, status, Why.NEVER_REVIEWED, ""));
    }
    String value = status.get();
    if (value.equals(GateAnnotations.statusSkipped(Reasons.OWNER_LOOKUP_FAILED))) {
      return Optional.of(new Pod(name, uid, status, Why.LOOKUP_FAILED, ""));
    }
    if (value.equals(GateAnnotations.statusSkipped(Reasons.NO_ANNOTATION))
        || value.equals(GateAnnotations.statusSkipped(Reasons.OPT_OUT))) {
      return Optional.empty();
    }
    if (value.equals(GateAnnotations.statusSkipped(Reasons.JOB_SUCCEEDED))) {
      return jobNotSucceeded(namespace, pod, spec, jobs)
          .map(detail -> new Pod(name, uid, status, Why.FORGED_STATUS, detail));
    }
    String detail =
        value.equals(GateAnnotations.STATUS_INJECTED)
            ? GateAnnotations.STATUS
                + " says \""
                + value
                + "\" but it has no "
                + WaiterContainer.NAME
                + " container"
            : GateAnnotations.STATUS
                + " says \""
                + InjectedWaiter.abbreviated(value)
                + "\", which its "
                + spec.workload().get().kind()
                + " contradicts (the gate injects "
                + WaiterContainer.NAME
                + " into its pods)";
    return Optional.of(new Pod(name, uid, status, Why.FORGED_STATUS, detail));
  }

  /**
   * Why {@code skipped: job-succeeded} is false for this pod, or empty when nothing visible
   * contradicts it.
   */
  private static Optional<String> jobNotSucceeded(
      String namespace, PodView pod, WaitSpec spec, Jobs jobs) {
    Optional<Instant> created = pod.creationTimestamp();
    if (created.isEmpty()) {
      return Optional.empty();
    }
    for (String job : spec.jobs().names()) {
      Optional<JobRecord> found = jobs.find(namespace, job);
      if (found.isEmpty()) {
        continue; // gone (TTL, deleted after success): the gate may have remembered its success
      }
      JobRecord record = found.get();
      if (record.created().isAfter(created.get())) {
        continue; // a later run: the pod may have passed on an earlier one
      }
      if (spec.revision().isPresent() && !spec.revision().equals(record.revision())) {
        continue; // another run than the pod's
      }
      if (record.succeeded().isPresent() && !record.succeeded().get().isAfter(created.get())) {
        continue;
      }
      return Optional.of(
          GateAnnotations.STATUS
              + " says \""
              + GateAnnotations.statusSkipped(Reasons.JOB_SUCCEEDED)
              + "\", but Job "
              + job
              + " (created "
              + record.created()
              + ") "
              + record.succeeded().map(at -> "succeeded only at " + at).orElse("has not succeeded")
              + ", after the pod was created ("
              + created.get()
              + ")");
    }
    return Optional.empty();
  }

  /**
   * Whether a pod's own annotations leave it a candidate (the rest is decided on the pod): not when
   * it carries {@code migrate.io/job} itself (always reviewed, fail-closed) or opts out.
   */
  static boolean candidate(Map<String, String> annotations) {
    if (annotations == null) {
      return true;
    }
    return !annotations.containsKey(GateAnnotations.JOB)
        && !"false".equals(annotations.get(GateAnnotations.INJECT));
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
