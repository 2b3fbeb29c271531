package io.migrategate.gate.tls;

import io.migrategate.certs.ServingNames;
import io.migrategate.core.Names;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Settings of self-managed TLS: where the CA lives, which webhook configuration trusts it, and the
 * timing of the certificate lifecycle. Production uses {@link #defaults}; tests shorten lifetimes
 * to seconds with the {@code with...} methods.
 *
 * @param namespace the gate's namespace, home of the CA Secret
 * @param caSecretName the Secret holding the CA ({@code ca.crt}, {@code ca.key}, {@code
 *     ca-bundle.crt}); pre-created empty by the manifests
 * @param webhookConfigurationName the MutatingWebhookConfiguration whose every webhook entry gets
 *     the caBundle; the only one the gate touches
 * @param caCommonName prefix of each CA's common name; the issue time is appended so the CAs of a
 *     rotation are told apart in {@code openssl} output and logs
 * @param servingDnsNames subjectAltNames of the serving certificate (e.g. {@link
 *     ServingNames#forService})
 * @param servingIpAddresses IP subjectAltNames of the serving certificate (e.g. 127.0.0.1 when the
 *     API server calls a host process)
 * @param caValidity lifetime of a new CA
 * @param servingValidity lifetime of a serving certificate (capped at its CA's expiry)
 * @param renewFraction share of a certificate's lifetime after which it is replaced: a serving
 *     certificate is renewed, a CA rotated
 * @param trustPropagationDelay how long a CA must have been in the observed caBundle before this
 *     replica serves a certificate from it, so every API server instance has seen the new bundle
 * @param expiredCaGrace how long after its expiry a CA is still kept in the caBundle, so replicas
 *     whose clocks differ a little do not undo each other's pruning
 * @param manageCaBundle whether this replica writes the caBundle; when false it only observes it
 *     (another writer, such as a leader or cert-manager's cainjector, keeps it in sync)
 * @param resyncInterval how often the whole state is re-checked even without a change event
 */
public record SelfManagedTlsConfig(
    String namespace,
    String caSecretName,
    String webhookConfigurationName,
    String caCommonName,
    List<String> servingDnsNames,
    List<String> servingIpAddresses,
    Duration caValidity,
    Duration servingValidity,
    double renewFraction,
    Duration trustPropagationDelay,
    Duration expiredCaGrace,
    boolean manageCaBundle,
    Duration resyncInterval) {

  public static final String DEFAULT_CA_SECRET_NAME = "migrate-gate-ca";
  public static final String DEFAULT_WEBHOOK_CONFIGURATION_NAME = "migrate-gate";
  public static final String DEFAULT_CA_COMMON_NAME = "migrate-gate-ca";
  public static final Duration DEFAULT_CA_VALIDITY = Duration.ofDays(365);
  public static final Duration DEFAULT_SERVING_VALIDITY = Duration.ofDays(7);

  /** Renew or rotate at two thirds of the lifetime, as kubelet and cert-manager do. */
  public static final double DEFAULT_RENEW_FRACTION = 2.0 / 3.0;

  public static final Duration DEFAULT_TRUST_PROPAGATION_DELAY = Duration.ofSeconds(30);
  public static final Duration DEFAULT_EXPIRED_CA_GRACE = Duration.ofMinutes(10);
  public static final Duration DEFAULT_RESYNC_INTERVAL = Duration.ofMinutes(5);

  public SelfManagedTlsConfig {
    requireName("namespace", namespace, Names.isDnsLabel(namespace));
    requireName("CA Secret name", caSecretName, Names.isDnsSubdomain(caSecretName));
    requireName(
        "MutatingWebhookConfiguration name",
        webhookConfigurationName,
        Names.isDnsSubdomain(webhookConfigurationName));
    if (caCommonName == null || caCommonName.isBlank() || caCommonName.length() > 40) {
      throw new IllegalArgumentException(
          "CA common name '" + caCommonName + "' must be 1 to 40 characters, e.g. migrate-gate-ca");
    }
    servingDnsNames = List.copyOf(Objects.requireNonNull(servingDnsNames, "servingDnsNames"));
    servingIpAddresses =
        List.copyOf(Objects.requireNonNull(servingIpAddresses, "servingIpAddresses"));
    if (servingDnsNames.isEmpty() && servingIpAddresses.isEmpty()) {
      throw new IllegalArgumentException(
          "the serving certificate needs at least one DNS name or IP address; use"
              + " ServingNames.forService(service, namespace) for the gate's Service");
    }
    requirePositive("CA validity", caValidity);
    requirePositive("serving certificate validity", servingValidity);
    if (servingValidity.compareTo(caValidity) >= 0) {
      throw new IllegalArgumentException(
          "serving certificate validity "
              + servingValidity
              + " must be shorter than the CA validity "
              + caValidity
              + ", or every serving certificate would be cut short by its CA's expiry");
    }
    if (!(renewFraction > 0.0 && renewFraction < 1.0)) {
      throw new IllegalArgumentException(
          "renew fraction " + renewFraction + " must be between 0 and 1 (exclusive), e.g. 0.667");
    }
    requireNotNegative("trust propagation delay", trustPropagationDelay);
    requireNotNegative("expired CA grace", expiredCaGrace);
    requirePositive("resync interval", resyncInterval);
  }

  /**
   * Production settings: a CA of 365 days rotated at two thirds, serving certificates of 7 days
   * renewed at two thirds, caBundle managed by this replica.
   */
  public static SelfManagedTlsConfig defaults(
      String namespace, List<String> servingDnsNames, List<String> servingIpAddresses) {
    return new SelfManagedTlsConfig(
        namespace,
        DEFAULT_CA_SECRET_NAME,
        DEFAULT_WEBHOOK_CONFIGURATION_NAME,
        DEFAULT_CA_COMMON_NAME,
        servingDnsNames,
        servingIpAddresses,
        DEFAULT_CA_VALIDITY,
        DEFAULT_SERVING_VALIDITY,
        DEFAULT_RENEW_FRACTION,
        DEFAULT_TRUST_PROPAGATION_DELAY,
        DEFAULT_EXPIRED_CA_GRACE,
        true,
        DEFAULT_RESYNC_INTERVAL);
  }

  public SelfManagedTlsConfig withCaSecretName(String name) {
    return new SelfManagedTlsConfig(
        namespace,
        name,
        webhookConfigurationName,
        caCommonName,
        servingDnsNames,
        servingIpAddresses,
        caValidity,
        servingValidity,
        renewFraction,
        trustPropagationDelay,
        expiredCaGrace,
        manageCaBundle,
        resyncInterval);
  }

  public SelfManagedTlsConfig withWebhookConfigurationName(String name) {
    return new SelfManagedTlsConfig(
        namespace,
        caSecretName,
        name,
        caCommonName,
        servingDnsNames,
        servingIpAddresses,
        caValidity,
        servingValidity,
        renewFraction,
        trustPropagationDelay,
        expiredCaGrace,
        manageCaBundle,
        resyncInterval);
  }

  /** The certificate lifecycle timing in one step, since its values constrain each other. */
  public SelfManagedTlsConfig withTiming(
      Duration caValidity,
      Duration servingValidity,
      Duration trustPropagationDelay,
      Duration expiredCaGrace,
      Duration resyncInterval) {
    return new SelfManagedTlsConfig(
        namespace,
        caSecretName,
        webhookConfigurationName,
        caCommonName,
        servingDnsNames,
        servingIpAddresses,
        caValidity,
        servingValidity,
        renewFraction,
        trustPropagationDelay,
        expiredCaGrace,
        manageCaBundle,
        resyncInterval);
  }

  public SelfManagedTlsConfig withManageCaBundle(boolean manage) {
    return new SelfManagedTlsConfig(
        namespace,
        caSecretName,
        webhookConfigurationName,
        caCommonName,
        servingDnsNames,
        servingIpAddresses,
        caValidity,
        servingValidity,
        renewFraction,
        trustPropagationDelay,
        expiredCaGrace,
        manage,
        resyncInterval);
  }

  private static void requireName(String what, String value, boolean valid) {
    if (!valid) {
      throw new IllegalArgumentException(
          what
              + " '"
              + value
              + "' is not a valid Kubernetes name: use lower-case letters, digits, '-' (and '.'"
              + " outside namespaces), starting and ending with a letter or digit");
    }
  }

  private static void requirePositive(String what, Duration value) {
    if (value == null || value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(what + " must be positive, got " + value);
    }
  }

  private static void requireNotNegative(String what, Duration value) {
    if (value == null || value.isNegative()) {
      throw new IllegalArgumentException(what + " must be zero or positive, got " + value);
    }
  }
}
