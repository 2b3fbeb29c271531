package io.migrategate.gate;

import io.migrategate.core.Durations;
import io.migrategate.core.Names;
import io.migrategate.core.UsageException;
import io.migrategate.gate.GateConfig.FastPath;
import io.migrategate.gate.GateConfig.Limits;
import io.migrategate.gate.GateConfig.LogFormat;
import io.migrategate.gate.GateConfig.SelfManagedTlsSettings;
import io.migrategate.gate.GateConfig.TlsMode;
import io.migrategate.gate.admission.FailurePolicy;
import io.migrategate.gate.admission.InjectionConfig;
import io.migrategate.gate.admission.KubernetesOwnerLookup;
import io.migrategate.gate.admission.WaiterResources;
import io.migrategate.gate.ledger.LedgerPolicy;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.TypeConversionException;

/**
 * The gate's flags, declared once: picocli reads {@code --flag value} and {@code --flag=value},
 * falls back to each flag's environment variable (its {@code descriptionKey}) and then to its
 * default, and renders the usage. Values are typed by the converters below; what needs more than
 * one flag is checked in {@link #config}. Every error names the flag (and the variable, when the
 * value came from there) and the fix. docs/configuration.md describes the same table.
 */
@Command(name = "migrate-gate")
public final class GateCommandLine {

  /** A setting as users see it: its flag and the environment variable behind it. */
  public record Setting(String flag, String env, String description, String defaultValue) {}

  // --- ports and bounds ------------------------------------------------------------------------

  @Option(
      names = "--port",
      descriptionKey = "MIGRATE_GATE_PORT",
      defaultValue = "8443",
      converter = PortConverter.class,
      description = "HTTPS port serving POST /mutate (0 picks a free port).")
  int port;

  @Option(
      names = "--probe-port",
      descriptionKey = "MIGRATE_GATE_PROBE_PORT",
      defaultValue = "8080",
      converter = PortConverter.class,
      description = "Plain-HTTP port serving /livez, /readyz and /metrics (0 picks a free port).")
  int probePort;

  @Option(
      names = "--wait-port",
      descriptionKey = "MIGRATE_GATE_WAIT_PORT",
      defaultValue = "8444",
      converter = PortConverter.class,
      description =
          "HTTPS port serving the wait API (GET /wait/v1/...) to injected waiters, with the same"
              + " certificate as --port (0 picks a free port). --wait-url must reach this port.")
  int waitPort;

  @Option(
      names = "--admission-client-ca",
      descriptionKey = "MIGRATE_GATE_ADMISSION_CLIENT_CA",
      description =
          "PEM CA certificate(s). Set: the admission port (--port) requires a client certificate"
              + " signed by one of them (give the API server one with an AdmissionConfiguration)."
              + " Read at start.")
  Path admissionClientCa;

  @Option(
      names = "--admission-fast-path",
      descriptionKey = "MIGRATE_GATE_ADMISSION_FAST_PATH",
      defaultValue = "auto",
      converter = FastPathConverter.class,
      description =
          "auto, on or off: whether a pod whose Jobs all succeeded is admitted without"
              + " migrate-wait (skipped: job-succeeded). The answer reveals another namespace's Job"
              + " state to whoever can call the admission port, so auto means on only with"
              + " --admission-client-ca.")
  FastPath admissionFastPath;

  @Option(
      names = "--max-connections",
      descriptionKey = "MIGRATE_GATE_MAX_CONNECTIONS",
      defaultValue = "1024",
      converter = NumberConverter.class,
      description =
          "Most open connections per HTTPS port (admission and wait, each). At the bound the"
              + " connection idle longest is closed to make room; when every one has a request in"
              + " progress, the new one is closed.")
  int maxConnections;

  @Option(
      names = "--max-connections-per-client",
      descriptionKey = "MIGRATE_GATE_MAX_CONNECTIONS_PER_CLIENT",
      defaultValue = "256",
      converter = NumberConverter.class,
      description =
          "Most open connections per HTTPS port from one client address; keeps one pod from"
              + " taking every connection of --max-connections.")
  int maxConnectionsPerClient;

