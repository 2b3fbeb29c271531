package io.migrategate.demo;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.migrategate.core.JobSnapshot;
import io.migrategate.core.JobVerdict;
import io.migrategate.core.Json;

/** The waiter's verdict on a Job the demo read with fabric8: the live view says what it says. */
final class Verdicts {
  private Verdicts() {}

  static JobVerdict of(Job job) {
    return JobVerdict.of(JobSnapshot.fromJson(Json.object(Serialization.asJson(job))), null);
  }
}
