package io.migrategate.gate;

import io.migrategate.gate.admission.AdmissionReviewer;
import io.migrategate.gate.kube.KubernetesAccess;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Builds the reviewer the gate serves, from its configuration, its Kubernetes access and the CAs
 * its clients must trust now ({@code gateTrust}: empty unless the gate keeps its own CA).
 */
@FunctionalInterface
public interface ReviewerFactory {
  AdmissionReviewer create(
      GateConfig config, KubernetesAccess kubernetes, Supplier<Optional<String>> gateTrust);
}
