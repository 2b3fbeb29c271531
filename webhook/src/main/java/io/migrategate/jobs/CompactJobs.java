package io.migrategate.jobs;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.api.model.batch.v1.JobSpec;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import io.migrategate.core.JobSnapshot;
import io.migrategate.core.JobVerdict;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reduces a Job to what {@link JobVerdict} and the ledger read: identity, creation time, the {@code
 * migrate.io/} annotations, the owner references, the scalar spec fields and the status. The pod
 * template, the selector, labels and managed fields are dropped: a cluster-wide cache of Jobs would
 * otherwise hold every migration's whole pod spec.
 */
final class CompactJobs {
  private static final String GATE_ANNOTATION_PREFIX = "migrate.io/";

  private CompactJobs() {}

  /** Whether a CronJob created this Job (its controller owner). */
  static boolean isCronJobRun(Job job) {
    return job.getMetadata() != null
        && job.getMetadata().getOwnerReferences() != null
        && job.getMetadata().getOwnerReferences().stream()
            .anyMatch(
                owner ->
                    Boolean.TRUE.equals(owner.getController())
                        && "CronJob".equals(owner.getKind())
                        && owner.getApiVersion() != null
                        && owner.getApiVersion().startsWith("batch/"));
  }

  /**
   * What {@link JobVerdict} judges, read from the informer's object. The same reading as the
   * waiter's {@link JobSnapshot#fromJson} (CompactJobsTest checks both on the verdict's
   * situations).
   */
  static JobSnapshot snapshot(Job job) {
    ObjectMeta meta = job.getMetadata() == null ? new ObjectMeta() : job.getMetadata();
    JobSpec spec = job.getSpec() == null ? new JobSpec() : job.getSpec();
    JobStatus status = job.getStatus() == null ? new JobStatus() : job.getStatus();
    List<JobSnapshot.Condition> conditions =
        status.getConditions() == null
            ? List.of()
            : status.getConditions().stream()
                .map(
                    c ->
                        new JobSnapshot.Condition(
                            c.getType(), c.getStatus(), c.getReason(), c.getMessage()))
                .toList();
    return new JobSnapshot(
        meta.getUid(),
        meta.getResourceVersion(),
        meta.getAnnotations() == null
            ? null
            : meta.getAnnotations().get(JobVerdict.REVISION_ANNOTATION),
        spec.getCompletions(),
        spec.getBackoffLimit(),
        spec.getBackoffLimitPerIndex(),
        Objects.requireNonNullElse(status.getActive(), 0),
        Objects.requireNonNullElse(status.getFailed(), 0),
        Objects.requireNonNullElse(status.getSucceeded(), 0),
        status.getFailedIndexes(),
        conditions);
  }

  /**
   * A Job reduced by {@link #compact}: compacting it again returns it as it is, so the informer's
   * store and the tracker hold one instance per Job, not two (issue 13: at 100,000 Jobs the two
   * copies were 2.4 KiB of heap per Job).
   */
  private static final class Compact extends Job {}

  /** Namespaces are few and every Job repeats one: one String each. */
  private static final Map<String, String> NAMESPACES = new ConcurrentHashMap<>();

  static Job compact(Job job) {
    if (job instanceof Compact) {
      return job;
    }
    ObjectMeta source = job.getMetadata();
    ObjectMeta meta = new ObjectMeta();
    if (source != null) {
      meta.setName(source.getName());
      meta.setNamespace(
          source.getNamespace() == null
              ? null
              : NAMESPACES.computeIfAbsent(source.getNamespace(), n -> n));
      meta.setUid(source.getUid());
      meta.setResourceVersion(source.getResourceVersion());
      meta.setCreationTimestamp(source.getCreationTimestamp());
      meta.setDeletionTimestamp(source.getDeletionTimestamp());
      Map<String, String> annotations = new LinkedHashMap<>();
      if (source.getAnnotations() != null) {
        source
            .getAnnotations()
            .forEach(
                (key, value) -> {
                  if (key.startsWith(GATE_ANNOTATION_PREFIX)) {
                    annotations.put(key, value);
                  }
                });
      }
      meta.setAnnotations(annotations);
      // Kept only to tell CronJob runs apart; a Job has one or two owners.
      meta.setOwnerReferences(source.getOwnerReferences());
    }
    Job compact = new Compact();
    compact.setApiVersion(job.getApiVersion());
    compact.setKind(job.getKind());
    compact.setMetadata(meta);
    JobSpec spec = job.getSpec();
    if (spec != null) {
      JobSpec kept = new JobSpec();
      kept.setActiveDeadlineSeconds(spec.getActiveDeadlineSeconds());
      kept.setBackoffLimit(spec.getBackoffLimit());
      kept.setBackoffLimitPerIndex(spec.getBackoffLimitPerIndex());
      kept.setMaxFailedIndexes(spec.getMaxFailedIndexes());
      kept.setCompletions(spec.getCompletions());
      kept.setParallelism(spec.getParallelism());
      kept.setCompletionMode(spec.getCompletionMode());
      kept.setSuspend(spec.getSuspend());
      kept.setManagedBy(spec.getManagedBy());
      kept.setTtlSecondsAfterFinished(spec.getTtlSecondsAfterFinished());
      compact.setSpec(kept);
    }
    compact.setStatus(status(job.getStatus()));
    return compact;
  }

  /**
   * What the verdict and the ledger read of the status: the counts, the failed indexes, the
   * completion time and the conditions without their probe time.
   */
  private static JobStatus status(JobStatus source) {
    if (source == null) {
      return null;
    }
    JobStatus kept = new JobStatus();
    kept.setActive(source.getActive());
    kept.setFailed(source.getFailed());
    kept.setSucceeded(source.getSucceeded());
    kept.setFailedIndexes(source.getFailedIndexes());
    kept.setCompletionTime(source.getCompletionTime());
    if (source.getConditions() != null) {
      kept.setConditions(
          source.getConditions().stream()
              .map(
                  c -> {
                    JobCondition condition = new JobCondition();
                    condition.setType(c.getType());
                    condition.setStatus(c.getStatus());
                    condition.setReason(c.getReason());
                    condition.setMessage(c.getMessage());
                    condition.setLastTransitionTime(c.getLastTransitionTime());
                    return condition;
                  })
              .toList());
    }
    return kept;
  }
}
