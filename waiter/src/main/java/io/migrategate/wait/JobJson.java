package io.migrategate.wait;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.api.model.batch.v1.JobSpec;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a Job from API JSON into the fabric8 model, keeping metadata, the scalar spec fields and
 * the status, and skipping {@code spec.template} and {@code spec.selector}.
 *
 * <p>Why not Jackson data binding: binding a Job builds deserializers for the whole pod spec graph
 * (hundreds of classes), which costs more start-up time than the rest of the waiter. The fields
 * kept here are a superset of what {@link io.migrategate.jobs.JobVerdict} reads; JobJsonTest checks
 * that the verdict is the same on the projected and on the fully bound Job.
 */
final class JobJson {
  static final ObjectMapper MAPPER = new ObjectMapper();

  private JobJson() {}

  static JsonNode tree(String json) {
    try {
      return MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** The Job of a JSON object node. */
  static Job job(JsonNode node) {
    Job job = new Job();
    job.setApiVersion(text(node, "apiVersion"));
    job.setKind(text(node, "kind"));
    JsonNode metadata = node.path("metadata");
    ObjectMeta meta = new ObjectMeta();
    meta.setName(text(metadata, "name"));
    meta.setNamespace(text(metadata, "namespace"));
    meta.setUid(text(metadata, "uid"));
    meta.setResourceVersion(text(metadata, "resourceVersion"));
    meta.setGeneration(longValue(metadata, "generation"));
    meta.setCreationTimestamp(text(metadata, "creationTimestamp"));
    meta.setDeletionTimestamp(text(metadata, "deletionTimestamp"));
    meta.setLabels(stringMap(metadata.path("labels")));
    meta.setAnnotations(stringMap(metadata.path("annotations")));
    job.setMetadata(meta);

    JsonNode specNode = node.path("spec");
    JobSpec spec = new JobSpec();
    spec.setActiveDeadlineSeconds(longValue(specNode, "activeDeadlineSeconds"));
    spec.setBackoffLimit(intValue(specNode, "backoffLimit"));
    spec.setBackoffLimitPerIndex(intValue(specNode, "backoffLimitPerIndex"));
    spec.setMaxFailedIndexes(intValue(specNode, "maxFailedIndexes"));
    spec.setCompletions(intValue(specNode, "completions"));
    spec.setParallelism(intValue(specNode, "parallelism"));
    spec.setCompletionMode(text(specNode, "completionMode"));
    spec.setSuspend(booleanValue(specNode, "suspend"));
    spec.setManagedBy(text(specNode, "managedBy"));
    spec.setTtlSecondsAfterFinished(intValue(specNode, "ttlSecondsAfterFinished"));
    job.setSpec(spec);

    JsonNode statusNode = node.path("status");
    if (statusNode.isObject()) {
      JobStatus status = new JobStatus();
      status.setActive(intValue(statusNode, "active"));
      status.setFailed(intValue(statusNode, "failed"));
      status.setSucceeded(intValue(statusNode, "succeeded"));
      status.setReady(intValue(statusNode, "ready"));
      status.setTerminating(intValue(statusNode, "terminating"));
      status.setFailedIndexes(text(statusNode, "failedIndexes"));
      status.setCompletedIndexes(text(statusNode, "completedIndexes"));
      status.setStartTime(text(statusNode, "startTime"));
      status.setCompletionTime(text(statusNode, "completionTime"));
      List<JobCondition> conditions = new ArrayList<>();
      for (JsonNode c : statusNode.path("conditions")) {
        JobCondition condition = new JobCondition();
        condition.setType(text(c, "type"));
        condition.setStatus(text(c, "status"));
        condition.setReason(text(c, "reason"));
        condition.setMessage(text(c, "message"));
        condition.setLastTransitionTime(text(c, "lastTransitionTime"));
        condition.setLastProbeTime(text(c, "lastProbeTime"));
        conditions.add(condition);
      }
      status.setConditions(conditions);
      job.setStatus(status);
    }
    return job;
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null || value.isNull() ? null : value.asText();
  }

  private static Integer intValue(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null || !value.isNumber() ? null : value.intValue();
  }

  private static Long longValue(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null || !value.isNumber() ? null : value.longValue();
  }

  private static Boolean booleanValue(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null || !value.isBoolean() ? null : value.booleanValue();
  }

  private static Map<String, String> stringMap(JsonNode node) {
    Map<String, String> map = new LinkedHashMap<>();
    node.fields().forEachRemaining(e -> map.put(e.getKey(), e.getValue().asText()));
    return map;
  }
}
