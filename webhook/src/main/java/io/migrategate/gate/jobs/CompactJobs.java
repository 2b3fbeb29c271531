package io.migrategate.gate.jobs;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.OwnerReference;
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
public final class CompactJobs {
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
  public static JobSnapshot snapshot(Job job) {
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

  /**
   * Values that repeat from Job to Job (condition types, statuses, reasons and messages, owner
   * kinds): one String each, up to a bound, so a message naming a pod cannot grow it without end.
   */
  private static final Map<String, String> VALUES = new ConcurrentHashMap<>();

  static final int MAX_SHARED_VALUES = 10_000;
  static final int MAX_SHARED_LENGTH = 200;

  static String shared(String value) {
    if (value == null) {
      return null;
    }
    String known = VALUES.get(value);
    if (known != null) {
      return known;
    }
    if (VALUES.size() >= MAX_SHARED_VALUES || value.length() > MAX_SHARED_LENGTH) {
      return value;
    }
    known = VALUES.putIfAbsent(value, value);
    return known == null ? value : known;
  }

  /**
   * Every fabric8 model object allocates its own empty maps and lists (an ObjectMeta six of them);
   * a compact Job shares immutable empty ones instead: about 500 bytes less per Job. Nothing writes
   * into a stored Job.
   */
  private static final Map<String, Object> NO_PROPERTIES = Map.of();

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
      meta.setAnnotations(annotations.isEmpty() ? Map.of() : Map.copyOf(annotations));
      // Kept only to tell CronJob runs apart; a Job has one or two owners.
      meta.setOwnerReferences(owners(source.getOwnerReferences()));
    }
    meta.setLabels(Map.of());
    meta.setFinalizers(List.of());
    meta.setManagedFields(List.of());
    meta.setAdditionalProperties(NO_PROPERTIES);
    Job compact = new Compact();
    // The constructor's constants, unless the Job says otherwise.
    if (!compact.getApiVersion().equals(job.getApiVersion())) {
      compact.setApiVersion(shared(job.getApiVersion()));
    }
    if (!compact.getKind().equals(job.getKind())) {
      compact.setKind(shared(job.getKind()));
    }
    compact.setAdditionalProperties(NO_PROPERTIES);
    compact.setMetadata(meta);
    JobSpec spec = job.getSpec();
    if (spec != null) {
      JobSpec kept = new JobSpec();
      kept.setAdditionalProperties(NO_PROPERTIES);
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

  /** The owners as {@link #isCronJobRun} reads them. */
  private static List<OwnerReference> owners(List<OwnerReference> source) {
    if (source == null || source.isEmpty()) {
      return List.of();
    }
    return source.stream()
        .map(
            owner -> {
              OwnerReference kept = new OwnerReference();
              kept.setAdditionalProperties(NO_PROPERTIES);
              kept.setApiVersion(shared(owner.getApiVersion()));
              kept.setKind(shared(owner.getKind()));
              kept.setName(owner.getName());
              kept.setUid(owner.getUid());
              kept.setController(owner.getController());
              return kept;
            })
        .toList();
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
    kept.setAdditionalProperties(NO_PROPERTIES);
    kept.setConditions(List.of());
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
                    condition.setAdditionalProperties(NO_PROPERTIES);
                    condition.setType(shared(c.getType()));
                    condition.setStatus(shared(c.getStatus()));
                    condition.setReason(shared(c.getReason()));
                    condition.setMessage(shared(c.getMessage()));
                    condition.setLastTransitionTime(c.getLastTransitionTime());
                    return condition;
                  })
              .toList());
    }
    return kept;
  }
}
