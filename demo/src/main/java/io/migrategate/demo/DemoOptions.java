package io.migrategate.demo;

import io.migrategate.cluster.LocalCluster;
import io.migrategate.core.Names;
import io.migrategate.core.UsageException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

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

  /** The flags as picocli reads them; {@link #parse} turns them into options. */
  @Command(
      name = "demo/run",
      usageHelpWidth = 92,
      description = {
        "Shows migrate-gate gating a real rollout on real pods: builds what is missing (jars and"
            + " images), starts the local cluster with a real node (local-cluster/up --real-node:"
            + " root), loads the images into it, installs the gate from manifests/base, then plays"
            + " three releases of a 'shop' Deployment in namespace shop.",
        ""
      },
      footer = {
        "",
        "Exit codes: 0 every expected outcome was observed, 1 an expectation failed (the reason is"
            + " printed), 2 the demo could not set up (cluster, build, gate), 64 bad arguments.",
        "Details: docs/demo.md"
      })
  static final class Flags {
    @Option(
        names = "--keep",
        description =
            "Leave the cluster and the gate running; prints KUBECONFIG and the kubectl to use.")
    boolean keep;

    @Option(
        names = "--no-color",
        description = "Plain output (also when NO_COLOR is set, TERM=dumb or not a terminal).")
    boolean noColor;

    @Option(
        names = "--cluster",
        description =
            "Use the cluster of KUBECONFIG (current context) instead of the local one; installs"
                + " --manifests there unless the gate is installed.")
    boolean realCluster;

    @Option(
        names = "--manifests",
        paramLabel = "DIR",
        description =
            "Kustomize directory for --cluster (default manifests/base; set your images in an"
                + " overlay).")
    Path manifests;

    @Option(
        names = "--app-image",
        paramLabel = "IMAGE",
        description =
            "The shop's image, needs sh and httpd (default "
                + LOCAL_IMAGE
                + ", with --cluster "
                + CLUSTER_IMAGE
                + ").")
    String appImage;

    @Option(
        names = "--job-image",
        paramLabel = "IMAGE",
        description = "The migration Jobs' image, needs sh (same defaults).")
    String jobImage;

    @Option(
        names = "--namespace",
        paramLabel = "NS",
        description = "The demo's namespace (default shop; with --cluster shop-<random>).")
    String namespace;

    @Option(
        names = {"-h", "--help"},
        usageHelp = true,
        description = "This text.")
    boolean help;
  }

  static String usage() {
    return new CommandLine(new Flags()).getUsageMessage();
  }

  static DemoOptions parse(List<String> args, Map<String, String> env, Path projectRoot)
      throws UsageException {
    Flags flags = new Flags();
    try {
      new CommandLine(flags)
          .setOverwrittenOptionsAllowed(true) // as before: the last of a repeated flag wins
          .parseArgs(args.toArray(String[]::new));
    } catch (CommandLine.UnmatchedArgumentException e) {
      throw new UsageException(
          "unknown argument '" + e.getUnmatched().get(0) + "'; demo/run --help lists the options");
    } catch (CommandLine.MissingParameterException e) {
      throw new UsageException(
          ((OptionSpec) e.getMissing().get(0)).longestName() + " needs a value");
    } catch (CommandLine.ParameterException e) {
      throw new UsageException(e.getMessage() + "; demo/run --help lists the options");
    }
    Path manifests =
        flags.manifests == null
            ? projectRoot.resolve("manifests/base")
            : flags.manifests.toAbsolutePath();
    if (flags.realCluster && !Files.isDirectory(manifests)) {
      throw new UsageException(
          "--manifests " + manifests + " is not a directory: give a kustomize directory");
    }
    String namespace = flags.namespace;
    if (namespace != null && (!Names.isDnsLabel(namespace) || namespace.length() > 42)) {
      // 42: the demo's object names append to it
      throw new UsageException(
          "--namespace '"
              + namespace
              + "': use lower-case letters, digits and '-' (a Kubernetes name, at most 42"
              + " characters)");
    }
    if (namespace == null) {
      // On a real cluster a gate outlives the demo and its success ledger remembers the Jobs of
      // earlier runs by namespace and name: a fresh namespace keeps each run independent. The
      // local demo installs its gate afresh (with an empty ledger) every time.
      namespace =
          flags.realCluster
              ? "shop-"
                  + Long.toString(
                      java.util.concurrent.ThreadLocalRandom.current().nextLong(36L * 36 * 36 * 36),
                      36)
              : "shop";
    }
    String defaultImage = flags.realCluster ? CLUSTER_IMAGE : LOCAL_IMAGE;
    boolean color =
        !flags.noColor
            && System.console() != null
            && !"dumb".equals(env.getOrDefault("TERM", "dumb"))
            && env.get("NO_COLOR") == null;
    return new DemoOptions(
        flags.help,
        flags.keep,
        flags.realCluster,
        color,
        namespace,
        manifests,
        flags.appImage == null ? defaultImage : flags.appImage,
        flags.jobImage == null ? defaultImage : flags.jobImage);
  }
}