  @Option(
      names = "--max-token-reviews",
      descriptionKey = "MIGRATE_GATE_MAX_TOKEN_REVIEWS",
      defaultValue = "8",
      converter = NumberConverter.class,
      description =
          "Most TokenReviews in flight at once, a quarter of them (at least 1) for one client"
              + " address; a wait request that needs one more is answered 503 at once.")
  int maxTokenReviews;

  @Option(
      names = "--token-cache-size",
      descriptionKey = "MIGRATE_GATE_TOKEN_CACHE_SIZE",
      defaultValue = "10000",
      converter = NumberConverter.class,
      description =
          "Token reviews remembered (by SHA-256), valid and rejected tokens each; the least"
              + " recently used go first.")
  int tokenCacheSize;

  @Option(
      names = "--max-streams-per-service-account",
      descriptionKey = "MIGRATE_GATE_MAX_STREAMS_PER_SERVICE_ACCOUNT",
      defaultValue = "64",
      converter = NumberConverter.class,
      description =
          "Most open wait streams of one ServiceAccount; one more is answered 429 (the waiter"
              + " retries).")
  int maxStreamsPerServiceAccount;

  @Option(
      names = "--wait-reauth-interval",
      descriptionKey = "MIGRATE_GATE_WAIT_REAUTH_INTERVAL",
      defaultValue = "5m",
      converter = DurationConverter.class,
      description =
          "How often the token of an open wait stream is reviewed again; a stream also ends, with"
              + " a reauthenticate notice, a minute before its token expires (the waiter reconnects"
              + " with its refreshed token).")
  Duration waitReauthInterval;

  // --- TLS -------------------------------------------------------------------------------------

  @Option(
      names = "--tls-mode",
      descriptionKey = "MIGRATE_GATE_TLS_MODE",
      defaultValue = "files",
      converter = TlsModeConverter.class,
      description =
          "files: serve --tls-cert-file/--tls-key-file. self-managed: keep a CA in the Secret"
              + " --tls-ca-secret, mint serving certificates in memory and keep the caBundle of"
              + " --webhook-configuration in sync (the manifests' default).")
  TlsMode tlsMode;

  @Option(
      names = "--tls-cert-file",
      descriptionKey = "MIGRATE_GATE_TLS_CERT_FILE",
      description =
          "PEM serving certificate (chain). Required with --tls-mode=files. Watched: a new"
              + " certificate is served without restart.")
  Path tlsCertFile;

  @Option(
      names = "--tls-key-file",
      descriptionKey = "MIGRATE_GATE_TLS_KEY_FILE",
      description =
          "PEM private key of the serving certificate. Required with --tls-mode=files. Watched"
              + " like the certificate.")
  Path tlsKeyFile;

  @Option(
      names = "--ledger-key-secret",
      descriptionKey = "MIGRATE_GATE_LEDGER_KEY_SECRET",
      defaultValue = "migrate-gate-ledger-key",
      description =
          "The Secret in the gate's namespace holding the success ledger's sealing key (the"
              + " manifests create it empty; the gate fills it). Whoever can read it can forge"
              + " ledger entries: keep it readable by the gate only.")
  String ledgerKeySecret;

  @Option(
      names = "--tls-ca-secret",
      descriptionKey = "MIGRATE_GATE_TLS_CA_SECRET",
      defaultValue = "migrate-gate-ca",
      description =
          "Self-managed mode: the Secret in the gate's namespace holding the CA (the manifests"
              + " create it empty; the gate fills it).")
  String tlsCaSecret;

  @Option(
      names = "--webhook-configuration",
      descriptionKey = "MIGRATE_GATE_WEBHOOK_CONFIGURATION",
      defaultValue = "migrate-gate",
      description =
          "Self-managed mode: the MutatingWebhookConfiguration whose caBundle the gate keeps in"
              + " sync.")
  String webhookConfiguration;

  @Option(
      names = "--tls-service",
      descriptionKey = "MIGRATE_GATE_TLS_SERVICE",
      defaultValue = "migrate-gate",
      description =
          "Self-managed mode: the Service the serving certificate names (svc, svc.ns, svc.ns.svc,"
              + " svc.ns.svc.cluster.local).")
  String tlsService;

  @Option(
      names = "--tls-ip-sans",
      descriptionKey = "MIGRATE_GATE_TLS_IP_SANS",
      description =
          "Self-managed mode: comma-separated IP addresses the certificate also names (e.g."
              + " 127.0.0.1 for a gate run on a host).")
  String tlsIpSans;

