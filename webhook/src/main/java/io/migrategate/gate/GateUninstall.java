package io.migrategate.gate;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.migrategate.core.Names;
import io.migrategate.core.UsageException;
import io.migrategate.gate.kube.KubernetesAccess;
import io.migrategate.gate.observability.GateLog;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code migrate-gate uninstall}: deletes the gate's MutatingWebhookConfiguration and returns once
 * the API server no longer has it. The chart's pre-delete hook runs it, because {@code helm
 * uninstall} deletes the gate's Service and pods before a webhook configuration (a kind Helm does
 * not order): in between, every annotated pod would be rejected (the entries are fail-closed).
 * Already gone is success. Settings as the gate's: {@code --webhook-configuration} (env
 * MIGRATE_GATE_WEBHOOK_CONFIGURATION), {@code --kubeconfig} (default: in-cluster).
 */
final class GateUninstall {
  static final String COMMAND = "uninstall";

  private GateUninstall() {}

  static int run(List<String> args, Map<String, String> env, PrintStream err) {
    Map<String, String> flags;
    try {
      flags =
          SubcommandFlags.parse(
              args,
              Set.of("--webhook-configuration", "--kubeconfig"),
              "--webhook-configuration NAME [--kubeconfig FILE]");
    } catch (UsageException e) {
      err.println("migrate-gate uninstall: " + e.getMessage());
      return GateMain.EXIT_USAGE;
    }
    String name =
        flags.getOrDefault(
            "--webhook-configuration", env.get("MIGRATE_GATE_WEBHOOK_CONFIGURATION"));
    Path kubeconfig = flags.containsKey("--kubeconfig") ? Path.of(flags.get("--kubeconfig")) : null;
    if (name == null || !Names.isDnsSubdomain(name.trim())) {
      err.println(
          "migrate-gate uninstall: --webhook-configuration is "
              + (name == null ? "missing" : "'" + name + "'")
              + ": give the name of the gate's MutatingWebhookConfiguration (env"
              + " MIGRATE_GATE_WEBHOOK_CONFIGURATION)");
      return GateMain.EXIT_USAGE;
    }
    String configuration = name.trim();
    GateLog log = new GateLog(GateConfig.LogFormat.TEXT, err);
    try (KubernetesAccess kubernetes = new KubernetesAccess(kubeconfig, log)) {
      KubernetesClient client = kubernetes.calls();
      var webhooks = client.admissionRegistration().v1().mutatingWebhookConfigurations();
      // Without finalizers (the gate sets none) the delete is done when it returns; the read
      // makes sure nothing recreated it in between (a GitOps sync would).
      webhooks.withName(configuration).delete();
      if (webhooks.withName(configuration).get() != null) {
        log.error(
            "uninstall: the webhook configuration is still there after its deletion",
            "webhook_configuration",
            configuration);
        return GateMain.EXIT_START_FAILED;
      }
      log.info("uninstall: webhook configuration deleted", "webhook_configuration", configuration);
      return GateMain.EXIT_STOPPED;
    } catch (KubernetesClientException e) {
      log.error(
          "uninstall: cannot delete the webhook configuration",
          "webhook_configuration",
          configuration,
          "code",
          e.getCode(),
          "error",
          e.getMessage());
      return GateMain.EXIT_START_FAILED;
    }
  }
}
