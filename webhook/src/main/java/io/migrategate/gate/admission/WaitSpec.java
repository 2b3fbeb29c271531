package io.migrategate.gate.admission;

import java.util.Optional;

/**
 * What one pod waits for, resolved from its annotations or its workload's.
 *
 * @param jobs the Jobs, in the pod's namespace
 * @param revision the revision the Jobs must carry, if any
 * @param timeout the waiter timeout as written ({@code 10m}), if any
 * @param source where {@code migrate.io/job} was found: {@code pod} or {@code Deployment shop/web}
 * @param statusSource {@code migrate.io/source}, if set: where the waiter reads Job status
 * @param workload the workload that carries {@code migrate.io/job}, when it is not the pod itself
 */
record WaitSpec(
    JobReference jobs,
    Optional<String> revision,
    Optional<String> timeout,
    String source,
    Optional<StatusSource> statusSource,
    Optional<OwnerRef> workload) {}
