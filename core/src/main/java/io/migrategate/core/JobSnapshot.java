package io.migrategate.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One read of a Job, reduced to what {@link JobVerdict} judges and what followers of a Job need to
 * tell runs apart: identity, the {@code migrate.io/revision} annotation, the scalar spec fields the
 * human line mentions, the status counts and the conditions. Nothing of the pod template.
 *
 * <p>The waiter builds it from the API's JSON ({@link #fromJson}); the gate from its informer's
 * objects. Both readings are checked against each other on the same situations (JobVerdictTest).
 *
 * @param uid {@code metadata.uid}, or null
 * @param resourceVersion {@code metadata.resourceVersion}, or null
 * @param revision the Job's {@code migrate.io/revision} annotation, or null
 * @param completions {@code spec.completions}, or null
 * @param backoffLimit {@code spec.backoffLimit}, or null (the controller's default applies)
 * @param backoffLimitPerIndex {@code spec.backoffLimitPerIndex}, or null
 * @param active {@code status.active} (0 when absent)
 * @param failed {@code status.failed} (0 when absent)
 * @param succeeded {@code status.succeeded} (0 when absent)
 * @param failedIndexes {@code status.failedIndexes}, or null
 * @param conditions {@code status.conditions}, in the API's order
 */
public record JobSnapshot(
    String uid,
    String resourceVersion,
    String revision,
    Integer completions,
    Integer backoffLimit,
    Integer backoffLimitPerIndex,
    int active,
    int failed,
    int succeeded,
    String failedIndexes,
    List<Condition> conditions) {

  /** One entry of {@code status.conditions}. */
  public record Condition(String type, String status, String reason, String message) {}

  public JobSnapshot {
    conditions = conditions == null ? List.of() : List.copyOf(conditions);
  }

  /** A Job as the API sends it, parsed by {@link Json}. */
  public static JobSnapshot fromJson(Map<String, Object> job) {
    Map<String, Object> metadata = Json.map(job.get("metadata"));
    Map<String, Object> spec = Json.map(job.get("spec"));
    Map<String, Object> status = Json.map(job.get("status"));
    List<Condition> conditions = new ArrayList<>();
    if (status.get("conditions") instanceof List<?> list) {
      for (Object item : list) {
        Map<String, Object> c = Json.map(item);
        conditions.add(
            new Condition(
                Json.text(c, "type"),
                Json.text(c, "status"),
                Json.text(c, "reason"),
                Json.text(c, "message")));
      }
    }
    return new JobSnapshot(
        Json.text(metadata, "uid"),
        Json.text(metadata, "resourceVersion"),
        Json.text(Json.map(metadata.get("annotations")), JobVerdict.REVISION_ANNOTATION),
        Json.intValue(spec, "completions"),
        Json.intValue(spec, "backoffLimit"),
        Json.intValue(spec, "backoffLimitPerIndex"),
        count(Json.intValue(status, "active")),
        count(Json.intValue(status, "failed")),
        count(Json.intValue(status, "succeeded")),
        Json.text(status, "failedIndexes"),
        conditions);
  }

  private static int count(Integer value) {
    return value == null ? 0 : value;
  }
}
