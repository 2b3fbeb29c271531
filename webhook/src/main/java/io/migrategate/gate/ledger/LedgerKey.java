package io.migrategate.gate.ledger;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;

/**
 * The ledger's sealing key, kept in a Secret of the gate's namespace that the manifests create
 * empty ({@value #DEFAULT_SECRET}, data key {@value #DATA_KEY}): the first replica that finds it
 * empty writes 32 random bytes with optimistic concurrency (a 409 means another replica won; its
 * key is read). RBAC: get and update on that one Secret, so ConfigMap writers in the namespace
 * cannot read it.
 */
public final class LedgerKey {
  public static final String DEFAULT_SECRET = "migrate-gate-ledger-key";
  public static final String DATA_KEY = "hmac-key";
  private static final int KEY_BYTES = 32;
  private static final SecureRandom RANDOM = new SecureRandom();

  private LedgerKey() {}

  /**
   * Reads the key, writing one first when the Secret holds none. Blocking.
   *
   * @throws IllegalStateException when the Secret is missing or cannot be read or written; the
   *     message names the Secret and the fix
   */
  public static LedgerSeal load(KubernetesClient client, String namespace, String secretName) {
    for (int attempt = 0; attempt < 5; attempt++) {
      Secret secret;
      try {
        secret = client.secrets().inNamespace(namespace).withName(secretName).get();
      } catch (KubernetesClientException e) {
        throw new IllegalStateException(
            "cannot read Secret "
                + namespace
                + "/"
                + secretName
                + " (HTTP "
                + e.getCode()
                + "; the gate needs get and update on it)",
            e);
      }
      if (secret == null) {
        throw new IllegalStateException(
            "Secret "
                + namespace
                + "/"
                + secretName
                + " is missing: the manifests create it empty for the success ledger's key;"
                + " re-apply them");
      }
      Map<String, String> data = secret.getData();
      String stored = data == null ? null : data.get(DATA_KEY);
      if (stored != null && !stored.isBlank()) {
        byte[] key = Base64.getDecoder().decode(stored.trim());
        if (key.length >= KEY_BYTES) {
          return LedgerSeal.of(key);
        }
      }
      byte[] fresh = new byte[KEY_BYTES];
      RANDOM.nextBytes(fresh);
      Secret next =
          new SecretBuilder(secret)
              .addToData(DATA_KEY, Base64.getEncoder().encodeToString(fresh))
              .build();
      try {
        // update() sends the resourceVersion read above: another replica's write makes a 409.
        client.secrets().inNamespace(namespace).resource(next).update();
        return LedgerSeal.of(fresh);
      } catch (KubernetesClientException e) {
        if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
          throw new IllegalStateException(
              "cannot write the success ledger's key into Secret "
                  + namespace
                  + "/"
                  + secretName
                  + " (HTTP "
                  + e.getCode()
                  + "; the gate needs update on it)",
              e);
        }
        // another replica wrote first: read its key
      }
    }
    throw new IllegalStateException(
        "Secret " + namespace + "/" + secretName + ": 5 conflicting writes in a row");
  }
}
