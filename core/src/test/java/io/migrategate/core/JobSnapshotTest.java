package io.migrategate.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.migrategate.core.JobSnapshot.Condition;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Reading a Job from the API's JSON: what is kept, what is skipped, what absent fields mean. */
class JobSnapshotTest {

  @Test
  void keepsIdentityTheRevisionTheSpecFieldsTheCountsAndTheConditions() {
    JobSnapshot job =
        JobSnapshot.fromJson(
            Json.object(
                """
                {"apiVersion": "batch/v1", "kind": "Job",
                 "metadata": {"name": "db-migrate", "namespace": "shop", "uid": "u-1",
                   "resourceVersion": "123",
                   "annotations": {"migrate.io/revision": "42", "other": "x"}},
                 "spec": {"backoffLimit": 2, "completions": 3, "backoffLimitPerIndex": 1,
                   "template": {"spec": {"containers": [{"name": "migrate", "image": "m:1"}]}}},
                 "status": {"active": 1, "failed": 2, "succeeded": 1, "failedIndexes": "0,2",
                   "conditions": [{"type": "FailureTarget", "status": "True",
                     "reason": "BackoffLimitExceeded", "message": "limit", "lastProbeTime": null}]}}
                """));
    assertEquals(
        new JobSnapshot(
            "u-1",
            "123",
            "42",
            3,
            2,
            1,
            1,
            2,
            1,
            "0,2",
            List.of(new Condition("FailureTarget", "True", "BackoffLimitExceeded", "limit"))),
        job);
  }

  @Test
  void aJustCreatedJobHasZeroCountsAndNoConditions() {
    JobSnapshot job =
        JobSnapshot.fromJson(Json.object("{\"metadata\": {\"name\": \"db-migrate\"}}"));
    assertNull(job.uid());
    assertNull(job.revision());
    assertNull(job.backoffLimit());
    assertEquals(0, job.active());
    assertEquals(0, job.failed());
    assertEquals(List.of(), job.conditions());
    assertEquals(JobVerdict.Phase.PENDING, JobVerdict.of(job, null).phase());
  }

  @Test
  void fieldsOfTheWrongTypeCountAsAbsent() {
    JobSnapshot job =
        JobSnapshot.fromJson(
            Json.object(
                "{\"metadata\": {\"uid\": {\"x\": 1}, \"annotations\": []},"
                    + " \"status\": {\"active\": \"3\", \"conditions\": {}}}"));
    assertNull(job.uid());
    assertNull(job.revision());
    assertEquals(0, job.active());
    assertEquals(List.of(), job.conditions());
  }
}
