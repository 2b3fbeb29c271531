package io.migrategate.demo;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * How the demo was asked to run.
 *
 * @param keep leave the control plane and the gate running, print how to reach them
 * @param realCluster run against the cluster of {@code KUBECONFIG} with the gate installed there
 * @param color ANSI colours in the live view
 * @param namespace the demo's namespace ({@code shop}; tests use a unique one)
 * @param instance empty for the real demo; tests set an id that suffixes every cluster-wide name
 *     the demo installs and limits its webhook to the demo's namespace, so runs can share a control
 *     plane with other tests
 * @param gatePort the gate's HTTPS port on this host (local mode)
 * @param manifests the kustomize directory installed in {@code --cluster} mode
 * @param appImage the shop's container image (nothing runs it locally: no kubelet)
 * @param jobImage the migration Jobs' image (a shell: {@code sleep}, then exit 0 or 1)
 */
record DemoOptions(
    boolean help,
    boolean keep,
    boolean realCluster,
    boolean color,
    String namespace,
    String instance,
    int gatePort,
    Path manifests,
    String appImage,
    String jobImage) {

  static final int DEFAULT_GATE_PORT = 8443;
  static final String DEFAULT_APP_IMAGE = "registry.k8s.io/pause:3.10";
  static final String DEFAULT_JOB_IMAGE = "busybox:1.37";
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?");

  static String usage() {
    return String.join(
        "\n",
        "Usage: demo/run [--keep] [--no-color] [--cluster [--manifests DIR]] [--help]",
        "",
        "Shows migrate-gate gating a real rollout: builds what is missing, starts the local",
        "control plane (local-cluster/up), installs the gate from manifests/overlays/local, runs",
        "the gate on this host, then plays three releases of a 'shop' Deployment in namespace shop.",
        "",
        "  --keep             leave the control plane and the gate running; prints KUBECONFIG and",
        "                     the kubectl to use",
        "  --no-color         plain output (also when NO_COLOR is set, TERM=dumb or not a terminal)",
        "  --cluster          use the cluster of KUBECONFIG (current context) instead of the local",
        "                     control plane; installs --manifests there unless the gate is installed",
        "  --manifests DIR    kustomize directory for --cluster (default manifests/base; set your",
        "                     images in an overlay)",
        "  --app-image IMAGE  the shop's image (default " + DEFAULT_APP_IMAGE + ")",
        "  --job-image IMAGE  the migration Jobs' image, needs sh (default "
            + DEFAULT_JOB_IMAGE
            + ")",
        "  --namespace NS     the demo's namespace (default shop; with --cluster shop-<random>)",
        "  --gate-port PORT   the gate's HTTPS port on this host (default 8443)",
        "  --help             this text",
        "",
        "Exit codes: 0 every expected outcome was observed, 1 an expectation failed (the reason",
        "is printed), 2 the demo could not set up (control plane, build, gate), 64 bad arguments.",
        "Details: docs/demo.md");
  }

  static DemoOptions parse(List<String> args, Map<String, String> env, Path projectRoot)
      throws UsageException {
    boolean help = false;
    boolean keep = false;
    boolean realCluster = false;
    boolean noColor = false;
    String namespace = null;
    String instance = "";
    int gatePort = DEFAULT_GATE_PORT;
    Path manifests = projectRoot.resolve("manifests/base");
    String appImage = DEFAULT_APP_IMAGE;
    String jobImage = DEFAULT_JOB_IMAGE;
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      String name = arg;
      String value = null;
      int equals = arg.indexOf('=');
      if (arg.startsWith("--") && equals > 0) {
        name = arg.substring(0, equals);
        value = arg.substring(equals + 1);
      }
      switch (name) {
        case "--help", "-h" -> help = true;
        case "--keep" -> keep = true;
        case "--cluster" -> realCluster = true;
        case "--no-color" -> noColor = true;
        case "--namespace",
            "--instance",
            "--gate-port",
            "--manifests",
            "--app-image",
            "--job-image" -> {
          if (value == null) {
            if (i + 1 >= args.size()) {
              throw new UsageException(name + " needs a value");
            }
            value = args.get(++i);
          }
          switch (name) {
            case "--namespace" -> namespace = label(name, value);
            case "--instance" -> instance = label(name, value);
            case "--gate-port" -> gatePort = port(value);
            case "--manifests" -> manifests = Path.of(value).toAbsolutePath();
            case "--app-image" -> appImage = value;
            default -> jobImage = value;
          }
        }
        default ->
            throw new UsageException(
                "unknown argument '" + arg + "'; demo/run --help lists the options");
      }
    }
    if (realCluster && !Files.isDirectory(manifests)) {
      throw new UsageException(
          "--manifests " + manifests + " is not a directory: give a kustomize directory");
    }
    if (namespace == null) {
      // On a real cluster a gate outlives the demo and its success ledger remembers the Jobs of
      // earlier runs by namespace and name: a fresh namespace keeps each run independent. The
      // local demo starts its gate afresh and forgets its namespace's ledger entries instead.
      namespace =
          realCluster
              ? "shop-"
                  + Long.toString(
                      java.util.concurrent.ThreadLocalRandom.current().nextLong(36L * 36 * 36 * 36),
                      36)
              : "shop";
    }
    boolean color =
        !noColor
            && System.console() != null
            && !"dumb".equals(env.getOrDefault("TERM", "dumb"))
            && env.get("NO_COLOR") == null;
    return new DemoOptions(
        help,
        keep,
        realCluster,
        color,
        namespace,
        instance,
        gatePort,
        manifests,
        appImage,
        jobImage);
  }

  /** The gate's names: {@code migrate-gate}, suffixed for a test's own instance. */
  String gateName() {
    return instance.isEmpty() ? "migrate-gate" : "migrate-gate-" + instance;
  }

  /** The CA Secret the manifests create empty: kustomize's nameSuffix puts the suffix last. */
  String caSecretName() {
    return instance.isEmpty() ? "migrate-gate-ca" : "migrate-gate-ca-" + instance;
  }

  private static String label(String flag, String value) throws UsageException {
    if (!DNS_LABEL.matcher(value).matches()) {
      throw new UsageException(
          flag
              + " '"
              + value
              + "': use lower-case letters, digits and '-' (a Kubernetes name, at most 42"
              + " characters)");
    }
    return value;
  }

  private static int port(String value) throws UsageException {
    try {
      int port = Integer.parseInt(value);
      if (port >= 1 && port <= 65535) {
        return port;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new UsageException("--gate-port '" + value + "': give a port number 1-65535");
  }

  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }
}
