package io.migrategate.gate.tls;

import io.fabric8.kubernetes.api.model.Secret;
import java.util.Optional;

/**
 * The CA Secret as read: absent ({@code secret} null), present without a CA yet (pre-created empty
 * by the manifests, or emptied), or holding a CA.
 */
record CaSecretState(Secret secret, CaContent ca) {

  boolean exists() {
    return secret != null;
  }

  Optional<CaContent> content() {
    return Optional.ofNullable(ca);
  }

  String resourceVersion() {
    return secret == null ? null : secret.getMetadata().getResourceVersion();
  }
}
