package io.migrategate.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.migrategate.core.JobVerdictTest;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The gate reads an informer's Job as the waiter reads the same Job's JSON. */
class CompactJobsTest {

  static Stream<Arguments> jobs() {
    return JobVerdictTest.jobs();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("jobs")
  void theGateAndTheWaiterReadAJobAlike(String situation, Job job) {
    assertEquals(JobVerdictTest.snapshot(job), CompactJobs.snapshot(job), situation);
    assertEquals(
        JobVerdictTest.snapshot(job),
        CompactJobs.snapshot(CompactJobs.compact(job)),
        situation + " (compacted)");
  }
}
