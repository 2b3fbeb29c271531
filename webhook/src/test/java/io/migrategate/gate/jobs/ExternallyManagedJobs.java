package io.migrategate.gate.jobs;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.UncountedTerminatedPods;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;

/**
 * Jobs whose status a test writes itself: {@code spec.managedBy} another controller (Kubernetes ≥
 * 1.32), so the Job controller leaves them alone. For many successes at once, where the real
 * controller (20 requests/s on the local control plane) would take minutes; the gate sees what a
 * real success looks like, conditions and counts included.
 */
public final class ExternallyManagedJobs {
  public static final String MANAGED_BY = "migrate-gate.test/externally-managed";

  private ExternallyManagedJobs() {}

  /** Creates {@code namespace/name} and marks it succeeded: two requests. */
  public static Job succeeded(
      KubernetesClient admin, String namespace, String name, Map<String, String> labels) {
    Job job =
        admin
            .batch()
            .v1()
            .jobs()
            .inNamespace(namespace)
            .resource(
                new JobBuilder()
                    .withNewMetadata()
                    .withName(name)
                    .withLabels(labels)
                    .endMetadata()
                    .withNewSpec()
                    .withManagedBy(MANAGED_BY)
                    .withBackoffLimit(0)
                    .withNewTemplate()
                    .withNewSpec()
                    .withRestartPolicy("Never")
                    .withContainers(
                        new ContainerBuilder()
                            .withName("batch")
                            .withImage("registry.example/batch:1")
                            .build())
                    .endSpec()
                    .endTemplate()
                    .endSpec()
                    .build())
            .create();
    String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    job.setStatus(
        new JobStatusBuilder()
            .withStartTime(now)
            .withCompletionTime(now)
            .withSucceeded(1)
            .withReady(0)
            .withTerminating(0)
            .withUncountedTerminatedPods(new UncountedTerminatedPods())
            .addNewCondition()
            .withType("SuccessCriteriaMet")
            .withStatus("True")
            .withLastTransitionTime(now)
            .withLastProbeTime(now)
            .endCondition()
            .addNewCondition()
            .withType("Complete")
            .withStatus("True")
            .withLastTransitionTime(now)
            .withLastProbeTime(now)
            .endCondition()
            .build());
    return admin.batch().v1().jobs().inNamespace(namespace).resource(job).updateStatus();
  }
}