  // --- injection -------------------------------------------------------------------------------

  @Option(
      names = "--waiter-image",
      descriptionKey = "MIGRATE_GATE_WAITER_IMAGE",
      description = "Image of the injected migrate-wait init container. Required.")
  String waiterImage;

  @Option(
      names = "--kubeconfig",
      descriptionKey = "MIGRATE_GATE_KUBECONFIG",
      description =
          "Kubeconfig file for the Kubernetes API. Default: KUBECONFIG, ~/.kube/config, else the"
              + " in-cluster service account.")
  Path kubeconfig;

  @Option(
      names = "--namespace",
      descriptionKey = "MIGRATE_GATE_NAMESPACE",
      description =
          "The gate's own namespace; its pods are never mutated. Default: the service account's"
              + " namespace, else migrate-gate.")
  String namespace;

  @Option(
      names = "--owner-lookup-failure-policy",
      descriptionKey = "MIGRATE_GATE_OWNER_LOOKUP_FAILURE_POLICY",
      defaultValue = "fail-closed",
      converter = FailurePolicyConverter.class,
      description =
          "fail-closed (deny the pod) or fail-open (admit it without a waiter) when a pod's owner"
              + " cannot be read.")
  FailurePolicy ownerLookupFailurePolicy;

  @Option(
      names = "--owner-lookup-timeout",
      descriptionKey = "MIGRATE_GATE_OWNER_LOOKUP_TIMEOUT",
      defaultValue = KubernetesOwnerLookup.DEFAULT_LOOKUP_TIMEOUT_TEXT,
      converter = DurationConverter.class,
      description =
          "Longest wait for one direct GET of a pod's owner (cache misses); a pod may need two"
              + " (ReplicaSet, Deployment), so keep twice this under the webhook's"
              + " timeoutSeconds.")
  Duration ownerLookupTimeout;

  @Option(
      names = "--excluded-namespaces",
      descriptionKey = "MIGRATE_GATE_EXCLUDED_NAMESPACES",
      defaultValue = "",
      description =
          "Comma-separated namespaces whose pods are never mutated, in addition to kube-system,"
              + " kube-public, kube-node-lease and the gate's own namespace (always excluded).")
  String excludedNamespaces;

  @Option(
      names = "--waiter-cpu-request",
      descriptionKey = "MIGRATE_GATE_WAITER_CPU_REQUEST",
      defaultValue = InjectionConfig.DEFAULT_CPU_REQUEST,
      description = "CPU request of migrate-wait.")
  String waiterCpuRequest;

  @Option(
      names = "--waiter-memory-request",
      descriptionKey = "MIGRATE_GATE_WAITER_MEMORY_REQUEST",
      defaultValue = InjectionConfig.DEFAULT_MEMORY_REQUEST,
      description = "Memory request of migrate-wait.")
  String waiterMemoryRequest;

  @Option(
      names = "--waiter-cpu-limit",
      descriptionKey = "MIGRATE_GATE_WAITER_CPU_LIMIT",
      defaultValue = InjectionConfig.DEFAULT_CPU_LIMIT,
      description = "CPU limit of migrate-wait.")
  String waiterCpuLimit;

  @Option(
      names = "--waiter-memory-limit",
      descriptionKey = "MIGRATE_GATE_WAITER_MEMORY_LIMIT",
      defaultValue = InjectionConfig.DEFAULT_MEMORY_LIMIT,
      description = "Memory limit of migrate-wait.")
  String waiterMemoryLimit;

  @Option(
      names = "--waiter-run-as-user",
      descriptionKey = "MIGRATE_GATE_WAITER_RUN_AS_USER",
      defaultValue = "" + InjectionConfig.DEFAULT_UID,
      converter = RunAsUserConverter.class,
      description =
          "UID (and GID) of migrate-wait unless the pod sets a non-root one, or 'platform': none,"
              + " the platform assigns it (OpenShift's restricted-v2 refuses a fixed UID outside"
              + " the namespace's range).")
  OptionalLong waiterRunAsUser;

  // --- lifecycle, logs, wait API, ledger, audit --------------------------------------------------

