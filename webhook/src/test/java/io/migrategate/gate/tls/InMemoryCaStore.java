package io.migrategate.gate.tls;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.util.Map;
import java.util.Objects;

/**
 * A CA Secret in memory with the API server's optimistic concurrency: a write based on an outdated
 * read loses, and the loser gets the stored state back.
 */
final class InMemoryCaStore implements CaStore {
  private Secret secret;
  private long resourceVersion;
  int writes;

  /** What another writer does between our read and our write (e.g. a racing replica). */
  Runnable beforeNextWrite;

  synchronized void put(Map<String, String> data) {
    secret =
        new SecretBuilder()
            .withNewMetadata()
            .withNamespace("gate")
            .withName("migrate-gate-ca")
            .withResourceVersion(Long.toString(++resourceVersion))
            .endMetadata()
            .withData(data)
            .build();
  }

  synchronized void putCa(CaContent content) {
    put(CaSecretFormat.encode(content));
  }

  synchronized void delete() {
    secret = null;
  }

  synchronized CaContent stored() {
    return secret == null ? null : CaSecretFormat.decode(secret);
  }

  @Override
  public void start(Runnable onChange) {}

  @Override
  public synchronized CaSecretState read() {
    return new CaSecretState(secret, secret == null ? null : CaSecretFormat.decode(secret));
  }

  @Override
  public CaWrite write(CaSecretState basis, CaContent proposal) {
    Runnable racer = beforeNextWrite;
    beforeNextWrite = null;
    if (racer != null) {
      racer.run();
    }
    synchronized (this) {
      String currentVersion = secret == null ? null : secret.getMetadata().getResourceVersion();
      if (!Objects.equals(currentVersion, basis.resourceVersion())) {
        return new CaWrite(read(), false);
      }
      writes++;
      put(CaSecretFormat.encode(proposal));
      return new CaWrite(read(), true);
    }
  }

  @Override
  public String describe() {
    return "gate/migrate-gate-ca";
  }

  @Override
  public void close() {}
}
