package io.migrategate.wait;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.api.model.batch.v1.JobSpec;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads API JSON for the waiter: any JSON into plain maps and lists with Jackson's streaming
 * parser, and a Job into the fabric8 model, keeping metadata, the scalar spec fields and the
 * status, and skipping {@code spec.template} and {@code spec.selector}.
 *
 * <p>Why not Jackson data binding: binding a Job builds deserializers for the whole pod spec graph
 * (hundreds of classes), and even an ObjectMapper costs more start-up time than this whole class
 * (docs/benchmarks/waiter.md). The fields kept are a superset of what {@link
 * io.migrategate.jobs.JobVerdict} reads; JobJsonTest checks that the verdict is the same on the
 * projected and on the fully bound Job.
 */
final class JobJson {
  private static final JsonFactory FACTORY = new JsonFactory();

  private JobJson() {}

  /** A JSON document as maps, lists, strings, numbers, booleans and nulls. */
  static Object parse(String json) {
    try (JsonParser parser = FACTORY.createParser(json)) {
      JsonToken first = parser.nextToken();
      if (first == null) {
        throw new IllegalArgumentException("not JSON: empty");
      }
      return value(parser, first);
    } catch (IOException e) {
      throw new IllegalArgumentException("not JSON: " + e.getMessage(), e);
    }
  }

  /** A JSON object document as a map (empty when the document is not an object). */
  static Map<String, Object> object(String json) {
    return map(parse(json));
  }

  private static Object value(JsonParser parser, JsonToken token) throws IOException {
    switch (token) {
      case START_OBJECT -> {
        Map<String, Object> object = new LinkedHashMap<>();
        for (JsonToken t = parser.nextToken(); t != JsonToken.END_OBJECT; t = parser.nextToken()) {
          String name = parser.currentName();
          object.put(name, value(parser, parser.nextToken()));
        }
        return object;
      }
      case START_ARRAY -> {
        List<Object> array = new ArrayList<>();
        for (JsonToken t = parser.nextToken(); t != JsonToken.END_ARRAY; t = parser.nextToken()) {
          array.add(value(parser, t));
        }
        return array;
      }
      case VALUE_STRING -> {
        return parser.getText();
      }
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
        return parser.getNumberValue();
      }
      case VALUE_TRUE -> {
        return Boolean.TRUE;
      }
      case VALUE_FALSE -> {
        return Boolean.FALSE;
      }
      case VALUE_NULL -> {
        return null;
      }
      default -> throw new IOException("unexpected " + token);
    }
  }

  /** The Job of a JSON object. */
  static Job job(Map<String, Object> node) {
    Job job = new Job();
    job.setApiVersion(text(node, "apiVersion"));
    job.setKind(text(node, "kind"));
    Map<String, Object> metadata = map(node.get("metadata"));
    ObjectMeta meta = new ObjectMeta();
    meta.setName(text(metadata, "name"));
    meta.setNamespace(text(metadata, "namespace"));
    meta.setUid(text(metadata, "uid"));
    meta.setResourceVersion(text(metadata, "resourceVersion"));
    meta.setGeneration(longValue(metadata, "generation"));
    meta.setCreationTimestamp(text(metadata, "creationTimestamp"));
    meta.setDeletionTimestamp(text(metadata, "deletionTimestamp"));
    meta.setLabels(stringMap(metadata.get("labels")));
    meta.setAnnotations(stringMap(metadata.get("annotations")));
    job.setMetadata(meta);

    Map<String, Object> specNode = map(node.get("spec"));
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

    if (node.get("status") instanceof Map<?, ?>) {
      Map<String, Object> statusNode = map(node.get("status"));
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
      if (statusNode.get("conditions") instanceof List<?> list) {
        for (Object item : list) {
          Map<String, Object> c = map(item);
          JobCondition condition = new JobCondition();
          condition.setType(text(c, "type"));
          condition.setStatus(text(c, "status"));
          condition.setReason(text(c, "reason"));
          condition.setMessage(text(c, "message"));
          condition.setLastTransitionTime(text(c, "lastTransitionTime"));
          condition.setLastProbeTime(text(c, "lastProbeTime"));
          conditions.add(condition);
        }
      }
      status.setConditions(conditions);
      job.setStatus(status);
    }
    return job;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object value) {
    return value instanceof Map<?, ?> ? (Map<String, Object>) value : Map.of();
  }

  static String text(Map<String, Object> node, String field) {
    Object value = node.get(field);
    return value == null || value instanceof Map || value instanceof List ? null : value.toString();
  }

  private static Integer intValue(Map<String, Object> node, String field) {
    return node.get(field) instanceof Number n ? n.intValue() : null;
  }

  private static Long longValue(Map<String, Object> node, String field) {
    return node.get(field) instanceof Number n ? n.longValue() : null;
  }

  private static Boolean booleanValue(Map<String, Object> node, String field) {
    return node.get(field) instanceof Boolean b ? b : null;
  }

  private static Map<String, String> stringMap(Object value) {
    Map<String, String> strings = new LinkedHashMap<>();
    map(value).forEach((key, v) -> strings.put(key, v == null ? null : v.toString()));
    return strings;
  }
}