  @Option(
      names = "--drain-delay",
      descriptionKey = "MIGRATE_GATE_DRAIN_DELAY",
      defaultValue = "5s",
      converter = DurationConverter.class,
      description =
          "After SIGTERM: how long /readyz reports not ready while reviews are still served, so"
              + " endpoints stop routing to this pod.")
  Duration drainDelay;

  @Option(
      names = "--shutdown-timeout",
      descriptionKey = "MIGRATE_GATE_SHUTDOWN_TIMEOUT",
      defaultValue = "10s",
      converter = DurationConverter.class,
      description =
          "After the drain delay: the longest wait for in-flight reviews before the gate exits.")
  Duration shutdownTimeout;

  @Option(
      names = "--log-format",
      descriptionKey = "MIGRATE_GATE_LOG_FORMAT",
      defaultValue = "text",
      converter = LogFormatConverter.class,
      description = "text (key=value) or json.")
  LogFormat logFormat;

  @Option(
      names = "--wait-url",
      descriptionKey = "MIGRATE_GATE_WAIT_URL",
      description =
          "https URL of this gate's wait port as pods reach it (e.g."
              + " https://migrate-gate.migrate-gate.svc:8444, the Service's wait port). With it,"
              + " injected waiters ask the gate's wait API (gate mode: no RBAC for the pod) unless"
              + " the workload says migrate.io/source: api. Needs --wait-ca-file.")
  String waitUrl;

  @Option(
      names = "--wait-ca-file",
      descriptionKey = "MIGRATE_GATE_WAIT_CA_FILE",
      description =
          "PEM of the CA that signed the serving certificate, injected into waiters (env"
              + " MIGRATE_GATE_CA) so they verify the gate. Required with --wait-url.")
  Path waitCaFile;

  @Option(
      names = "--ledger-retention",
      descriptionKey = "MIGRATE_GATE_LEDGER_RETENTION",
      defaultValue = "720h",
      converter = DurationConverter.class,
      description =
          "How long the success ledger remembers a Job that succeeded and was deleted (pods"
              + " created later start without waiting).")
  Duration ledgerRetention;

  @Option(
      names = "--ledger-max-entries",
      descriptionKey = "MIGRATE_GATE_LEDGER_MAX_ENTRIES",
      defaultValue = "" + LedgerPolicy.DEFAULT_MAX_ENTRIES_PER_NAMESPACE,
      converter = NumberConverter.class,
      description =
          "Most Jobs the success ledger remembers per namespace (1-"
              + LedgerPolicy.MAX_ENTRIES_PER_NAMESPACE
              + "); the oldest go first.")
  int ledgerMaxEntries;

  @Option(
      names = "--audit-interval",
      descriptionKey = "MIGRATE_GATE_AUDIT_INTERVAL",
      defaultValue = "5m",
      converter = DurationConverter.class,
      description =
          "How often the gate looks for pods of workloads annotated on their metadata that started"
              + " without migrate-wait (fail-open or unlabeled namespaces) and reports them as a"
              + " Warning Event on the workload; 0s turns the audit off.")
  Duration auditInterval;

  @Option(
      names = {"--help", "-h"},
      usageHelp = true,
      description = "Print this text.")
  boolean help;

  /** Where the gate runs when nothing says otherwise: the pod's service account namespace file. */
  static final Path SERVICE_ACCOUNT_NAMESPACE =
      Path.of("/var/run/secrets/kubernetes.io/serviceaccount/namespace");

  /** The most each bounded number accepts (the least is 1). */
  private static final Map<String, Integer> MAX =
      Map.of(
          "--max-connections", 1_000_000,
          "--max-connections-per-client", 1_000_000,
          "--max-token-reviews", 1024,
          "--token-cache-size", 10_000_000,
          "--max-streams-per-service-account", 1_000_000);

  private List<String> args = List.of();

  /** This object's own command line: the option specs that messages quote. */
  private CommandLine cli;

  // --- parsing ---------------------------------------------------------------------------------

  /** Flags first, then the environment variable (ignored when blank), then the default. */
  static GateConfig parse(List<String> args, Map<String, String> env) throws UsageException {
    GateCommandLine options = new GateCommandLine();
    options.args = args;
    options.cli = commandLine(options, env);
    try {
      options.cli.parseArgs(args.toArray(String[]::new));
    } catch (ParameterException e) {
      throw new UsageException(options.message(e));
    }
    return options.config();
  }

