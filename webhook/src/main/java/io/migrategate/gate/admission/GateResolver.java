package io.migrategate.gate.admission;

import java.util.Map;
import java.util.Optional;

/**
 * Finds the annotations that govern a pod: its own (the pod template's) or, when it has no {@code
 * migrate.io/job}, its owning workload's (Pod → ReplicaSet → Deployment, StatefulSet, DaemonSet).
 *
 * <p>Rules, in order:
 *
 * <ol>
 *   <li>{@code migrate.io/inject: "false"} on the pod opts it out, without any lookup.
 *   <li>{@code migrate.io/job} on the pod: the pod's own annotations are the whole configuration,
 *       no lookup (the primary, cheapest path; it keeps working while the API server is down).
 *   <li>A pod owned by a Job (or CronJob) is never gated on an annotation inherited from elsewhere:
 *       a migration Job must never wait for itself. On its own template it may name other Jobs; a
 *       list naming its own Job is skipped with a warning (see {@link Reasons#NAMES_OWN_JOB}).
 *   <li>Otherwise the workload's annotations apply; {@code migrate.io/revision}, {@code
 *       migrate.io/timeout}, {@code migrate.io/source} and {@code migrate.io/inject} on the pod
 *       override the workload's.
 * </ol>
 *
 * <p>For a Deployment's pod the Deployment itself is read, not only its ReplicaSet: the Deployment
 * controller copies the Deployment's annotations onto the ReplicaSet but never removes them there,
 * so an annotation deleted from the Deployment would live on in the ReplicaSet. A cached Deployment
 * whose {@code deployment.kubernetes.io/revision} is older than the pod's ReplicaSet's is stale (a
 * release that changed {@code migrate.io/job} and the template together, its first pods faster than
 * the watch): it is read again directly.
 */
final class GateResolver {
  private final OwnerLookup owners;

  GateResolver(OwnerLookup owners) {
    this.owners = owners;
  }

  Resolution resolve(String namespace, PodView pod) {
    Map<String, String> podAnnotations = pod.annotations();
    Optional<Boolean> podInject;
    try {
      podInject = AnnotationValues.inject(podAnnotations.get(GateAnnotations.INJECT));
    } catch (InvalidAnnotationException e) {
      return invalid("the pod", e);
    }
    if (podInject.equals(Optional.of(false))) {
      return new Resolution.Skip(Reasons.OPT_OUT);
    }
    Optional<OwnerRef> controller = pod.controller();
    if (podAnnotations.containsKey(GateAnnotations.JOB)) {
      return fromPod(podAnnotations, controller);
    }
    if (controller.isEmpty()) {
      return new Resolution.Skip(Reasons.NO_ANNOTATION);
    }
    if (isJobOwner(controller.get())) {
      return new Resolution.Skip(Reasons.JOB_OWNED);
    }
    Walk walk = findWorkload(namespace, controller.get());
    if (walk instanceof Walk.Stop stop) {
      return stop.resolution();
    }
    return fromWorkload(podAnnotations, podInject, (Walk.Workload) walk);
  }

  private Resolution fromPod(Map<String, String> annotations, Optional<OwnerRef> controller) {
    WaitSpec spec;
    try {
      spec =
          new WaitSpec(
              JobReference.parse(annotations.get(GateAnnotations.JOB)),
              AnnotationValues.revision(annotations.get(GateAnnotations.REVISION)),
              AnnotationValues.timeout(annotations.get(GateAnnotations.TIMEOUT)),
              "pod",
              AnnotationValues.source(annotations.get(GateAnnotations.SOURCE)),
              Optional.empty());
    } catch (InvalidAnnotationException e) {
      return invalid("the pod", e);
    }
    if (controller.isPresent()
        && isJobOwner(controller.get())
        && spec.jobs().contains(controller.get().name())) {
      // Waiting would deadlock, denying would block the very migration the other pods wait for;
      // the usual cause is pod annotations shared by every template of a chart.
      return new Resolution.Skip(
          Reasons.NAMES_OWN_JOB,
          Optional.of(
              GateAnnotations.JOB
                  + " \""
                  + annotations.get(GateAnnotations.JOB)
                  + "\" names this pod's own Job "
                  + controller.get().name()
                  + "; a Job never waits for itself, so migrate-wait was not injected"));
    }
    return new Resolution.Gate(spec);
  }

