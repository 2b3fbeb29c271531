package io.migrategate.gate.admission;

import java.util.List;

/**
 * What the gate knows about Jobs at admission time, for the fast path: a pod whose Jobs all
 * succeeded gets no waiter at all. The gate's view ({@link ConfirmedJobStatus}) answers "no" from
 * memory and confirms a "yes" with one read, which may throw {@link WouldBlockException} on an
 * event loop.
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