  /** The usage text: every flag with its variable, its description and its default. */
  static String usage() {
    CommandLine cli = commandLine(new GateCommandLine(), Map.of());
    StringBuilder text =
        new StringBuilder(
            "Usage: java -jar migrate-gate-webhook.jar --tls-cert-file PEM --tls-key-file PEM"
                + " --waiter-image IMAGE [options]\n\n"
                + "The migrate-gate admission webhook: injects the migrate-wait init container into"
                + " pods\nannotated with migrate.io/job. Each flag can also be set by its environment"
                + " variable;\nthe flag wins.\n\nOptions:\n");
    for (Setting setting : settings(cli)) {
      text.append(
          String.format(
              Locale.ROOT,
              "  %-32s %s%n",
              setting.flag() + (setting.env() == null ? "" : " VALUE"),
              setting.env() == null ? "" : setting.env()));
      text.append("      ").append(setting.description());
      if (setting.defaultValue() != null) {
        text.append(" Default: ")
            .append(setting.defaultValue().isEmpty() ? "none" : setting.defaultValue())
            .append('.');
      }
      text.append('\n');
    }
    text.append(
        "\nExit codes: 0 stopped after SIGTERM/SIGINT, 1 could not start, 64 bad flag or"
            + " variable.\n");
    return text.toString();
  }

  /** Every setting the gate reads (for docs and manifests drift tests). */
  static List<Setting> settings() {
    return settings(commandLine(new GateCommandLine(), Map.of())).stream()
        .filter(s -> s.env() != null)
        .toList();
  }

  private static List<Setting> settings(CommandLine cli) {
    List<Setting> settings = new ArrayList<>();
    for (OptionSpec option : cli.getCommandSpec().options()) {
      settings.add(
          new Setting(
              option.longestName(),
              option.usageHelp() ? null : option.descriptionKey(),
              String.join(" ", option.description()),
              option.usageHelp() ? null : option.defaultValue()));
    }
    return settings;
  }

  private static CommandLine commandLine(GateCommandLine options, Map<String, String> env) {
    CommandLine cli = new CommandLine(options).registerConverter(Path.class, new PathConverter());
    // The last of a repeated flag wins, as with Go's flag package: extra arguments appended after
    // a chart's own (Helm extraArgs) override them.
    cli.setOverwrittenOptionsAllowed(true);
    cli.setDefaultValueProvider(
        arg -> {
          if (arg instanceof OptionSpec option && option.descriptionKey() != null) {
            String value = env.get(option.descriptionKey());
            if (value != null && !value.isBlank()) {
              return value.trim();
            }
          }
          return arg.defaultValue();
        });
    return cli;
  }

  /** picocli's errors, worded like the gate's own: the flag, where the value came from, the fix. */
  private String message(ParameterException e) {
    if (e instanceof CommandLine.UnmatchedArgumentException unmatched) {
      List<String> unknown = unmatched.getUnmatched();
      return "unknown argument '"
          + (unknown.isEmpty() ? "" : unknown.get(0))
          + "': run with --help for the list of flags";
    }
    if (e instanceof CommandLine.MissingParameterException missing
        && !missing.getMissing().isEmpty()
        && missing.getMissing().get(0) instanceof OptionSpec option) {
      return option.longestName()
          + " needs a value: "
          + option.longestName()
          + " VALUE ("
          + String.join(" ", option.description())
          + ")";
    }
    if (e.getArgSpec() instanceof OptionSpec option) {
      if (e.getCause() instanceof TypeConversionException fix) {
        Integer max = MAX.get(option.longestName());
        return source(option.longestName())
            + " is '"
            + (e.getValue() == null ? "" : e.getValue().trim())
            + "': "
            + fix.getMessage()
            + (max == null ? "" : " from 1 to " + max);
      }
    }
    return e.getMessage();
  }

  /** The text a value was given as: the last flag, else its variable, else the default. */
  private String raw(String flag) {
    String given = fromArgs(flag);
    if (given != null) {
      return given;
    }
    try {
      return cli.getDefaultValueProvider().defaultValue(option(flag));
    } catch (Exception e) {
      throw new IllegalStateException(e); // the provider only reads a map
    }
  }

