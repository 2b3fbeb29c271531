package io.migrategate.wait;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.migrategate.jobs.JobVerdict;
import io.migrategate.jobs.JobVerdictTest;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The waiter's lean JSON reading gives the verdict the fully bound fabric8 Job gives. */
class JobJsonTest {
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  static Stream<Arguments> jobs() {
    return JobVerdictTest.jobs();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("jobs")
  void projectionKeepsEverythingTheVerdictReads(String situation, Job job) {
    Job projected = JobJson.job(JobJson.object(SERIALIZATION.asJson(job)));
    assertEquals(JobVerdict.of(job, null), JobVerdict.of(projected, null), situation);
    assertEquals(JobVerdict.of(job, "42"), JobVerdict.of(projected, "42"), situation);
  }

  @Test
  void keepsMetadataAndTheRevisionAnnotation() {
    Job job =
        new JobBuilder()
            .withNewMetadata()
            .withName("db-migrate")
            .withNamespace("shop")
            .withUid("u-1")
            .withResourceVersion("123")
            .addToAnnotations(JobVerdict.REVISION_ANNOTATION, "42")
            .endMetadata()
            .withNewSpec()
            .withBackoffLimit(2)
            .withNewTemplate()
            .withNewSpec()
            .addNewContainer()
            .withName("migrate")
            .withImage("migrate:1")
            .endContainer()
            .endSpec()
            .endTemplate()
            .endSpec()
            .build();
    Job projected = JobJson.job(JobJson.object(SERIALIZATION.asJson(job)));
    assertEquals("u-1", projected.getMetadata().getUid());
    assertEquals("123", projected.getMetadata().getResourceVersion());
    assertEquals(
        "42", projected.getMetadata().getAnnotations().get(JobVerdict.REVISION_ANNOTATION));
    assertEquals(2, projected.getSpec().getBackoffLimit());
    assertEquals(JobVerdict.Phase.PENDING, JobVerdict.of(projected, "42").phase());
  }
}
