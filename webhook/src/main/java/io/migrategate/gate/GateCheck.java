package io.migrategate.gate;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.migrategate.core.Names;
import io.migrategate.core.UsageException;
import io.migrategate.gate.admission.WaiterContainer;
import io.migrategate.gate.kube.KubernetesAccess;
import io.migrategate.gate.observability.GateLog;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code migrate-gate check --namespace NS}: proves an installation end to end in one step, as the
 * chart's {@code helm test} runs it. It creates an annotated pod in {@code NS} as a dry run (the
 * API server runs admission, nothing is stored or scheduled) and expects it back with migrate-wait
 * injected: the API server found the webhook configuration, reached the gate through its Service,
 * trusted its certificate (the caBundle), and the gate answered. Anything else is a failure that
 * says what the API server said.
 */
final class GateCheck {
  static final String COMMAND = "check";

  private GateCheck() {}

  static int run(List<String> args, PrintStream out, PrintStream err) {
    Map<String, String> flags;
    try {
      flags =
          SubcommandFlags.parse(
              args, Set.of("--namespace", "--kubeconfig"), "--namespace NS [--kubeconfig FILE]");
    } catch (UsageException e) {
      err.println("migrate-gate check: " + e.getMessage());
      return GateMain.EXIT_USAGE;
    }
    String namespace = flags.get("--namespace");
    Path kubeconfig = flags.containsKey("--kubeconfig") ? Path.of(flags.get("--kubeconfig")) : null;
    if (namespace == null || !Names.isDnsLabel(namespace)) {
      err.println(
          "migrate-gate check: --namespace is "
              + (namespace == null ? "missing" : "'" + namespace + "'")
              + ": give a namespace whose annotated pods the gate serves (not the gate's own)");
      return GateMain.EXIT_USAGE;
    }
    GateLog log = new GateLog(GateConfig.LogFormat.TEXT, err);
    try (KubernetesAccess kubernetes = new KubernetesAccess(kubeconfig, log)) {
      Pod answered =
          kubernetes.calls().pods().inNamespace(namespace).resource(probe()).dryRun().create();
      boolean injected =
          answered.getSpec().getInitContainers().stream()
              .anyMatch(c -> c.getName().equals(WaiterContainer.NAME));
      String status =
          answered.getMetadata().getAnnotations() == null
              ? null
              : answered.getMetadata().getAnnotations().get("migrate.io/status");
      if (!injected) {
        err.println(
            "migrate-gate check: FAILED: an annotated pod in namespace "
                + namespace
                + " was admitted without "
                + WaiterContainer.NAME
                + " (migrate.io/status: "
                + (status == null ? "none, the gate never saw it" : status)
                + "): is the namespace excluded, labelled migrate.io/gate=disabled, or outside"
                + " webhook.namespaceSelectorExpressions?");
        return GateMain.EXIT_START_FAILED;
      }
      out.println(
          "migrate-gate check: ok: the API server called the gate for an annotated pod in namespace "
              + namespace
              + " and got it back with "
              + WaiterContainer.NAME
              + " (migrate.io/status: "
              + status
              + ")");
      return GateMain.EXIT_STOPPED;
    } catch (KubernetesClientException e) {
      err.println(
          "migrate-gate check: FAILED: the API server refused an annotated pod in namespace "
              + namespace
              + " ("
              + e.getCode()
              + "): "
              + e.getMessage());
      return GateMain.EXIT_START_FAILED;
    }
  }

  /** A pod that PodSecurity "restricted" admits, annotated for a Job that need not exist. */
  private static Pod probe() {
    return new PodBuilder()
        .withNewMetadata()
        .withGenerateName("migrate-gate-check-")
        .withAnnotations(Map.of("migrate.io/job", "migrate-gate-check"))
        .endMetadata()
        .withNewSpec()
        .withNewSecurityContext()
        .withRunAsNonRoot(true)
        .withNewSeccompProfile()
        .withType("RuntimeDefault")
        .endSeccompProfile()
        .endSecurityContext()
        .addNewContainer()
        .withName("app")
        .withImage("registry.invalid/migrate-gate-check:1")
        .withNewSecurityContext()
        .withAllowPrivilegeEscalation(false)
        .withNewCapabilities()
        .withDrop("ALL")
        .endCapabilities()
        .endSecurityContext()
        .endContainer()
        .endSpec()
        .build();
  }
}