  /** The value of the last {@code flag} on the command line, or null when it is not there. */
  private String fromArgs(String flag) {
    for (int i = args.size() - 1; i >= 0; i--) {
      String arg = args.get(i);
      if (arg.startsWith(flag + "=")) {
        return arg.substring(flag.length() + 1).trim();
      }
      if (arg.equals(flag) && i + 1 < args.size()) {
        return args.get(i + 1).trim();
      }
    }
    return null;
  }

  /** How to name where a value came from, so the message says what to fix. */
  private String source(String flag) {
    return fromArgs(flag) != null ? flag : flag + " (env " + env(flag) + ")";
  }

  private String env(String flag) {
    return option(flag).descriptionKey();
  }

  private OptionSpec option(String flag) {
    return cli.getCommandSpec().findOption(flag);
  }

  // --- converters: the shared rules, worded as a fix -------------------------------------------

  static final class PortConverter implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      try {
        int port = Integer.parseInt(value.trim());
        if (port >= 0 && port <= 65535) {
          return port;
        }
      } catch (NumberFormatException e) {
        // worded below
      }
      throw new TypeConversionException(
          "give a port number between 0 and 65535 (0 picks a free port)");
    }
  }

  /** A non-root UID, or {@code platform} (empty): the platform assigns one. */
  static final class RunAsUserConverter implements ITypeConverter<OptionalLong> {
    @Override
    public OptionalLong convert(String value) {
      String given = value.trim();
      if (given.equals("platform")) {
        return OptionalLong.empty();
      }
      try {
        long uid = Long.parseLong(given);
        if (uid >= 1 && uid <= Integer.MAX_VALUE) {
          return OptionalLong.of(uid);
        }
      } catch (NumberFormatException e) {
        // worded below
      }
      throw new TypeConversionException(
          "give a non-root UID from 1 to " + Integer.MAX_VALUE + ", or 'platform'");
    }
  }

  static final class NumberConverter implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      try {
        return Integer.parseInt(value.trim());
      } catch (NumberFormatException e) {
        throw new TypeConversionException("give a whole number");
      }
    }
  }

  /** Paths as given, without the spaces around them (as every other value). */
  static final class PathConverter implements ITypeConverter<Path> {
    @Override
    public Path convert(String value) {
      return Path.of(value.trim());
    }
  }

  /**
   * The shared grammar, at most 100 years: the gate adds some durations up (the stop deadline is
   * drain delay + shutdown timeout + a margin), and none needs more.
   */
  static final class DurationConverter implements ITypeConverter<Duration> {
    static final Duration MAX = Duration.ofDays(36_500);

    @Override
    public Duration convert(String value) {
      try {
        Duration duration = Durations.parse(value.trim());
        if (duration.compareTo(MAX) <= 0) {
          return duration;
        }
      } catch (IllegalArgumentException e) {
        // worded below
      }
      throw new TypeConversionException(
          "give a duration like 500ms, 5s, 2m or 1h (at most 36500d)");
    }
  }

  static final class FailurePolicyConverter implements ITypeConverter<FailurePolicy> {
    @Override
    public FailurePolicy convert(String value) {
      try {
        return FailurePolicy.parse(value.trim());
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException("give fail-closed or fail-open");
      }
    }
  }

  static final class LogFormatConverter implements ITypeConverter<LogFormat> {
    @Override
    public LogFormat convert(String value) {
      return switch (value.trim()) {
        case "text" -> LogFormat.TEXT;
        case "json" -> LogFormat.JSON;
        default -> throw new TypeConversionException("give text or json");
      };
    }
  }

  static final class FastPathConverter implements ITypeConverter<FastPath> {
    @Override
    public FastPath convert(String value) {
      return switch (value.trim()) {
        case "auto" -> FastPath.AUTO;
        case "on" -> FastPath.ON;
        case "off" -> FastPath.OFF;
        default -> throw new TypeConversionException("give auto, on or off");
      };
    }
  }

  static final class TlsModeConverter implements ITypeConverter<TlsMode> {
    @Override
    public TlsMode convert(String value) {
      return switch (value.trim()) {
        case "files" -> TlsMode.FILES;
        case "self-managed" -> TlsMode.SELF_MANAGED;
        default -> throw new TypeConversionException("give files or self-managed");
      };
    }
  }

  // --- what needs more than one flag, or the file system -----------------------------------------

  private GateConfig config() throws UsageException {
    if (waitPort != 0 && (waitPort == port || waitPort == probePort)) {
      throw new UsageException(
          source("--wait-port")
              + " is "
              + waitPort
              + ", the same as "
              + (waitPort == port ? "--port" : "--probe-port")
              + ": the wait API has a port of its own (admission and the wait API are never served"
              + " on one port)");
    }
    if (waitReauthInterval.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new UsageException(
          source("--wait-reauth-interval")
              + " is '"
              + raw("--wait-reauth-interval")
              + "': give at least 1s");
    }
    return new GateConfig(
        port,
        probePort,
        tlsMode,
        tlsMode == TlsMode.FILES ? readableFile("--tls-cert-file", tlsCertFile) : null,
        tlsMode == TlsMode.FILES ? readableFile("--tls-key-file", tlsKeyFile) : null,
        tlsMode == TlsMode.SELF_MANAGED
            ? new SelfManagedTlsSettings(
                dnsLabel("--tls-ca-secret", tlsCaSecret),
                dnsLabel("--webhook-configuration", webhookConfiguration),
                dnsLabel("--tls-service", tlsService),
                ipAddresses())
            : null,
        required("--waiter-image", waiterImage),
        kubeconfig(),
        namespace(),
        ownerLookupFailurePolicy,
        ownerLookupTimeout,
        namespaces("--excluded-namespaces", excludedNamespaces),
        waiterResources(),
        waiterRunAsUser,
        drainDelay,
        shutdownTimeout,
        logFormat,
        waitUrl(),
        waitCaFile(),
        ledgerPolicy(),
        auditInterval,
        waitPort,
        pemFile(
            "--admission-client-ca",
            admissionClientCa,
            "; give the CA that signed the API server's client certificate"),
        admissionFastPath,
        new Limits(
            bounded("--max-connections", maxConnections),
            bounded("--max-connections-per-client", maxConnectionsPerClient),
            bounded("--max-token-reviews", maxTokenReviews),
            bounded("--token-cache-size", tokenCacheSize),
            bounded("--max-streams-per-service-account", maxStreamsPerServiceAccount),
            waitReauthInterval),
        dnsLabel("--ledger-key-secret", ledgerKeySecret));
  }

  private String required(String flag, String value) throws UsageException {
    if (value == null || value.isBlank()) {
      throw new UsageException(
          flag
              + " is required: set "
              + flag
              + " VALUE or the environment variable "
              + env(flag)
              + " ("
              + option(flag).description()[0]
              + ")");
    }
    return value.trim();
  }

  private Path readableFile(String flag, Path path) throws UsageException {
    required(flag, path == null ? null : path.toString());
    if (!Files.isReadable(path) || Files.isDirectory(path)) {
      throw new UsageException(
          source(flag)
              + " is '"
              + path
              + "': no readable file there; point it at a PEM file (e.g. a mounted Secret's"
              + " tls.crt / tls.key)");
    }
    return path;
  }

  private Path pemFile(String flag, Path path, String hint) throws UsageException {
    if (path == null) {
      return null;
    }
    readableFile(flag, path);
    try {
      if (!Files.readString(path).contains("-----BEGIN CERTIFICATE-----")) {
        throw new UsageException(
            source(flag) + " is '" + path + "': no PEM certificate in it" + hint);
      }
    } catch (IOException e) {
      throw new UsageException(source(flag) + " cannot be read: " + e);
    }
    return path;
  }

  private Path kubeconfig() throws UsageException {
    if (kubeconfig == null) {
      return null;
    }
    if (!Files.isReadable(kubeconfig) || Files.isDirectory(kubeconfig)) {
      throw new UsageException(
          source("--kubeconfig")
              + " is '"
              + kubeconfig
              + "': no readable file there; give a kubeconfig file or leave it unset to use"
              + " KUBECONFIG or the in-cluster service account");
    }
    return kubeconfig;
  }

  private String namespace() throws UsageException {
    String value = namespace == null ? null : namespace.trim();
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
          source("--namespace")
              + " is '"
              + value
              + "': give a Kubernetes namespace name (lowercase letters, digits and '-')");
    }
    return value;
  }

  private String dnsLabel(String flag, String value) throws UsageException {
    String name = required(flag, value);
    if (!Names.isDnsLabel(name)) {
      throw new UsageException(
          source(flag) + " is '" + name + "': give a Kubernetes object name (DNS label)");
    }
    return name;
  }

  private List<String> ipAddresses() throws UsageException {
    List<String> ips = new ArrayList<>();
    for (String ip : tlsIpSans == null ? new String[0] : tlsIpSans.split(",")) {
      String trimmed = ip.trim();
      if (trimmed.isEmpty()) {
        continue;
      }
      if (!trimmed.matches("[0-9.]+|[0-9a-fA-F:]+")) {
        throw new UsageException(
            source("--tls-ip-sans")
                + " contains '"
                + trimmed
                + "': give comma-separated IP addresses, e.g. 127.0.0.1");
      }
      ips.add(trimmed);
    }
    return ips;
  }

  private List<String> namespaces(String flag, String value) throws UsageException {
    List<String> names = new ArrayList<>();
    for (String name : value == null ? new String[0] : value.split(",")) {
      String trimmed = name.trim();
      if (trimmed.isEmpty()) {
        continue;
      }
      if (!Names.isDnsLabel(trimmed)) {
        throw new UsageException(
            source(flag)
                + " contains '"
                + trimmed
                + "': give comma-separated Kubernetes namespace names");
      }
      names.add(trimmed);
    }
    return names;
  }

  private String waitUrl() throws UsageException {
    if (waitUrl == null || waitUrl.isBlank()) {
      if (waitCaFile != null) {
        throw new UsageException(
            source("--wait-ca-file")
                + " is set without --wait-url: give both to inject waiters in gate mode, or"
                + " neither");
      }
      return null;
    }
    String value = waitUrl.trim();
    try {
      URI uri = new URI(value);
      if ("https".equals(uri.getScheme()) && uri.getHost() != null && uri.getQuery() == null) {
        return value.endsWith("/") ? value.substring(0, value.length() - 1) : value;
      }
    } catch (URISyntaxException e) {
      // worded below
    }
    throw new UsageException(
        source("--wait-url")
            + " is '"
            + value
            + "': give the https URL pods reach the gate's wait port at, e.g."
            + " https://migrate-gate.migrate-gate.svc:8444");
  }

  private Path waitCaFile() throws UsageException {
    if (waitUrl == null || waitUrl.isBlank()) {
      return null;
    }
    if (waitCaFile == null && tlsMode == TlsMode.SELF_MANAGED) {
      return null; // the gate hands waiters the CAs of its own CA Secret
    }
    if (waitCaFile == null) {
      throw new UsageException(
          "--wait-url needs --wait-ca-file (or "
              + env("--wait-ca-file")
              + "): the PEM CA that injected waiters trust for the gate");
    }
    return pemFile("--wait-ca-file", waitCaFile, "");
  }

  private int bounded(String flag, int value) throws UsageException {
    int max = MAX.get(flag);
    if (value < 1 || value > max) {
      throw new UsageException(
          source(flag) + " is '" + value + "': give a whole number from 1 to " + max);
    }
    return value;
  }

  private LedgerPolicy ledgerPolicy() throws UsageException {
    try {
      return new LedgerPolicy(ledgerRetention, ledgerMaxEntries);
    } catch (IllegalArgumentException e) {
      throw new UsageException(
          e.getMessage()
              + " (from "
              + source("--ledger-retention")
              + ", "
              + source("--ledger-max-entries")
              + ")");
    }
  }

  /** The quantity rules live in {@link WaiterResources}; this only names the flag to fix. */
  private WaiterResources waiterResources() throws UsageException {
    try {
      return new WaiterResources(
          waiterCpuRequest.trim(),
          waiterMemoryRequest.trim(),
          waiterCpuLimit.trim(),
          waiterMemoryLimit.trim());
    } catch (IllegalArgumentException e) {
      throw new UsageException(
          e.getMessage()
              + " (from "
              + source("--waiter-cpu-request")
              + "="
              + waiterCpuRequest
              + ", "
              + source("--waiter-memory-request")
              + "="
              + waiterMemoryRequest
              + ", "
              + source("--waiter-cpu-limit")
              + "="
              + waiterCpuLimit
              + ", "
              + source("--waiter-memory-limit")
              + "="
              + waiterMemoryLimit
              + "): give Kubernetes quantities such as 10m or 64Mi");
    }
  }
}
