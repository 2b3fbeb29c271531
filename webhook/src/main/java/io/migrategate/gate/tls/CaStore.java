package io.migrategate.gate.tls;

/** The CA Secret: read, watched, and written only with optimistic concurrency. */
interface CaStore extends AutoCloseable {

  /** Starts watching; {@code onChange} runs (on a watch thread) whenever the Secret changes. */
  void start(Runnable onChange);

  /**
   * The Secret as last seen (the watch cache once synced, else a direct read).
   *
   * @throws InvalidCaSecretException when it holds an unusable CA
   */
  CaSecretState read();

  /**
   * Stores {@code proposal} if the Secret is still as in {@code basis} (absent: create; present:
   * update at its resourceVersion). When another writer got there first, re-reads and returns that
   * writer's CA with {@code won == false}, so every replica ends up with the same CA.
   */
  CaWrite write(CaSecretState basis, CaContent proposal);

  /** "namespace/name", for logs and messages. */
  String describe();

  @Override
  void close();
}
