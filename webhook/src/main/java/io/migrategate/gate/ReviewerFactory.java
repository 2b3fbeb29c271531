package io.migrategate.gate;

import io.migrategate.admission.AdmissionReviewer;

/** Builds the reviewer the gate serves, from its configuration and its Kubernetes access. */
@FunctionalInterface
public interface ReviewerFactory {
  AdmissionReviewer create(GateConfig config, KubernetesAccess kubernetes);
}
