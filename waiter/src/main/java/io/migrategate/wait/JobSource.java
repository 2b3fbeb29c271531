package io.migrategate.wait;

import java.util.List;
import java.util.function.Consumer;

/**
 * Where the waiter learns about Jobs: the Kubernetes API directly ({@link KubernetesJobSource}),
 * or, later, the gate. The waiting loop, logging, timeout and exit mapping ({@link Waiter}) do not
 * depend on which.
 */
public interface JobSource extends AutoCloseable {

  /**
   * Starts following one Job and returns at once. Events for that Job arrive in order on {@code
   * events}, from a thread of the source: first its current state ({@link JobEvent.Observed} or
   * {@link JobEvent.Missing}), then every change, until {@link #close()}.
   */
  void follow(String namespace, String job, Consumer<JobEvent> events);

  /**
   * Starts following several Jobs; by default one {@link #follow} each. A source that can ask about
   * them together (the gate: one connection per waiter) overrides this.
   */
  default void followAll(String namespace, List<String> jobs, Consumer<JobEvent> events) {
    for (String job : jobs) {
      follow(namespace, job, events);
    }
  }

  /** Stops following; no events after it returns. Never throws. */
  @Override
  void close();
}
