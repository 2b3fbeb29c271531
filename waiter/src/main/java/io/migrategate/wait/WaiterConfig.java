package io.migrategate.wait;

import io.migrategate.core.Durations;
import io.migrategate.core.Names;
import io.migrategate.core.UsageException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The waiter's settings, from flags and environment (a flag wins over its variable), so the webhook
 * can inject either. See {@link #USAGE} and docs/waiter.md.
 *
 * @param namespace namespace of the Jobs
 * @param jobs Job names, all of which must succeed
 * @param timeout give up (exit 3) after this long; empty waits without limit
 * @param revision the pod's {@code migrate.io/revision}; the Job must carry the same, or null
 * @param kubeconfig kubeconfig file; empty means {@code KUBECONFIG} or in-cluster configuration
 * @param terminationLog where the one-line reason of a non-zero exit goes
 * @param logFormat text (key=value) or JSON lines
 * @param gate where to ask the gate (gate mode), or empty to read Jobs from the API (direct mode)
 */
public record WaiterConfig(
    String namespace,
    List<String> jobs,
    Optional<Duration> timeout,
    String revision,
    Optional<Path> kubeconfig,
    Path terminationLog,
    LogFormat logFormat,
    Optional<GateEndpoint> gate) {

  public static final Path DEFAULT_TERMINATION_LOG = Path.of("/dev/termination-log");

  public static final String USAGE =
      String.join(
          "\n",
          "Usage: migrate-gate-waiter --namespace NS --job NAME[,NAME...] [options]",
          "Blocks until every named Kubernetes Job has succeeded; exits non-zero when one failed.",
          "",
          "  --namespace NS          namespace of the Jobs                 env MIGRATE_GATE_NAMESPACE",
          "  --job NAME[,NAME...]    Job name(s); all must succeed         env MIGRATE_GATE_JOBS",
          "  --timeout DURATION      give up after e.g. 90s, 10m, 1h       env MIGRATE_GATE_TIMEOUT",
          "                          (default: wait without limit)",
          "  --revision REV          the Job must carry annotation         env MIGRATE_GATE_REVISION",
          "                          migrate.io/revision=REV",
          "  --kubeconfig PATH       kubeconfig file                       env MIGRATE_GATE_KUBECONFIG",
          "                          (default: KUBECONFIG, else the in-cluster ServiceAccount)",
          "  --termination-log PATH  one-line reason of a failure          env MIGRATE_GATE_TERMINATION_LOG",
          "                          (default /dev/termination-log)",
          "  --log-format text|json  log format (default text)             env MIGRATE_GATE_LOG_FORMAT",
          "",
          "Gate mode (ask the migrate-gate service instead of the API server; no RBAC needed):",
          "  --gate-url URL          https URL of the gate                 env MIGRATE_GATE_URL",
          "  --gate-ca-file PATH     PEM CA to trust for the gate          env MIGRATE_GATE_CA_FILE",
          "                          (or the PEM itself in MIGRATE_GATE_CA; default: system CAs)",
          "  --token-file PATH       ServiceAccount token, audience        env MIGRATE_GATE_TOKEN_FILE",
          "                          migrate-gate (default "
              + GateEndpoint.DEFAULT_TOKEN_FILE
              + ")",
          "  --help                  print this help",
          "",
          "A flag wins over its environment variable.",
          "Exit codes: 0 succeeded, 2 a Job failed, 3 timeout, 4 not permitted or unauthenticated,",
          "            64 usage error, 1 internal error.");

  /** Log line format. */
  public enum LogFormat {
    TEXT,
    JSON
  }

  /** Flags and the environment variable each falls back to. */
  private static final Map<String, String> FLAGS = new LinkedHashMap<>();

  static {
    FLAGS.put("--namespace", "MIGRATE_GATE_NAMESPACE");
    FLAGS.put("--job", "MIGRATE_GATE_JOBS");
    FLAGS.put("--timeout", "MIGRATE_GATE_TIMEOUT");
    FLAGS.put("--revision", "MIGRATE_GATE_REVISION");
    FLAGS.put("--kubeconfig", "MIGRATE_GATE_KUBECONFIG");
    FLAGS.put("--termination-log", "MIGRATE_GATE_TERMINATION_LOG");
    FLAGS.put("--log-format", "MIGRATE_GATE_LOG_FORMAT");
    FLAGS.put("--gate-url", "MIGRATE_GATE_URL");
    FLAGS.put("--gate-ca-file", "MIGRATE_GATE_CA_FILE");
    FLAGS.put("--token-file", "MIGRATE_GATE_TOKEN_FILE");
  }

  /** The PEM of the gate's CA, for the webhook to inject without a volume. */
  static final String GATE_CA_PEM_ENV = "MIGRATE_GATE_CA";

  public WaiterConfig {
    Objects.requireNonNull(namespace, "namespace");
    jobs = List.copyOf(jobs);
    Objects.requireNonNull(timeout, "timeout");
    Objects.requireNonNull(kubeconfig, "kubeconfig");
    Objects.requireNonNull(terminationLog, "terminationLog");
    Objects.requireNonNull(logFormat, "logFormat");
    Objects.requireNonNull(gate, "gate");
  }

  /** Direct mode: the Jobs are read from the API server. */
  public WaiterConfig(
      String namespace,
      List<String> jobs,
      Optional<Duration> timeout,
      String revision,
      Optional<Path> kubeconfig,
      Path terminationLog,
      LogFormat logFormat) {
    this(
        namespace,
        jobs,
        timeout,
        revision,
        kubeconfig,
        terminationLog,
        logFormat,
        Optional.empty());
  }

  /** Whether the arguments ask for the usage text. */
  public static boolean wantsHelp(List<String> args) {
    return args.contains("--help") || args.contains("-h");
  }

  /**
   * Reads flags, then the environment for anything not given as a flag.
   *
   * @throws UsageException naming the flag (and its variable) and the fix
   */
  public static WaiterConfig parse(List<String> args, Map<String, String> env)
      throws UsageException {
    Map<String, String> flags = readFlags(args);
    String namespace = value("--namespace", flags, env);
    if (namespace == null) {
      throw new UsageException(
          "missing --namespace (or MIGRATE_GATE_NAMESPACE): the namespace of the Job(s) to wait for");
    }
    if (!Names.isDnsLabel(namespace)) {
      throw new UsageException(
          "invalid --namespace \"" + namespace + "\": a namespace is " + Names.DNS_LABEL_RULE);
    }

    String jobList = value("--job", flags, env);
    if (jobList == null) {
      throw new UsageException(
          "missing --job (or MIGRATE_GATE_JOBS): the Job name(s) to wait for, e.g. --job db-migrate");
    }
    LinkedHashSet<String> jobs = new LinkedHashSet<>();
    for (String name : jobList.split(",", -1)) {
      String job = name.trim();
      if (job.isEmpty()) {
        throw new UsageException(
            "invalid --job \"" + jobList + "\": empty name in the list; use NAME[,NAME...]");
      }
      if (!Names.isJobName(job)) {
        throw new UsageException(
            "invalid --job name \"" + job + "\": a Job name is " + Names.JOB_NAME_RULE);
      }
      jobs.add(job);
    }

    Optional<Duration> timeout = Optional.empty();
    String timeoutText = value("--timeout", flags, env);
    if (timeoutText != null) {
      try {
        timeout = Optional.of(Durations.parsePositive(timeoutText.trim().toLowerCase(Locale.ROOT)));
      } catch (IllegalArgumentException e) {
        throw new UsageException(
            "invalid --timeout \""
                + timeoutText
                + "\" (or MIGRATE_GATE_TIMEOUT): use a positive duration like 90s, 10m, 1h or 1h30m");
      }
    }

    Optional<Path> kubeconfig =
        Optional.ofNullable(value("--kubeconfig", flags, env)).map(Path::of);
    if (kubeconfig.isPresent() && !Files.isReadable(kubeconfig.get())) {
      throw new UsageException(
          "--kubeconfig "
              + kubeconfig.get()
              + " (or MIGRATE_GATE_KUBECONFIG): no readable file there; give the path of a kubeconfig file,"
              + " or leave it out to use the in-cluster ServiceAccount");
    }

    Path terminationLog =
        Optional.ofNullable(value("--termination-log", flags, env))
            .map(Path::of)
            .orElse(DEFAULT_TERMINATION_LOG);

    LogFormat format = LogFormat.TEXT;
    String formatText = value("--log-format", flags, env);
    if (formatText != null) {
      try {
        format = LogFormat.valueOf(formatText.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new UsageException(
            "invalid --log-format \""
                + formatText
                + "\" (or MIGRATE_GATE_LOG_FORMAT): use text or json");
      }
    }

    Optional<GateEndpoint> gate = gateEndpoint(flags, env, kubeconfig.isPresent());

    return new WaiterConfig(
        namespace,
        new ArrayList<>(jobs),
        timeout,
        value("--revision", flags, env),
        kubeconfig,
        terminationLog,
        format,
        gate);
  }

  /** Gate mode when {@code --gate-url} is set; its companion flags only make sense with it. */
  private static Optional<GateEndpoint> gateEndpoint(
      Map<String, String> flags, Map<String, String> env, boolean kubeconfigGiven)
      throws UsageException {
    String url = value("--gate-url", flags, env);
    String caFile = value("--gate-ca-file", flags, env);
    String caPem = env.get(GATE_CA_PEM_ENV);
    String tokenFile = value("--token-file", flags, env);
    if (url == null) {
      if (caFile != null || tokenFile != null) {
        throw new UsageException(
            (caFile != null ? "--gate-ca-file" : "--token-file")
                + " is only used in gate mode: also give --gate-url (or MIGRATE_GATE_URL),"
                + " or leave it out to read the Jobs from the API server");
      }
      return Optional.empty();
    }
    if (kubeconfigGiven) {
      throw new UsageException(
          "--kubeconfig and --gate-url both given: the waiter asks either the API server"
              + " (--kubeconfig) or the gate (--gate-url); give one");
    }
    try {
      return Optional.of(
          GateEndpoint.of(
              url,
              Optional.ofNullable(caFile).map(Path::of),
              Optional.ofNullable(caPem).filter(pem -> !pem.isBlank()),
              Optional.ofNullable(tokenFile)
                  .map(Path::of)
                  .orElse(GateEndpoint.DEFAULT_TOKEN_FILE)));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  private static Map<String, String> readFlags(List<String> args) throws UsageException {
    Map<String, String> flags = new LinkedHashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      String flag = arg;
      String value = null;
      int equals = arg.indexOf('=');
      if (arg.startsWith("--") && equals > 0) {
        flag = arg.substring(0, equals);
        value = arg.substring(equals + 1);
      }
      if (!FLAGS.containsKey(flag)) {
        throw new UsageException("unknown argument \"" + arg + "\"; run with --help for the flags");
      }
      if (value == null) {
        if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
          throw new UsageException(flag + " needs a value, e.g. " + example(flag));
        }
        value = args.get(++i);
      }
      if (flags.put(flag, value) != null) {
        throw new UsageException(flag + " given twice; give it once (a list of Jobs is NAME,NAME)");
      }
    }
    return flags;
  }

  private static String example(String flag) {
    return switch (flag) {
      case "--namespace" -> "--namespace shop";
      case "--job" -> "--job db-migrate";
      case "--timeout" -> "--timeout 10m";
      case "--revision" -> "--revision 42";
      case "--kubeconfig" -> "--kubeconfig /path/to/kubeconfig";
      case "--termination-log" -> "--termination-log /dev/termination-log";
      case "--gate-url" -> "--gate-url https://migrate-gate.migrate-gate.svc";
      case "--gate-ca-file" -> "--gate-ca-file /etc/migrate-gate/ca.crt";
      case "--token-file" -> "--token-file " + GateEndpoint.DEFAULT_TOKEN_FILE;
      default -> "--log-format json";
    };
  }

  /** The flag's value, else its environment variable's; blank counts as unset. */
  private static String value(String flag, Map<String, String> flags, Map<String, String> env) {
    String fromFlag = flags.get(flag);
    if (fromFlag != null && !fromFlag.isBlank()) {
      return fromFlag.trim();
    }
    String fromEnv = env.get(FLAGS.get(flag));
    return fromEnv == null || fromEnv.isBlank() ? null : fromEnv.trim();
  }

  /** {@code ns/name} of one Job, as logs and messages name it. */
  public String qualified(String job) {
    return namespace + "/" + job;
  }
}
