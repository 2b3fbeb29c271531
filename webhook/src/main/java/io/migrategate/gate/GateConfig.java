package io.migrategate.gate;

import io.migrategate.core.UsageException;
import io.migrategate.gate.admission.FailurePolicy;
import io.migrategate.gate.admission.WaiterResources;
import io.migrategate.gate.ledger.LedgerPolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Everything the gate is started with. Each setting comes from a flag or, when the flag is absent,
 * from its environment variable, else from its default (declared in {@link GateCommandLine});
 * docs/configuration.md describes the same table.
 */
public record GateConfig(
    int port,
    int probePort,
    TlsMode tlsMode,
    /* files mode only, else null. */
    Path tlsCertFile,
    /* files mode only, else null. */
    Path tlsKeyFile,
    /* self-managed mode: where the CA lives and which webhook configuration trusts it. */
    SelfManagedTlsSettings selfManagedTls,
    String waiterImage,
    /* null: KUBECONFIG, ~/.kube/config or the in-cluster service account, as kubectl does. */
    Path kubeconfig,
    String namespace,
    FailurePolicy ownerLookupFailurePolicy,
    Duration ownerLookupTimeout,
    List<String> excludedNamespaces,
    WaiterResources waiterResources,
    /* empty: the platform assigns injected waiters their UID (OpenShift). */
    OptionalLong waiterRunAsUser,
    Duration drainDelay,
    Duration shutdownTimeout,
    LogFormat logFormat,
    /* null: injected waiters read the API directly (no gate mode). */
    String waitUrl,
    /* null exactly when waitUrl is null. */
    Path waitCaFile,
    LedgerPolicy ledgerPolicy,
    /* zero: no audit of un-gated pods. */
    Duration auditInterval,
    /* HTTPS port of the wait API (0: a free port). */
    int waitPort,
    /* null: the admission port asks for no client certificate. */
    Path admissionClientCa,
    FastPath admissionFastPath,
    Limits limits,
    /* The Secret in the gate's namespace holding the success ledger's sealing key. */
    String ledgerKeySecret) {

  public GateConfig {
    excludedNamespaces = List.copyOf(excludedNamespaces);
  }

  /** Where the serving certificate comes from. */
  public enum TlsMode {
    /** PEM files, watched (cert-manager, or Secrets a team manages). */
    FILES,
    /**
     * The gate's own CA in a Secret, serving certificates minted in memory, caBundle kept in sync.
     */
    SELF_MANAGED
  }

  /**
   * Self-managed TLS: the CA Secret (in the gate's namespace), the MutatingWebhookConfiguration
   * whose caBundle the gate keeps, the Service the certificate is for, and extra IP addresses (a
   * gate run on a host, reached at https://127.0.0.1).
   */
  public record SelfManagedTlsSettings(
      String caSecret, String webhookConfiguration, String service, List<String> ipAddresses) {
    public SelfManagedTlsSettings {
      ipAddresses = List.copyOf(ipAddresses);
    }
  }

  public enum LogFormat {
    TEXT,
    JSON
  }

  /**
   * Whether the admission fast path ({@code skipped: job-succeeded}) answers from the gate's Job
   * tracker. Its answer tells whoever sent the review whether another namespace's Jobs succeeded,
   * so by default ({@link #AUTO}) it is on only when the admission port authenticates its caller
   * ({@code --admission-client-ca}).
   */
  public enum FastPath {
    AUTO,
    ON,
    OFF
  }

  /**
   * The bounds that keep one client from exhausting the gate (docs/configuration.md, "Bounds").
   *
   * @param maxConnections open connections per HTTPS port; more are closed at once
   * @param maxConnectionsPerClient open connections per HTTPS port from one remote address
   * @param maxTokenReviews TokenReviews in flight at once (a quarter of them per client address)
   * @param tokenCacheSize remembered token reviews (least recently used go first), valid and
   *     rejected tokens each
   * @param maxStreamsPerServiceAccount open wait streams per ServiceAccount; more get 429
   * @param reauthInterval how often an open wait stream's token is reviewed again
   */
  public record Limits(
      int maxConnections,
      int maxConnectionsPerClient,
      int maxTokenReviews,
      int tokenCacheSize,
      int maxStreamsPerServiceAccount,
      Duration reauthInterval) {}

  /** Whether the admission fast path is on, after {@link FastPath#AUTO} is resolved. */
  public boolean fastPathOn() {
    return switch (admissionFastPath) {
      case ON -> true;
      case OFF -> false;
      case AUTO -> admissionClientCa != null;
    };
  }

  /** Every setting the gate reads: flag, environment variable, description, default. */
  public static List<GateCommandLine.Setting> settings() {
    return GateCommandLine.settings();
  }

  public static String usage() {
    return GateCommandLine.usage();
  }

  /** Reads flags ({@code --flag value} or {@code --flag=value}), then env, then defaults. */
  public static GateConfig parse(List<String> args, Map<String, String> env) throws UsageException {
    return GateCommandLine.parse(args, env);
  }
}
