package io.migrategate.gate;

import io.migrategate.admission.FailurePolicy;
import io.migrategate.admission.InjectionConfig;
import io.migrategate.admission.KubernetesOwnerLookup;
import io.migrategate.admission.WaiterResources;
import io.migrategate.core.Durations;
import io.migrategate.core.Names;
import io.migrategate.ledger.LedgerPolicy;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Everything the gate is started with. Each setting comes from a flag or, when the flag is absent,
 * from its environment variable, else from its default (see {@link Option}); docs/configuration.md
 * describes the same table.
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

  /** Where the gate runs when nothing says otherwise: the pod's service account namespace file. */
  static final Path SERVICE_ACCOUNT_NAMESPACE =
      Path.of("/var/run/secrets/kubernetes.io/serviceaccount/namespace");

  /** Every setting: its flag, its environment variable, its default and what it does. */
  public enum Option {
    PORT(
        "--port",
        "MIGRATE_GATE_PORT",
        "8443",
        "HTTPS port serving POST /mutate (0 picks a free port)."),
    PROBE_PORT(
        "--probe-port",
        "MIGRATE_GATE_PROBE_PORT",
        "8080",
        "Plain-HTTP port serving /livez, /readyz and /metrics (0 picks a free port)."),
    WAIT_PORT(
        "--wait-port",
        "MIGRATE_GATE_WAIT_PORT",
        "8444",
        "HTTPS port serving the wait API (GET /wait/v1/...) to injected waiters, with the same"
            + " certificate as --port (0 picks a free port). --wait-url must reach this port."),
    ADMISSION_CLIENT_CA(
        "--admission-client-ca",
        "MIGRATE_GATE_ADMISSION_CLIENT_CA",
        null,
        "PEM CA certificate(s). Set: the admission port (--port) requires a client certificate"
            + " signed by one of them (give the API server one with an AdmissionConfiguration)."
            + " Read at start."),
    ADMISSION_FAST_PATH(
        "--admission-fast-path",
        "MIGRATE_GATE_ADMISSION_FAST_PATH",
        "auto",
        "auto, on or off: whether a pod whose Jobs all succeeded is admitted without migrate-wait"
            + " (skipped: job-succeeded). The answer reveals another namespace's Job state to"
            + " whoever can call the admission port, so auto means on only with"
            + " --admission-client-ca."),
    MAX_CONNECTIONS(
        "--max-connections",
        "MIGRATE_GATE_MAX_CONNECTIONS",
        "1024",
        "Most open connections per HTTPS port (admission and wait, each). At the bound the"
            + " connection idle longest is closed to make room; when every one has a request in"
            + " progress, the new one is closed."),
    MAX_CONNECTIONS_PER_CLIENT(
        "--max-connections-per-client",
        "MIGRATE_GATE_MAX_CONNECTIONS_PER_CLIENT",
        "256",
        "Most open connections per HTTPS port from one client address; keeps one pod from taking"
            + " every connection of --max-connections."),
    MAX_TOKEN_REVIEWS(
        "--max-token-reviews",
        "MIGRATE_GATE_MAX_TOKEN_REVIEWS",
        "8",
        "Most TokenReviews in flight at once, a quarter of them (at least 1) for one client"
            + " address; a wait request that needs one more is answered 503 at once."),
    TOKEN_CACHE_SIZE(
        "--token-cache-size",
        "MIGRATE_GATE_TOKEN_CACHE_SIZE",
        "10000",
        "Token reviews remembered (by SHA-256), valid and rejected tokens each; the least recently"
            + " used go first."),
    MAX_STREAMS_PER_SERVICE_ACCOUNT(
        "--max-streams-per-service-account",
        "MIGRATE_GATE_MAX_STREAMS_PER_SERVICE_ACCOUNT",
        "64",
        "Most open wait streams of one ServiceAccount; one more is answered 429 (the waiter"
            + " retries)."),
    WAIT_REAUTH_INTERVAL(
        "--wait-reauth-interval",
        "MIGRATE_GATE_WAIT_REAUTH_INTERVAL",
        "5m",
        "How often the token of an open wait stream is reviewed again; a stream also ends, with a"
            + " reauthenticate notice, a minute before its token expires (the waiter reconnects"
            + " with its refreshed token)."),
    TLS_MODE(
        "--tls-mode",
        "MIGRATE_GATE_TLS_MODE",
        "files",
        "files: serve --tls-cert-file/--tls-key-file. self-managed: keep a CA in the Secret"
            + " --tls-ca-secret, mint serving certificates in memory and keep the caBundle of"
            + " --webhook-configuration in sync (the manifests' default)."),
    TLS_CERT_FILE(
        "--tls-cert-file",
        "MIGRATE_GATE_TLS_CERT_FILE",
        null,
        "PEM serving certificate (chain). Required with --tls-mode=files. Watched: a new"
            + " certificate is served without restart."),
    TLS_KEY_FILE(
        "--tls-key-file",
        "MIGRATE_GATE_TLS_KEY_FILE",
        null,
        "PEM private key of the serving certificate. Required with --tls-mode=files. Watched like"
            + " the certificate."),
    LEDGER_KEY_SECRET(
        "--ledger-key-secret",
        "MIGRATE_GATE_LEDGER_KEY_SECRET",
        "migrate-gate-ledger-key",
        "The Secret in the gate's namespace holding the success ledger's sealing key (the"
            + " manifests create it empty; the gate fills it). Whoever can read it can forge ledger"
            + " entries: keep it readable by the gate only."),
    TLS_CA_SECRET(
        "--tls-ca-secret",
        "MIGRATE_GATE_TLS_CA_SECRET",
        "migrate-gate-ca",
        "Self-managed mode: the Secret in the gate's namespace holding the CA (the manifests create"
            + " it empty; the gate fills it)."),
    WEBHOOK_CONFIGURATION(
        "--webhook-configuration",
        "MIGRATE_GATE_WEBHOOK_CONFIGURATION",
        "migrate-gate",
        "Self-managed mode: the MutatingWebhookConfiguration whose caBundle the gate keeps in"
            + " sync."),
    TLS_SERVICE(
        "--tls-service",
        "MIGRATE_GATE_TLS_SERVICE",
        "migrate-gate",
        "Self-managed mode: the Service the serving certificate names (svc, svc.ns, svc.ns.svc,"
            + " svc.ns.svc.cluster.local)."),
    TLS_IP_SANS(
        "--tls-ip-sans",
        "MIGRATE_GATE_TLS_IP_SANS",
        null,
        "Self-managed mode: comma-separated IP addresses the certificate also names (e.g."
            + " 127.0.0.1 for a gate run on a host)."),
    WAITER_IMAGE(
        "--waiter-image",
        "MIGRATE_GATE_WAITER_IMAGE",
        null,
        "Image of the injected migrate-wait init container. Required."),
    KUBECONFIG(
        "--kubeconfig",
        "MIGRATE_GATE_KUBECONFIG",
        null,
        "Kubeconfig file for the Kubernetes API. Default: KUBECONFIG, ~/.kube/config, else the"
            + " in-cluster service account."),
    NAMESPACE(
        "--namespace",
        "MIGRATE_GATE_NAMESPACE",
        null,
        "The gate's own namespace; its pods are never mutated. Default: the service account's"
            + " namespace, else migrate-gate."),
    OWNER_LOOKUP_FAILURE_POLICY(
        "--owner-lookup-failure-policy",
        "MIGRATE_GATE_OWNER_LOOKUP_FAILURE_POLICY",
        "fail-closed",
        "fail-closed (deny the pod) or fail-open (admit it without a waiter) when a pod's owner"
            + " cannot be read."),
    OWNER_LOOKUP_TIMEOUT(
        "--owner-lookup-timeout",
        "MIGRATE_GATE_OWNER_LOOKUP_TIMEOUT",
        KubernetesOwnerLookup.DEFAULT_LOOKUP_TIMEOUT.toMillis() + "ms",
        "Longest wait for one direct GET of a pod's owner (cache misses); a pod may need two"
            + " (ReplicaSet, Deployment), so keep twice this under the webhook's timeoutSeconds."),
    EXCLUDED_NAMESPACES(
        "--excluded-namespaces",
        "MIGRATE_GATE_EXCLUDED_NAMESPACES",
        "",
        "Comma-separated namespaces whose pods are never mutated, in addition to kube-system,"
            + " kube-public, kube-node-lease and the gate's own namespace (always excluded)."),
    WAITER_CPU_REQUEST(
        "--waiter-cpu-request",
        "MIGRATE_GATE_WAITER_CPU_REQUEST",
        InjectionConfig.DEFAULT_RESOURCES.requestsCpu(),
        "CPU request of migrate-wait."),
    WAITER_MEMORY_REQUEST(
        "--waiter-memory-request",
        "MIGRATE_GATE_WAITER_MEMORY_REQUEST",
        InjectionConfig.DEFAULT_RESOURCES.requestsMemory(),
        "Memory request of migrate-wait."),
    WAITER_CPU_LIMIT(
        "--waiter-cpu-limit",
        "MIGRATE_GATE_WAITER_CPU_LIMIT",
        InjectionConfig.DEFAULT_RESOURCES.limitsCpu(),
        "CPU limit of migrate-wait."),
    WAITER_MEMORY_LIMIT(
        "--waiter-memory-limit",
        "MIGRATE_GATE_WAITER_MEMORY_LIMIT",
        InjectionConfig.DEFAULT_RESOURCES.limitsMemory(),
        "Memory limit of migrate-wait."),
    DRAIN_DELAY(
        "--drain-delay",
        "MIGRATE_GATE_DRAIN_DELAY",
        "5s",
        "After SIGTERM: how long /readyz reports not ready while reviews are still served, so"
            + " endpoints stop routing to this pod."),
    SHUTDOWN_TIMEOUT(
        "--shutdown-timeout",
        "MIGRATE_GATE_SHUTDOWN_TIMEOUT",
        "10s",
        "After the drain delay: the longest wait for in-flight reviews before the gate exits."),
    LOG_FORMAT("--log-format", "MIGRATE_GATE_LOG_FORMAT", "text", "text (key=value) or json."),
    WAIT_URL(
        "--wait-url",
        "MIGRATE_GATE_WAIT_URL",
        null,
        "https URL of this gate's wait port as pods reach it (e.g."
            + " https://migrate-gate.migrate-gate.svc:8444, the Service's wait port). With it,"
            + " injected waiters ask the gate's wait API (gate mode: no RBAC for the pod) unless the"
            + " workload says migrate.io/source: api. Needs --wait-ca-file."),
    WAIT_CA_FILE(
        "--wait-ca-file",
        "MIGRATE_GATE_WAIT_CA_FILE",
        null,
        "PEM of the CA that signed the serving certificate, injected into waiters (env"
            + " MIGRATE_GATE_CA) so they verify the gate. Required with --wait-url."),
    LEDGER_RETENTION(
        "--ledger-retention",
        "MIGRATE_GATE_LEDGER_RETENTION",
        "720h",
        "How long the success ledger remembers a Job that succeeded and was deleted (pods created"
            + " later start without waiting)."),
    LEDGER_MAX_ENTRIES(
        "--ledger-max-entries",
        "MIGRATE_GATE_LEDGER_MAX_ENTRIES",
        Integer.toString(LedgerPolicy.DEFAULT_MAX_ENTRIES_PER_NAMESPACE),
        "Most Jobs the success ledger remembers per namespace (1-"
            + LedgerPolicy.MAX_ENTRIES_PER_NAMESPACE
            + "); the oldest go first."),
    AUDIT_INTERVAL(
        "--audit-interval",
        "MIGRATE_GATE_AUDIT_INTERVAL",
        "5m",
        "How often the gate looks for pods of workloads annotated on their metadata that started"
            + " without migrate-wait (fail-open or unlabeled namespaces) and reports them as a"
            + " Warning Event on the workload; 0s turns the audit off.");

    public final String flag;
    public final String env;

    /** null: required or computed (see the description). */
    public final String defaultValue;

    public final String description;

    Option(String flag, String env, String defaultValue, String description) {
      this.flag = flag;
      this.env = env;
      this.defaultValue = defaultValue;
      this.description = description;
    }

    static Option byFlag(String flag) {
      for (Option option : values()) {
        if (option.flag.equals(flag)) {
          return option;
        }
      }
      return null;
    }
  }

  public static String usage() {
    StringBuilder text =
        new StringBuilder(
            "Usage: java -jar migrate-gate-webhook.jar --tls-cert-file PEM --tls-key-file PEM"
                + " --waiter-image IMAGE [options]\n\n"
                + "The migrate-gate admission webhook: injects the migrate-wait init container into"
                + " pods\nannotated with migrate.io/job. Each flag can also be set by its environment"
                + " variable;\nthe flag wins.\n\nOptions:\n");
    for (Option option : Option.values()) {
      text.append(String.format(Locale.ROOT, "  %-32s %s%n", option.flag + " VALUE", option.env));
      text.append("      ").append(option.description);
      if (option.defaultValue != null) {
        text.append(" Default: ")
            .append(option.defaultValue.isEmpty() ? "none" : option.defaultValue)
            .append('.');
      }
      text.append('\n');
    }
    text.append("  --help                           Print this text.\n");
    text.append(
        "\nExit codes: 0 stopped after SIGTERM/SIGINT, 1 could not start, 64 bad flag or"
            + " variable.\n");
    return text.toString();
  }

  /** Reads flags ({@code --flag value} or {@code --flag=value}), then env, then defaults. */
  public static GateConfig parse(List<String> args, Map<String, String> env) throws UsageException {
    Map<Option, String> fromFlags = new EnumMap<>(Option.class);
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      String name = arg;
      String value = null;
      int equals = arg.indexOf('=');
      if (arg.startsWith("--") && equals > 0) {
        name = arg.substring(0, equals);
        value = arg.substring(equals + 1);
      }
      Option option = Option.byFlag(name);
      if (option == null) {
        throw new UsageException(
            "unknown argument '" + arg + "': run with --help for the list of flags");
      }
      if (value == null) {
        if (i + 1 >= args.size()) {
          throw new UsageException(
              option.flag
                  + " needs a value: "
                  + option.flag
                  + " VALUE ("
                  + option.description
                  + ")");
        }
        value = args.get(++i);
      }
      fromFlags.put(option, value);
    }
    Settings settings = new Settings(fromFlags, env);
    int port = settings.port(Option.PORT);
    int probePort = settings.port(Option.PROBE_PORT);
    int waitPort = settings.port(Option.WAIT_PORT);
    if (waitPort != 0 && (waitPort == port || waitPort == probePort)) {
      throw new UsageException(
          settings.source(Option.WAIT_PORT)
              + " is "
              + waitPort
              + ", the same as "
              + (waitPort == port ? Option.PORT.flag : Option.PROBE_PORT.flag)
              + ": the wait API has a port of its own (admission and the wait API are never served"
              + " on one port)");
    }
    TlsMode tlsMode = settings.tlsMode();
    return new GateConfig(
        port,
        probePort,
        tlsMode,
        tlsMode == TlsMode.FILES ? settings.readableFile(Option.TLS_CERT_FILE) : null,
        tlsMode == TlsMode.FILES ? settings.readableFile(Option.TLS_KEY_FILE) : null,
        tlsMode == TlsMode.SELF_MANAGED ? settings.selfManagedTls() : null,
        settings.required(Option.WAITER_IMAGE),
        settings.optionalReadableFile(Option.KUBECONFIG),
        settings.namespace(),
        settings.failurePolicy(),
        settings.duration(Option.OWNER_LOOKUP_TIMEOUT),
        settings.list(Option.EXCLUDED_NAMESPACES),
        settings.waiterResources(),
        settings.duration(Option.DRAIN_DELAY),
        settings.duration(Option.SHUTDOWN_TIMEOUT),
        settings.logFormat(),
        settings.waitUrl(),
        settings.waitCaFile(tlsMode),
        settings.ledgerPolicy(),
        settings.duration(Option.AUDIT_INTERVAL),
        waitPort,
        settings.clientCa(),
        settings.fastPath(),
        settings.limits(),
        settings.ledgerKeySecret());
  }

  /** Resolves one option's raw text and turns it into a typed value or a usage error. */
  private static final class Settings {

    private final Map<Option, String> flags;
    private final Map<String, String> env;

    Settings(Map<Option, String> flags, Map<String, String> env) {
      this.flags = flags;
      this.env = env;
    }

    /** The flag's value, else the env var's (ignored when blank), else null. */
    private String raw(Option option) {
      String value = flags.get(option);
      if (value == null) {
        value = env.get(option.env);
        if (value != null && value.isBlank()) {
          value = null;
        }
      }
      return value == null ? option.defaultValue : value.trim();
    }

    /** How to name where a bad value came from, so the message says what to fix. */
    private String source(Option option) {
      return flags.containsKey(option) ? option.flag : option.flag + " (env " + option.env + ")";
    }

    String required(Option option) throws UsageException {
      String value = raw(option);
      if (value == null || value.isEmpty()) {
        throw new UsageException(
            option.flag
                + " is required: set "
                + option.flag
                + " VALUE or the environment variable "
                + option.env
                + " ("
                + option.description
                + ")");
      }
      return value;
    }

    int port(Option option) throws UsageException {
      String value = raw(option);
      try {
        int port = Integer.parseInt(value);
        if (port >= 0 && port <= 65535) {
          return port;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new UsageException(
          source(option) + " is '" + value + "': give a port number between 1 and 65535");
    }

    Path readableFile(Option option) throws UsageException {
      Path path = Path.of(required(option));
      if (!Files.isReadable(path) || Files.isDirectory(path)) {
        throw new UsageException(
            source(option)
                + " is '"
                + path
                + "': no readable file there; point it at a PEM file (e.g. a mounted Secret's"
                + " tls.crt / tls.key)");
      }
      return path;
    }

    Path optionalReadableFile(Option option) throws UsageException {
      String value = raw(option);
      if (value == null || value.isEmpty()) {
        return null;
      }
      Path path = Path.of(value);
      if (!Files.isReadable(path) || Files.isDirectory(path)) {
        throw new UsageException(
            source(option)
                + " is '"
                + path
                + "': no readable file there; give a kubeconfig file or leave it unset to use"
                + " KUBECONFIG or the in-cluster service account");
      }
      return path;
    }

    String namespace() throws UsageException {
      String value = raw(Option.NAMESPACE);
      if (value == null) {
        try {
          value =
              Files.isReadable(SERVICE_ACCOUNT_NAMESPACE)
                  ? Files.readString(SERVICE_ACCOUNT_NAMESPACE).trim()
                  : "migrate-gate";
        } catch (IOException e) {
          value = "migrate-gate";
        }
      }
      if (!Names.isDnsLabel(value)) {
        throw new UsageException(
            source(Option.NAMESPACE)
                + " is '"
                + value
                + "': give a Kubernetes namespace name (lowercase letters, digits and '-')");
      }
      return value;
    }

    TlsMode tlsMode() throws UsageException {
      String value = raw(Option.TLS_MODE);
      if (value.equals("files")) {
        return TlsMode.FILES;
      }
      if (value.equals("self-managed")) {
        return TlsMode.SELF_MANAGED;
      }
      throw new UsageException(
          source(Option.TLS_MODE) + " is '" + value + "': give files or self-managed");
    }

    SelfManagedTlsSettings selfManagedTls() throws UsageException {
      List<String> ips = new ArrayList<>();
      String value = raw(Option.TLS_IP_SANS);
      for (String ip : value == null ? new String[0] : value.split(",")) {
        String trimmed = ip.trim();
        if (trimmed.isEmpty()) {
          continue;
        }
        if (!trimmed.matches("[0-9.]+|[0-9a-fA-F:]+")) {
          throw new UsageException(
              source(Option.TLS_IP_SANS)
                  + " contains '"
                  + trimmed
                  + "': give comma-separated IP addresses, e.g. 127.0.0.1");
        }
        ips.add(trimmed);
      }
      return new SelfManagedTlsSettings(
          dnsLabel(Option.TLS_CA_SECRET),
          dnsLabel(Option.WEBHOOK_CONFIGURATION),
          dnsLabel(Option.TLS_SERVICE),
          ips);
    }

    String ledgerKeySecret() throws UsageException {
      return dnsLabel(Option.LEDGER_KEY_SECRET);
    }

    private String dnsLabel(Option option) throws UsageException {
      String value = required(option);
      if (!Names.isDnsLabel(value)) {
        throw new UsageException(
            source(option) + " is '" + value + "': give a Kubernetes object name (DNS label)");
      }
      return value;
    }

    List<String> list(Option option) throws UsageException {
      List<String> names = new ArrayList<>();
      String value = raw(option);
      for (String name : Arrays.asList(value == null ? new String[0] : value.split(","))) {
        String trimmed = name.trim();
        if (trimmed.isEmpty()) {
          continue;
        }
        if (!Names.isDnsLabel(trimmed)) {
          throw new UsageException(
              source(option)
                  + " contains '"
                  + trimmed
                  + "': give comma-separated Kubernetes namespace names");
        }
        names.add(trimmed);
      }
      return names;
    }

    FailurePolicy failurePolicy() throws UsageException {
      String value = raw(Option.OWNER_LOOKUP_FAILURE_POLICY);
      try {
        return FailurePolicy.parse(value);
      } catch (IllegalArgumentException e) {
        throw new UsageException(
            source(Option.OWNER_LOOKUP_FAILURE_POLICY)
                + " is '"
                + value
                + "': give fail-closed or fail-open");
      }
    }

    LogFormat logFormat() throws UsageException {
      String value = raw(Option.LOG_FORMAT);
      return switch (value) {
        case "text" -> LogFormat.TEXT;
        case "json" -> LogFormat.JSON;
        default ->
            throw new UsageException(
                source(Option.LOG_FORMAT) + " is '" + value + "': give text or json");
      };
    }

    Duration duration(Option option) throws UsageException {
      String value = raw(option);
      try {
        return Durations.parse(value);
      } catch (IllegalArgumentException e) {
        throw new UsageException(
            source(option) + " is '" + value + "': give a duration like 500ms, 5s, 2m or 1h");
      }
    }

    String waitUrl() throws UsageException {
      String value = raw(Option.WAIT_URL);
      if (value == null || value.isEmpty()) {
        if (raw(Option.WAIT_CA_FILE) != null) {
          throw new UsageException(
              source(Option.WAIT_CA_FILE)
                  + " is set without --wait-url: give both to inject waiters in gate mode, or"
                  + " neither");
        }
        return null;
      }
      try {
        URI uri = new URI(value);
        if ("https".equals(uri.getScheme()) && uri.getHost() != null && uri.getQuery() == null) {
          return value.endsWith("/") ? value.substring(0, value.length() - 1) : value;
        }
      } catch (URISyntaxException e) {
        // reported below
      }
      throw new UsageException(
          source(Option.WAIT_URL)
              + " is '"
              + value
              + "': give the https URL pods reach the gate's wait port at, e.g."
              + " https://migrate-gate.migrate-gate.svc:8444");
    }

    Path waitCaFile(TlsMode tlsMode) throws UsageException {
      if (raw(Option.WAIT_URL) == null) {
        return null;
      }
      if (raw(Option.WAIT_CA_FILE) == null && tlsMode == TlsMode.SELF_MANAGED) {
        return null; // the gate hands waiters the CAs of its own CA Secret
      }
      if (raw(Option.WAIT_CA_FILE) == null) {
        throw new UsageException(
            "--wait-url needs --wait-ca-file (or "
                + Option.WAIT_CA_FILE.env
                + "): the PEM CA that injected waiters trust for the gate");
      }
      Path path = readableFile(Option.WAIT_CA_FILE);
      try {
        if (!Files.readString(path).contains("-----BEGIN CERTIFICATE-----")) {
          throw new UsageException(
              source(Option.WAIT_CA_FILE) + " is '" + path + "': no PEM certificate in it");
        }
      } catch (IOException e) {
        throw new UsageException(source(Option.WAIT_CA_FILE) + " cannot be read: " + e);
      }
      return path;
    }

    Path clientCa() throws UsageException {
      if (raw(Option.ADMISSION_CLIENT_CA) == null) {
        return null;
      }
      Path path = readableFile(Option.ADMISSION_CLIENT_CA);
      try {
        if (!Files.readString(path).contains("-----BEGIN CERTIFICATE-----")) {
          throw new UsageException(
              source(Option.ADMISSION_CLIENT_CA)
                  + " is '"
                  + path
                  + "': no PEM certificate in it; give the CA that signed the API server's client"
                  + " certificate");
        }
      } catch (IOException e) {
        throw new UsageException(source(Option.ADMISSION_CLIENT_CA) + " cannot be read: " + e);
      }
      return path;
    }

    FastPath fastPath() throws UsageException {
      String value = raw(Option.ADMISSION_FAST_PATH);
      return switch (value) {
        case "auto" -> FastPath.AUTO;
        case "on" -> FastPath.ON;
        case "off" -> FastPath.OFF;
        default ->
            throw new UsageException(
                source(Option.ADMISSION_FAST_PATH) + " is '" + value + "': give auto, on or off");
      };
    }

    Limits limits() throws UsageException {
      Duration reauth = duration(Option.WAIT_REAUTH_INTERVAL);
      if (reauth.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new UsageException(
            source(Option.WAIT_REAUTH_INTERVAL)
                + " is '"
                + raw(Option.WAIT_REAUTH_INTERVAL)
                + "': give at least 1s");
      }
      return new Limits(
          positive(Option.MAX_CONNECTIONS, 1_000_000),
          positive(Option.MAX_CONNECTIONS_PER_CLIENT, 1_000_000),
          positive(Option.MAX_TOKEN_REVIEWS, 1024),
          positive(Option.TOKEN_CACHE_SIZE, 10_000_000),
          positive(Option.MAX_STREAMS_PER_SERVICE_ACCOUNT, 1_000_000),
          reauth);
    }

    private int positive(Option option, int max) throws UsageException {
      String value = raw(option);
      try {
        int number = Integer.parseInt(value);
        if (number >= 1 && number <= max) {
          return number;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new UsageException(
          source(option) + " is '" + value + "': give a whole number from 1 to " + max);
    }

    LedgerPolicy ledgerPolicy() throws UsageException {
      Duration retention = duration(Option.LEDGER_RETENTION);
      String max = raw(Option.LEDGER_MAX_ENTRIES);
      try {
        return new LedgerPolicy(retention, Integer.parseInt(max));
      } catch (NumberFormatException e) {
        throw new UsageException(
            source(Option.LEDGER_MAX_ENTRIES) + " is '" + max + "': give a whole number");
      } catch (IllegalArgumentException e) {
        throw new UsageException(
            e.getMessage()
                + " (from "
                + source(Option.LEDGER_RETENTION)
                + ", "
                + source(Option.LEDGER_MAX_ENTRIES)
                + ")");
      }
    }

    /** The quantity rules live in {@link WaiterResources}; this only names the flag to fix. */
    WaiterResources waiterResources() throws UsageException {
      Option[] options = {
        Option.WAITER_CPU_REQUEST,
        Option.WAITER_MEMORY_REQUEST,
        Option.WAITER_CPU_LIMIT,
        Option.WAITER_MEMORY_LIMIT
      };
      String[] values = new String[options.length];
      for (int i = 0; i < options.length; i++) {
        values[i] = raw(options[i]);
      }
      try {
        return new WaiterResources(values[0], values[1], values[2], values[3]);
      } catch (IllegalArgumentException e) {
        StringBuilder named = new StringBuilder();
        for (int i = 0; i < options.length; i++) {
          named.append(i == 0 ? "" : ", ").append(source(options[i])).append('=').append(values[i]);
        }
        throw new UsageException(
            e.getMessage()
                + " (from "
                + named
                + "): give Kubernetes quantities such as 10m or 64Mi");
      }
    }
  }
}