  private Resolution fromWorkload(
      Map<String, String> podAnnotations, Optional<Boolean> podInject, Walk.Workload workload) {
    Optional<String> podRevision;
    Optional<String> podTimeout;
    Optional<StatusSource> podSource;
    try {
      podRevision = AnnotationValues.revision(podAnnotations.get(GateAnnotations.REVISION));
      podTimeout = AnnotationValues.timeout(podAnnotations.get(GateAnnotations.TIMEOUT));
      podSource = AnnotationValues.source(podAnnotations.get(GateAnnotations.SOURCE));
    } catch (InvalidAnnotationException e) {
      return invalid("the pod", e);
    }
    Map<String, String> annotations = workload.annotations();
    String source = workload.describe();
    try {
      Optional<Boolean> inject =
          podInject.isPresent()
              ? podInject
              : AnnotationValues.inject(annotations.get(GateAnnotations.INJECT));
      if (inject.equals(Optional.of(false))) {
        return new Resolution.Skip(Reasons.OPT_OUT);
      }
      if (!annotations.containsKey(GateAnnotations.JOB)) {
        return new Resolution.Skip(Reasons.NO_ANNOTATION);
      }
      JobReference jobs = JobReference.parse(annotations.get(GateAnnotations.JOB));
      Optional<String> revision =
          podRevision.isPresent()
              ? podRevision
              : AnnotationValues.revision(annotations.get(GateAnnotations.REVISION));
      Optional<String> timeout =
          podTimeout.isPresent()
              ? podTimeout
              : AnnotationValues.timeout(annotations.get(GateAnnotations.TIMEOUT));
      Optional<StatusSource> statusSource =
          podSource.isPresent()
              ? podSource
              : AnnotationValues.source(annotations.get(GateAnnotations.SOURCE));
      return new Resolution.Gate(
          new WaitSpec(
              jobs, revision, timeout, source, statusSource, Optional.of(workload.owner())));
    } catch (InvalidAnnotationException e) {
      return invalid(source, e);
    }
  }

  private Walk findWorkload(String namespace, OwnerRef controller) {
    if (controller.is("apps", "ReplicaSet")) {
      Walk replicaSet = lookup(namespace, controller);
      if (!(replicaSet instanceof Walk.Workload found)) {
        return replicaSet;
      }
      Optional<OwnerRef> deployment =
          OwnerRefs.controller(found.ownerReferences())
              .filter(owner -> owner.is("apps", "Deployment"));
      if (deployment.isEmpty()) {
        return found;
      }
      Walk owner = lookup(namespace, deployment.get());
      if (owner instanceof Walk.Workload cached && olderThan(cached, found)) {
        // The pod's ReplicaSet comes from a newer rollout than the cached Deployment: the
        // annotation may just have changed with that rollout (a new migrate.io/job per release).
        return walk(namespace, deployment.get(), owners.lookupFresh(namespace, deployment.get()));
      }
      return owner;
    }
    if (controller.is("apps", "StatefulSet") || controller.is("apps", "DaemonSet")) {
      return lookup(namespace, controller);
    }
    // Other controllers (ReplicationController, operators' custom resources) are not read: the
    // gate only has permission for the workloads it documents.
    return new Walk.Stop(new Resolution.Skip(Reasons.NO_ANNOTATION));
  }

  /** Whether a Deployment's revision is older than its ReplicaSet's (a stale cache entry). */
  private static boolean olderThan(Walk.Workload deployment, Walk.Workload replicaSet) {
    long replicaSetRevision = revision(replicaSet);
    return replicaSetRevision > 0 && revision(deployment) < replicaSetRevision;
  }

  private static long revision(Walk.Workload workload) {
    try {
      return Long.parseLong(
          workload.annotations().getOrDefault(GateAnnotations.DEPLOYMENT_REVISION, "0"));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private Walk lookup(String namespace, OwnerRef owner) {
    return walk(namespace, owner, owners.lookup(namespace, owner));
  }

  private static Walk walk(String namespace, OwnerRef owner, LookupResult result) {
    String described = owner.kind() + " " + namespace + "/" + owner.name();
    if (result instanceof LookupResult.Found found) {
      return new Walk.Workload(owner, described, found.annotations(), found.ownerReferences());
    }
    if (result instanceof LookupResult.NotFound) {
      return new Walk.Stop(new Resolution.Skip(Reasons.OWNER_NOT_FOUND));
    }
    return new Walk.Stop(
        new Resolution.LookupFailed(described, ((LookupResult.Failed) result).cause()));
  }

  private static boolean isJobOwner(OwnerRef owner) {
    return owner.is("batch", "Job") || owner.is("batch", "CronJob");
  }

  private static Resolution invalid(String where, InvalidAnnotationException e) {
    return new Resolution.Deny(
        Reasons.INVALID_ANNOTATION, "invalid annotation on " + where + ": " + e.getMessage());
  }

  /** One step of the owner walk: a workload's metadata, or a final answer. */
  private sealed interface Walk {
    record Workload(
        OwnerRef owner,
        String describe,
        Map<String, String> annotations,
        java.util.List<OwnerRef> ownerReferences)
        implements Walk {}

    record Stop(Resolution resolution) implements Walk {}
  }
}
