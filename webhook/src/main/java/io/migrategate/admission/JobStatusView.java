package io.migrategate.admission;

import java.util.List;

/**
 * What the gate knows about Jobs at admission time, for the fast path: a pod whose Jobs all
 * succeeded gets no waiter at all. Answers from memory (never calls the API server) so admission
 * stays fast.
 */
@FunctionalInterface
public interface JobStatusView {

  /** Knows nothing: every gated pod gets its waiter. */
  JobStatusView NONE = (namespace, jobs, revision) -> false;

  /**
   * Whether every named Job has succeeded — its live Job, or, when deleted, a success in the gate's
   * ledger — for {@code revision} when given. False whenever that is not known for certain (e.g.
   * the gate's caches are still loading): the waiter then decides.
   *
   * @param revision the pod's {@code migrate.io/revision}, or null
   */
  boolean allSucceeded(String namespace, List<String> jobs, String revision);
}
