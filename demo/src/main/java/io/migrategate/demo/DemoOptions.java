package io.migrategate.demo;

import io.migrategate.cluster.LocalCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * How the demo was asked to run.
 *
 * @param keep leave the cluster and the gate running, print how to reach them
 * @param realCluster run against the cluster of {@code KUBECONFIG} with the gate installed there
 * @param color ANSI colours in the live view
 * @param namespace the demo's namespace ({@code shop}; tests use a unique one)
 * @param manifests the kustomize directory installed in {@code --cluster} mode
 * @param appImage the shop's image: a shell with {@code httpd} (the shop serves its version)
 * @param jobImage the migration Jobs' image: a shell ({@code sleep}, then exit 0 or 1)
 */
record DemoOptions(
    boolean help,
    boolean keep,
    boolean realCluster,
    boolean color,
    String namespace,
    Path manifests,
    String appImage,
    String jobImage) {

  /** Locally: the node's own shell image (Debian's busybox-static, loaded without a registry). */
  static final String LOCAL_IMAGE = LocalCluster.BUSYBOX_IMAGE;

  /** On a real cluster: busybox from its registry (it has sh, sleep and httpd). */
  static final String CLUSTER_IMAGE = "busybox:1.37";

  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?");

  static String usage() {
    return String.join(
        "\n",
        "Usage: demo/run [--keep] [--no-color] [--cluster [--manifests DIR]] [--help]",
        "",
        "Shows migrate-gate gating a real rollout on real pods: builds what is missing (jars and",
        "images), starts the local cluster with a real node (local-cluster/up --real-node: root),",
        "loads the images into it, installs the gate from manifests/base, then plays three",
        "releases of a 'shop' Deployment in namespace shop.",
        "",
        "  --keep             leave the cluster and the gate running; prints KUBECONFIG and the",
        "                     kubectl to use",
        "  --no-color         plain output (also when NO_COLOR is set, TERM=dumb or not a terminal)",
        "  --cluster          use the cluster of KUBECONFIG (current context) instead of the local",
        "                     one; installs --manifests there unless the gate is installed",
        "  --manifests DIR    kustomize directory for --cluster (default manifests/base; set your",
        "                     images in an overlay)",
        "  --app-image IMAGE  the shop's image, needs sh and httpd (default "
            + LOCAL_IMAGE
            + ", with --cluster "
            + CLUSTER_IMAGE
            + ")",
        "  --job-image IMAGE  the migration Jobs' image, needs sh (same defaults)",
        "  --namespace NS     the demo's namespace (default shop; with --cluster shop-<random>)",
        "  --help             this text",
        "",
        "Exit codes: 0 every expected outcome was observed, 1 an expectation failed (the reason",
        "is printed), 2 the demo could not set up (cluster, build, gate), 64 bad arguments.",
        "Details: docs/demo.md");
  }

  static DemoOptions parse(List<String> args, Map<String, String> env, Path projectRoot)
      throws UsageException {
    boolean help = false;
    boolean keep = false;
    boolean realCluster = false;
    boolean noColor = false;
    String namespace = null;
    Path manifests = projectRoot.resolve("manifests/base");
    String appImage = null;
    String jobImage = null;
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
        case "--namespace", "--manifests", "--app-image", "--job-image" -> {
          if (value == null) {
            if (i + 1 >= args.size()) {
              throw new UsageException(name + " needs a value");
            }
            value = args.get(++i);
          }
          switch (name) {
            case "--namespace" -> namespace = label(name, value);
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
      // local demo installs its gate afresh (with an empty ledger) every time.
      namespace =
          realCluster
              ? "shop-"
                  + Long.toString(
                      java.util.concurrent.ThreadLocalRandom.current().nextLong(36L * 36 * 36 * 36),
                      36)
              : "shop";
    }
    String defaultImage = realCluster ? CLUSTER_IMAGE : LOCAL_IMAGE;
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
        manifests,
        appImage == null ? defaultImage : appImage,
        jobImage == null ? defaultImage : jobImage);
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

  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }
}
