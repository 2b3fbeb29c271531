package io.migrategate.manifests;

import static io.migrategate.manifests.Rendered.elements;
import static io.migrategate.manifests.Rendered.texts;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The manifests as rendered by {@code kubectl kustomize}, {@code helm lint} and {@code helm
 * template} (no cluster needed): the kustomize base and the chart produce the same objects, and
 * every rendering keeps the rules the install guide promises.
 */
class RenderTest {
  /** Every object of an installation in self-managed TLS mode, by kind/namespace/name. */
  static final Set<String> BASE_OBJECTS =
      Set.of(
          "Namespace/migrate-gate",
          "ServiceAccount/migrate-gate/migrate-gate",
          "ClusterRole/migrate-gate",
          "ClusterRoleBinding/migrate-gate",
          "Role/migrate-gate/migrate-gate",
          "RoleBinding/migrate-gate/migrate-gate",
          "ClusterRole/migrate-gate-tls",
          "ClusterRoleBinding/migrate-gate-tls",
          "Role/migrate-gate/migrate-gate-tls",
          "RoleBinding/migrate-gate/migrate-gate-tls",
          "Secret/migrate-gate/migrate-gate-ca",
          "Secret/migrate-gate/migrate-gate-ledger-key",
          "Deployment/migrate-gate/migrate-gate",
          "Service/migrate-gate/migrate-gate",
          "PodDisruptionBudget/migrate-gate/migrate-gate",
          "NetworkPolicy/migrate-gate/migrate-gate",
          "MutatingWebhookConfiguration/migrate-gate",
          "ValidatingAdmissionPolicy/migrate-gate-cabundle-only",
          "ValidatingAdmissionPolicyBinding/migrate-gate-cabundle-only",
          "ValidatingAdmissionPolicy/migrate-gate-annotation-warnings",
          "ValidatingAdmissionPolicyBinding/migrate-gate-annotation-warnings");

  static final List<String> EXCLUDED_NAMESPACES =
      List.of("kube-system", "kube-public", "kube-node-lease");

  /** Labels only Helm adds (release bookkeeping); everything else must match the base. */
  private static final Set<String> HELM_ONLY_LABELS =
      Set.of(
          "app.kubernetes.io/instance",
          "app.kubernetes.io/version",
          "app.kubernetes.io/managed-by",
          "helm.sh/chart");

  private static final String LOCAL_URL = "https://127.0.0.1:8443/mutate";

  private static Tools tools;

  @BeforeAll
  static void tools() {
    tools = Tools.get();
  }

  private static Rendered helmDefault(String... options) {
    List<String> all = new ArrayList<>(List.of("--set", "namespace.create=true"));
    all.addAll(List.of(options));
    return Rendered.helm(tools, "migrate-gate", "migrate-gate", all.toArray(String[]::new));
  }

  @Test
  void kustomizeBaseRendersTheWholeInstallation() {
    Rendered base = Rendered.kustomize(tools, "base");
    assertEquals(new TreeSet<>(BASE_OBJECTS), base.keys());
    assertGateRules(base, "migrate-gate");
  }

  @Test
  void helmLintPassesInEveryTlsMode() {
    String chart = tools.chart().toString();
    tools.helm("lint", "--strict", chart).requireSuccess();
    tools.helm("lint", "--strict", chart, "--set", "tls.mode=cert-manager").requireSuccess();
    tools
        .helm(
            "lint",
            "--strict",
            chart,
            "--set",
            "tls.mode=secret,tls.secret.name=gate-tls,tls.secret.caBundle=Y2E=")
        .requireSuccess();
    tools.helm("lint", "--strict", chart, "--set", "externalUrl=" + LOCAL_URL).requireSuccess();
  }

  @Test
  void helmChartRendersTheSameObjectsAsTheKustomizeBase() {
    assertSameObjects(Rendered.kustomize(tools, "base"), helmDefault());
  }

  @Test
  void anOverlayWithAnotherNamespaceAndNamesRelocatesEveryReference() throws IOException {
    Rendered relocated =
        overlay(
            "relocated-base",
            String.join(
                "\n",
                "resources: [../../../base]",
                "namespace: platform-gate",
                "namePrefix: corp-",
                "nameSuffix: -blue",
                ""));
    assertEquals("platform-gate", Rendered.name(relocated.one("Namespace")));
    assertEquals("corp-migrate-gate-blue", Rendered.name(relocated.one("Service")));
    assertGateRules(relocated, "platform-gate");
    assertNothingNamesTheDefaultInstallation(relocated, Rendered.kustomize(tools, "base"));
  }

  @Test
  void theCertManagerOverlayRelocatesWithTheReplacementsOfTheInstallGuide() throws IOException {
    // The guide's example overlay, as a platform team copies it, plus a name suffix.
    String guide = Files.readString(tools.projectRoot.resolve("docs/install.md"));
    Matcher example =
        Pattern.compile("```yaml\n(# my-gate/kustomization.yaml[^`]*)```").matcher(guide);
    assertTrue(example.find(), "docs/install.md shows the relocated cert-manager overlay");
    String kustomization =
        example
                .group(1)
                .replace("../manifests/overlays/cert-manager", "../../../overlays/cert-manager")
            + "nameSuffix: -blue\n";
    assertTrue(kustomization.contains("namespace: platform-gate"), kustomization);
    Rendered relocated = overlay("relocated-cert-manager", kustomization);
    assertGateRules(relocated, "platform-gate");
    assertNothingNamesTheDefaultInstallation(
        relocated, Rendered.kustomize(tools, "overlays/cert-manager"));
    ObjectNode serving = relocated.find("Certificate", "migrate-gate-serving-blue").orElseThrow();
    assertEquals(
        List.of(
            "migrate-gate-blue.platform-gate.svc",
            "migrate-gate-blue.platform-gate.svc.cluster.local"),
        texts(serving.path("spec").path("dnsNames")));
    assertEquals(
        "platform-gate/migrate-gate-serving-blue",
        relocated
            .one("MutatingWebhookConfiguration")
            .path("metadata")
            .path("annotations")
            .path("cert-manager.io/inject-ca-from")
            .asText());
    for (ObjectNode certificate : relocated.all("Certificate")) {
      String issuer = certificate.path("spec").path("issuerRef").path("name").asText();
      assertTrue(
          relocated.find("Issuer", issuer).isPresent(),
          Rendered.key(certificate) + " names a rendered Issuer: " + issuer);
    }
  }

  @Test
  void helmInAnotherNamespaceWithAnotherReleaseNameRelocatesEveryReference() {
    for (String mode : List.of("self-managed", "cert-manager")) {
      Rendered relocated =
          Rendered.helm(
              tools,
              "gate",
              "platform-gate",
              "--set",
              "namespace.create=true,tls.mode=" + mode + ",clusterDomain=corp.example");
      assertGateRules(relocated, "platform-gate");
      assertNothingNamesTheDefaultInstallation(relocated, helmDefault("--set", "tls.mode=" + mode));
    }
  }

  /** kubectl kustomize of a kustomization written under manifests/target/kustomize-test. */
  private static Rendered overlay(String name, String kustomization) throws IOException {
    Path dir = tools.manifests().resolve("target/kustomize-test/" + name);
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("kustomization.yaml"), kustomization);
    return Rendered.kustomize(tools, "target/kustomize-test/" + name);
  }

  @Test
  void theMonitoringComponentAndTheChartsMetricsValuesRenderTheSameObjects() throws IOException {
    Rendered kustomize =
        overlay(
            "monitoring",
            String.join(
                "\n",
                "resources: [../../../base]",
                "components: [../../../components/monitoring]",
                ""));
    Rendered helm =
        helmDefault(
            "--set",
            "metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true",
            "--set",
            "metrics.dashboard.enabled=true");
    assertSameObjects(kustomize, helm);
    Set<String> added = new TreeSet<>(kustomize.keys());
    added.removeAll(BASE_OBJECTS);
    assertEquals(
        Set.of(
            "ServiceMonitor/migrate-gate/migrate-gate",
            "PrometheusRule/migrate-gate/migrate-gate",
            "ConfigMap/migrate-gate/migrate-gate-dashboard"),
        added);
    // The ServiceMonitor scrapes a port the Service has, which leads to the gate's probe port.
    ObjectNode service = kustomize.one("Service");
    JsonNode metrics =
        elements(service.path("spec").path("ports")).stream()
            .filter(p -> p.path("name").asText().equals("metrics"))
            .findFirst()
            .orElseThrow();
    assertEquals("probes", metrics.path("targetPort").asText());
    assertEquals(
        "metrics",
        kustomize
            .one("ServiceMonitor")
            .path("spec")
            .path("endpoints")
            .get(0)
            .path("port")
            .asText());

    Rendered podMonitor = helmDefault("--set", "metrics.podMonitor.enabled=true");
    JsonNode endpoint =
        podMonitor.one("PodMonitor").path("spec").path("podMetricsEndpoints").get(0);
    assertEquals("probes", endpoint.path("port").asText(), "a named port of the gate's container");
    assertEquals(
        podMonitor.one("Deployment").path("spec").path("selector").path("matchLabels"),
        podMonitor.one("PodMonitor").path("spec").path("selector").path("matchLabels"));
  }

  @Test
  void theOpenShiftComponentAndTheChartsNullUidRenderTheSameObjects() throws IOException {
    Rendered kustomize =
        overlay(
            "openshift",
            String.join(
                "\n",
                "resources: [../../../base]",
                "components: [../../../components/openshift]",
                ""));
    assertSameObjects(kustomize, helmDefault("--set", "runAsUser=null"));
    assertGateRules(kustomize, "migrate-gate");
    JsonNode pod = kustomize.one("Deployment").path("spec").path("template").path("spec");
    for (String field : List.of("runAsUser", "runAsGroup", "fsGroup")) {
      assertTrue(pod.path("securityContext").path(field).isMissingNode(), field + " left unset");
    }
    assertTrue(pod.path("securityContext").path("runAsNonRoot").asBoolean());
    assertEquals("platform", env(kustomize).get("MIGRATE_GATE_WAITER_RUN_AS_USER"));
    assertEquals(
        "1000",
        env(helmDefault("--set", "runAsUser=1000")).get("MIGRATE_GATE_WAITER_RUN_AS_USER"),
        "the chart's UID is the waiters' too");
  }

  @Test
  void theHostNetworkComponentAndTheChartsHostNetworkValueRenderTheSameObjects()
      throws IOException {
    Rendered kustomize =
        overlay(
            "host-network",
            String.join(
                "\n",
                "resources: [../../../base]",
                "components: [../../../components/host-network]",
                ""));
    assertSameObjects(kustomize, helmDefault("--set", "hostNetwork=true,ports.webhook=8443"));
    assertGateRules(kustomize, "migrate-gate");
    ObjectNode deployment = kustomize.one("Deployment");
    JsonNode pod = deployment.path("spec").path("template").path("spec");
    assertTrue(pod.path("hostNetwork").asBoolean());
    assertEquals(
        "ClusterFirstWithHostNet",
        pod.path("dnsPolicy").asText(),
        "the gate still resolves the Kubernetes API and its own Service");
    assertEquals(
        0,
        deployment.path("spec").path("strategy").path("rollingUpdate").path("maxSurge").asInt(),
        "no surge pod that would need a node with the ports free");
    JsonNode labels = kustomize.one("Namespace").path("metadata").path("labels");
    assertEquals("privileged", labels.path("pod-security.kubernetes.io/enforce").asText());
    assertEquals("restricted", labels.path("pod-security.kubernetes.io/warn").asText());

    Tools.Result refused =
        tools.helm(
            "template",
            "gate",
            tools.chart().toString(),
            "--kube-version",
            tools.kubeVersion,
            "--set",
            "hostNetwork=true");
    assertNotEquals(0, refused.exitCode(), "the kubelet's port on the host network");
    assertTrue(
        refused
            .stderr()
            .contains(
                "ports.webhook: 10250 is the kubelet's port on every node, and hostNetwork: true opens"
                    + " the gate's ports there; pick a port that is free on the nodes"),
        refused.stderr());
  }

  /**
   * kubectl and Helm read YAML 1.1, where an unquoted {@code on}, {@code off}, {@code y} or {@code
   * no} is a boolean: a release in namespace "on" failed with "cannot unmarshal bool into
   * ObjectMeta.metadata.namespace". Every namespace the chart writes is quoted.
   */
  @Test
  void namespacesThatLookLikeBooleansStayStrings() {
    String text =
        tools
            .helm(
                "template",
                "gate",
                tools.chart().toString(),
                "-n",
                "on",
                "--kube-version",
                tools.kubeVersion,
                "--set",
                "namespace.create=true,test.namespace=off,tls.mode=cert-manager")
            .requireSuccess()
            .stdout();
    List<String> unquoted =
        text.lines().filter(l -> l.matches("\\s*(- )?(namespace|name): (on|off)\\s*")).toList();
    assertEquals(List.of(), unquoted, "namespaces written without quotes");
    assertTrue(text.contains("namespace: \"on\""), "the release namespace, quoted");
  }

  @Test
  void theWarningsPolicyFollowsTheChartsWebhookValues() {
    Rendered rendered =
        Rendered.helm(
            tools,
            "gate",
            "platform-gate",
            "--set",
            "excludedNamespaces={legacy,batch},webhook.workloadAnnotations=false");
    ObjectNode policy =
        rendered
            .find("ValidatingAdmissionPolicy", "gate-migrate-gate-annotation-warnings")
            .orElseThrow();
    Map<String, String> variables = new LinkedHashMap<>();
    elements(policy.path("spec").path("variables"))
        .forEach(v -> variables.put(v.path("name").asText(), v.path("expression").asText()));
    assertEquals(
        "['kube-system', 'kube-public', 'kube-node-lease', 'legacy', 'batch', 'platform-gate']",
        variables.get("systemNamespaces"),
        "never gated: the excluded namespaces and the release's own (Helm creates it unlabelled)");
    assertEquals("false", variables.get("workloadEntries"), "no entries for workload annotations");
    assertEquals(
        "gate-migrate-gate-annotation-warnings",
        rendered
            .find("ValidatingAdmissionPolicyBinding", "gate-migrate-gate-annotation-warnings")
            .orElseThrow()
            .path("spec")
            .path("policyName")
            .asText());
    assertTrue(
        Rendered.helm(tools, "gate", "platform-gate", "--set", "annotationWarnings.enabled=false")
            .all("ValidatingAdmissionPolicy")
            .stream()
            .noneMatch(p -> Rendered.name(p).endsWith("-annotation-warnings")));
  }

  @Test
  void theUninstallHookMayDeleteTheGatesWebhookConfigurationAndNothingElse() {
    Rendered release = Rendered.helm(tools, "gate", "platform-gate");
    Rendered hooks = hooks("pre-delete", Rendered.helmHooks(tools, "gate", "platform-gate"));
    String webhookConfiguration = Rendered.name(release.one("MutatingWebhookConfiguration"));
    ObjectNode job = hooks.one("Job");
    for (ObjectNode hook : hooks.objects) {
      JsonNode annotations = hook.path("metadata").path("annotations");
      assertEquals("pre-delete", annotations.path("helm.sh/hook").asText(), Rendered.key(hook));
      assertEquals(
          "before-hook-creation,hook-succeeded",
          annotations.path("helm.sh/hook-delete-policy").asText(),
          Rendered.key(hook));
      if (hook != job) {
        assertTrue(
            annotations.path("helm.sh/hook-weight").asInt()
                < job.path("metadata").path("annotations").path("helm.sh/hook-weight").asInt(),
            Rendered.key(hook) + " exists before the Job runs");
      }
    }
    JsonNode pod = job.path("spec").path("template").path("spec");
    JsonNode container = pod.path("containers").get(0);
    assertEquals(
        List.of("uninstall", "--webhook-configuration", webhookConfiguration),
        texts(container.path("args")));
    assertEquals(
        container(release).path("image").asText(),
        container.path("image").asText(),
        "the gate's image");
    assertTrue(container.path("securityContext").path("readOnlyRootFilesystem").asBoolean());
    assertEquals(
        Rendered.name(hooks.one("ServiceAccount")), pod.path("serviceAccountName").asText());
    JsonNode rule = hooks.one("ClusterRole").path("rules");
    assertEquals(1, rule.size());
    assertEquals(List.of(webhookConfiguration), texts(rule.get(0).path("resourceNames")));
    assertEquals(List.of("get", "delete"), texts(rule.get(0).path("verbs")));
    JsonNode subject = hooks.one("ClusterRoleBinding").path("subjects").get(0);
    assertEquals(Rendered.name(hooks.one("ServiceAccount")), subject.path("name").asText());
    assertEquals("platform-gate", subject.path("namespace").asText());

    assertTrue(
        hooks(
                "pre-delete",
                Rendered.helmHooks(
                    tools, "gate", "platform-gate", "--set", "uninstallHook.enabled=false"))
            .objects
            .isEmpty());
  }

  @Test
  void helmTestChecksTheInstallationWithAPodThatMayOnlyCreatePodsInTheTestNamespace() {
    Rendered release = Rendered.helm(tools, "gate", "platform-gate");
    Rendered hooks =
        hooks(
            "test",
            Rendered.helmHooks(tools, "gate", "platform-gate", "--set", "test.namespace=shop"));
    ObjectNode pod = hooks.one("Pod");
    JsonNode container = pod.path("spec").path("containers").get(0);
    assertEquals(List.of("check", "--namespace", "shop"), texts(container.path("args")));
    assertEquals(container(release).path("image").asText(), container.path("image").asText());
    assertEquals("Never", pod.path("spec").path("restartPolicy").asText());
    ObjectNode role = hooks.one("Role");
    assertEquals("shop", Rendered.namespace(role), "the Role lives in the tested namespace");
    JsonNode rules = role.path("rules");
    assertEquals(1, rules.size());
    assertEquals(List.of("pods"), texts(rules.get(0).path("resources")));
    assertEquals(List.of("create"), texts(rules.get(0).path("verbs")));
    JsonNode subject = hooks.one("RoleBinding").path("subjects").get(0);
    assertEquals(Rendered.name(hooks.one("ServiceAccount")), subject.path("name").asText());
    assertEquals(
        Rendered.name(hooks.one("ServiceAccount")),
        pod.path("spec").path("serviceAccountName").asText());
    assertTrue(
        hooks(
                "test",
                Rendered.helmHooks(tools, "gate", "platform-gate", "--set", "test.enabled=false"))
            .objects
            .isEmpty());
  }

  /** The hooks of one kind ({@code helm.sh/hook}). */
  private static Rendered hooks(String hook, Rendered hooks) {
    return hooks.filter(
        o -> o.path("metadata").path("annotations").path("helm.sh/hook").asText().equals(hook));
  }

  @Test
  void extraEnvAndExtraArgsReachTheGateContainer() {
    Rendered rendered =
        helmDefault(
            "--set",
            "extraEnv[0].name=HTTPS_PROXY,extraEnv[0].value=http://proxy:3128",
            "--set",
            "extraArgs={--audit-interval=10m,--owner-lookup-timeout=3s}");
    assertEquals("http://proxy:3128", env(rendered).get("HTTPS_PROXY"));
    assertEquals(
        List.of("--audit-interval=10m", "--owner-lookup-timeout=3s"),
        texts(container(rendered).path("args")));
  }

  @Test
  void theDashboardIsTheSameFileInTheChartAndTheComponent() throws IOException {
    String chart = Files.readString(tools.chart().resolve("dashboards/migrate-gate.json"));
    String component =
        Files.readString(tools.manifests().resolve("components/monitoring/dashboard.json"));
    assertEquals(chart, component, "edit both copies (kustomize cannot read the chart's file)");
    JsonNode dashboard = Rendered.YAML.readTree(chart);
    assertEquals("migrate-gate", dashboard.path("uid").asText());
    for (JsonNode panel : elements(dashboard.path("panels"))) {
      assertFalse(elements(panel.path("targets")).isEmpty(), panel.path("title") + " has a query");
    }
    Rendered helm = helmDefault("--set", "metrics.dashboard.enabled=true");
    assertEquals(
        chart.strip(),
        helm.one("ConfigMap").path("data").path("migrate-gate.json").asText().strip(),
        "the chart's ConfigMap carries the file as it is");
  }

  @Test
  void theChartWorksAsASubchartOfAnUmbrellaChart() throws IOException {
    // An umbrella chart with migrate-gate under charts/, switched by a condition, and a global:
    // Helm validates the subchart's values with its schema, globals and the condition included.
    Path umbrella = tools.manifests().resolve("target/umbrella");
    Files.createDirectories(umbrella.resolve("charts"));
    tools
        .helm("package", tools.chart().toString(), "-d", umbrella.resolve("charts").toString())
        .requireSuccess();
    Files.writeString(
        umbrella.resolve("Chart.yaml"),
        String.join(
            "\n",
            "apiVersion: v2",
            "name: platform",
            "version: 1.0.0",
            "dependencies:",
            "  - name: migrate-gate",
            "    version: \">=0.0.0-0\"",
            "    condition: migrate-gate.enabled",
            ""));
    Files.writeString(
        umbrella.resolve("values.yaml"),
        String.join(
            "\n",
            "global:",
            "  imageRegistry: registry.example",
            "migrate-gate:",
            "  enabled: true",
            "  replicas: 3",
            ""));
    Rendered rendered =
        Rendered.parse(
            "helm template of an umbrella chart",
            tools
                .helm(
                    "template",
                    "platform",
                    umbrella.toString(),
                    "--namespace",
                    "platform",
                    "--kube-version",
                    tools.kubeVersion)
                .requireSuccess()
                .stdout());
    assertEquals(3, rendered.one("Deployment").path("spec").path("replicas").asInt());
    Tools.Result off =
        tools.helm(
            "template",
            "platform",
            umbrella.toString(),
            "--kube-version",
            tools.kubeVersion,
            "--set",
            "migrate-gate.enabled=false");
    off.requireSuccess();
    assertFalse(off.stdout().contains("kind: Deployment"), "the condition switches it off");
  }

  @Test
  void certManagerOverlayAndHelmModeRenderTheSameObjects() {
    Rendered overlay = Rendered.kustomize(tools, "overlays/cert-manager");
    assertSameObjects(overlay, helmDefault("--set", "tls.mode=cert-manager"));

    Set<String> expected = new TreeSet<>(BASE_OBJECTS);
    expected.removeAll(
        Set.of(
            "ClusterRole/migrate-gate-tls",
            "ClusterRoleBinding/migrate-gate-tls",
            "Role/migrate-gate/migrate-gate-tls",
            "RoleBinding/migrate-gate/migrate-gate-tls",
            "Secret/migrate-gate/migrate-gate-ca",
            "ValidatingAdmissionPolicy/migrate-gate-cabundle-only",
            "ValidatingAdmissionPolicyBinding/migrate-gate-cabundle-only"));
    expected.addAll(
        Set.of(
            "Issuer/migrate-gate/migrate-gate-selfsigned",
            "Certificate/migrate-gate/migrate-gate-root-ca",
            "Issuer/migrate-gate/migrate-gate-ca",
            "Certificate/migrate-gate/migrate-gate-serving"));
    assertEquals(expected, overlay.keys(), "no self-managed TLS objects or RBAC with cert-manager");
    assertGateRules(overlay, "migrate-gate");

    ObjectNode webhooks = overlay.one("MutatingWebhookConfiguration");
    assertEquals(
        "migrate-gate/migrate-gate-serving",
        webhooks
            .path("metadata")
            .path("annotations")
            .path("cert-manager.io/inject-ca-from")
            .asText(),
        "cainjector writes the caBundle from the serving certificate's CA");
    ObjectNode serving = overlay.find("Certificate", "migrate-gate-serving").orElseThrow();
    assertEquals(
        List.of("migrate-gate.migrate-gate.svc", "migrate-gate.migrate-gate.svc.cluster.local"),
        texts(serving.path("spec").path("dnsNames")),
        "the names the API server calls the Service by");
    Map<String, String> env = env(overlay);
    assertEquals("files", env.get("MIGRATE_GATE_TLS_MODE"));
    assertEquals("/etc/migrate-gate/tls/tls.crt", env.get("MIGRATE_GATE_TLS_CERT_FILE"));
    assertEquals("/etc/migrate-gate/tls/tls.key", env.get("MIGRATE_GATE_TLS_KEY_FILE"));
    assertEquals(
        serving.path("spec").path("secretName").asText(),
        volume(overlay, "tls").path("secret").path("secretName").asText(),
        "the gate reads the Secret cert-manager writes");
  }

  @Test
  void localOverlayAndHelmExternalUrlRenderTheSameObjects() {
    Rendered overlay = Rendered.kustomize(tools, "overlays/local");
    assertSameObjects(overlay, helmDefault("--set", "externalUrl=" + LOCAL_URL));
    Set<String> expected = new TreeSet<>(BASE_OBJECTS);
    expected.removeAll(
        Set.of(
            "Deployment/migrate-gate/migrate-gate",
            "Service/migrate-gate/migrate-gate",
            "PodDisruptionBudget/migrate-gate/migrate-gate",
            "NetworkPolicy/migrate-gate/migrate-gate"));
    assertEquals(expected, overlay.keys(), "the gate runs on the host: no workload objects");
    for (JsonNode webhook : webhooks(overlay)) {
      // The enforced namespaces' entry calls a path of its own (the gate denies opting out there).
      String name = webhook.path("name").asText();
      assertEquals(
          name.equals("workload-pods-enforced.migrate-gate.io")
              ? LOCAL_URL + "/enforced"
              : LOCAL_URL,
          webhook.path("clientConfig").path("url").asText(),
          name);
      assertTrue(webhook.path("clientConfig").path("service").isMissingNode());
    }
  }

  @Test
  void noRenderingContainsACaBundleOrAPrivateKey() throws IOException {
    List<Rendered> renderings =
        List.of(
            Rendered.kustomize(tools, "base"),
            Rendered.kustomize(tools, "overlays/cert-manager"),
            Rendered.kustomize(tools, "overlays/local"),
            helmDefault(),
            helmDefault("--set", "tls.mode=cert-manager"),
            helmDefault("--set", "externalUrl=" + LOCAL_URL));
    for (Rendered rendered : renderings) {
      String yaml = rendered.toYaml();
      assertFalse(yaml.contains("caBundle"), rendered + " contains a caBundle");
      assertFalse(yaml.contains("PRIVATE KEY"), rendered + " contains a private key");
      for (ObjectNode secret : rendered.all("Secret")) {
        assertTrue(
            secret.path("data").isMissingNode() && secret.path("stringData").isMissingNode(),
            rendered + ": Secret " + Rendered.name(secret) + " must be empty");
      }
    }
    // The source files too, not only what kustomize and helm make of them.
    try (var files = Files.walk(tools.manifests())) {
      for (Path file :
          files
              .filter(f -> !f.startsWith(tools.manifests().resolve("target")))
              .filter(f -> f.toString().matches(".*\\.(yaml|yml|tpl|json|txt)$"))
              .toList()) {
        String text = Files.readString(file);
        assertFalse(text.contains("PRIVATE KEY"), file + " contains a private key");
        assertFalse(
            text.contains("BEGIN CERTIFICATE"), file + " contains a certificate (a caBundle?)");
      }
    }
  }

  @Test
  void helmValuesReachTheObjects() {
    String digest = "sha256:" + "ab".repeat(32);
    Rendered rendered =
        Rendered.helm(
            tools,
            "prod",
            "platform-gate",
            "--set",
            "replicas=3",
            "--set",
            "image.repository=registry.example/gate,image.digest=" + digest,
            "--set",
            "waiterImage.repository=registry.example/waiter,waiterImage.tag=1.2.3",
            "--set",
            "webhook.failurePolicy=Ignore,webhook.timeoutSeconds=3",
            "--set",
            "drainDelaySeconds=20,shutdownTimeoutSeconds=30",
            "--set",
            "excludedNamespaces={legacy,batch-jobs}",
            "--set",
            "ownerLookup.failurePolicy=fail-open,logFormat=text",
            "--set",
            "priorityClassName=system-cluster-critical",
            "--set",
            "resources.limits.memory=1Gi");
    assertGateRules(rendered, "platform-gate");
    ObjectNode deployment = rendered.one("Deployment");
    assertEquals("prod-migrate-gate", Rendered.name(deployment), "<release>-migrate-gate");
    assertEquals(3, deployment.path("spec").path("replicas").asInt());
    JsonNode pod = deployment.path("spec").path("template").path("spec");
    assertEquals("registry.example/gate@" + digest, container(rendered).path("image").asText());
    assertEquals("system-cluster-critical", pod.path("priorityClassName").asText());
    assertEquals(
        "1Gi", container(rendered).path("resources").path("limits").path("memory").asText());
    assertEquals(55, pod.path("terminationGracePeriodSeconds").asInt(), "20 s + 30 s + 5 s");
    Map<String, String> env = env(rendered);
    assertEquals("registry.example/waiter:1.2.3", env.get("MIGRATE_GATE_WAITER_IMAGE"));
    assertEquals("20s", env.get("MIGRATE_GATE_DRAIN_DELAY"));
    assertEquals("30s", env.get("MIGRATE_GATE_SHUTDOWN_TIMEOUT"));
    assertEquals("legacy,batch-jobs", env.get("MIGRATE_GATE_EXCLUDED_NAMESPACES"));
    assertEquals("fail-open", env.get("MIGRATE_GATE_OWNER_LOOKUP_FAILURE_POLICY"));
    assertEquals("text", env.get("MIGRATE_GATE_LOG_FORMAT"));
    List<JsonNode> webhooks = webhooks(rendered);
    assertEquals("Ignore", webhooks.get(0).path("failurePolicy").asText());
    for (JsonNode webhook : webhooks) {
      assertEquals(3, webhook.path("timeoutSeconds").asInt());
      assertTrue(
          excludedNames(webhook).containsAll(List.of("legacy", "batch-jobs", "platform-gate")),
          webhook.path("name").asText());
    }
  }

  @Test
  void helmCanLimitTheAnnotationToPodTemplatesAndNarrowTheNamespaces() {
    Rendered rendered =
        helmDefault(
            "--set",
            "webhook.workloadAnnotations=false",
            "--set-json",
            "webhook.namespaceSelectorExpressions=[{\"key\":\"team\",\"operator\":\"In\","
                + "\"values\":[\"payments\"]}]");
    List<JsonNode> webhooks = webhooks(rendered);
    assertEquals(
        List.of("annotated-pods.migrate-gate.io"),
        webhooks.stream().map(w -> w.path("name").asText()).toList());
    assertTrue(
        elements(webhooks.get(0).path("namespaceSelector").path("matchExpressions")).stream()
            .anyMatch(e -> e.path("key").asText().equals("team")),
        "the extra expression is ANDed onto the namespace selector");
  }

  @Test
  void helmSecretModeUsesTheGivenSecretAndCaBundle() {
    Rendered rendered =
        helmDefault("--set", "tls.mode=secret,tls.secret.name=corp-tls,tls.secret.caBundle=Y2E=");
    assertGateRules(rendered, "migrate-gate");
    assertEquals("corp-tls", volume(rendered, "tls").path("secret").path("secretName").asText());
    for (JsonNode webhook : webhooks(rendered)) {
      assertEquals("Y2E=", webhook.path("clientConfig").path("caBundle").asText());
    }
    assertFalse(rendered.keys().contains("Secret/migrate-gate/migrate-gate-ca"));
    assertFalse(rendered.keys().contains("ClusterRole/migrate-gate-tls"));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "tls.mode=bogus",
        "tls.mode=secret",
        "webhook.failurePolicy=Sometimes",
        "replicas=0",
        "image.digest=latest",
        "logFormat=xml",
        "replica=3"
      })
  void helmRejectsBadValuesWithAMessageNamingThem(String value) {
    Tools.Result result =
        tools.helm(
            "template",
            "migrate-gate",
            tools.chart().toString(),
            "--kube-version",
            tools.kubeVersion,
            "--set",
            value);
    assertNotEquals(0, result.exitCode(), value + " must be refused");
    String key = value.substring(0, value.indexOf('='));
    String leaf = key.substring(key.lastIndexOf('.') + 1);
    assertTrue(
        result.stderr().contains(leaf), "the message names " + key + ":\n" + result.stderr());
  }

  @Test
  void kustomizeImagesSetBothTheGateAndTheWaiterImage() throws IOException {
    String digest = "sha256:" + "cd".repeat(32);
    Path overlay = tools.manifests().resolve("target/kustomize-test/images");
    Files.createDirectories(overlay);
    Files.writeString(
        overlay.resolve("kustomization.yaml"),
        String.join(
            "\n",
            "resources: [../../../base]",
            "images:",
            "  - name: ghcr.io/migrate-gate/webhook",
            "    newName: registry.example/gate",
            "    digest: " + digest,
            "  - name: ghcr.io/migrate-gate/waiter",
            "    newName: registry.example/waiter",
            "    newTag: 1.2.3",
            ""));
    Rendered rendered = Rendered.kustomize(tools, "target/kustomize-test/images");
    assertEquals("registry.example/gate@" + digest, container(rendered).path("image").asText());
    assertEquals("registry.example/waiter:1.2.3", env(rendered).get("MIGRATE_GATE_WAITER_IMAGE"));
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * The rules every rendering keeps: the webhook entries' scope and blast radius, the Deployment's
   * availability and PodSecurity "restricted" settings, and that the names the gate is told are the
   * names its RBAC allows.
   */
  static void assertGateRules(Rendered rendered, String gateNamespace) {
    assertAll(
        rendered.source,
        () -> assertWebhookRules(rendered, gateNamespace),
        () -> {
          if (!rendered.all("Deployment").isEmpty()) {
            assertDeploymentRules(rendered);
          }
        },
        () -> assertNamesAgree(rendered));
  }

  private static void assertWebhookRules(Rendered rendered, String gateNamespace) {
    List<JsonNode> webhooks = webhooks(rendered);
    assertFalse(webhooks.isEmpty());
    for (JsonNode webhook : webhooks) {
      String name = webhook.path("name").asText();
      assertTrue(name.contains("migrate-gate"), name + ": a rejection message names migrate-gate");
      assertEquals(List.of("v1"), texts(webhook.path("admissionReviewVersions")), name);
      assertEquals("None", webhook.path("sideEffects").asText(), name + ": dry-run safe");
      int timeout = webhook.path("timeoutSeconds").asInt();
      assertTrue(timeout >= 1 && timeout <= 10, name + ": timeoutSeconds small, was " + timeout);
      assertEquals("IfNeeded", webhook.path("reinvocationPolicy").asText(), name);
      assertEquals("Equivalent", webhook.path("matchPolicy").asText(), name);
      List<JsonNode> rules = elements(webhook.path("rules"));
      assertEquals(1, rules.size(), name);
      JsonNode rule = rules.get(0);
      assertEquals(List.of("CREATE"), texts(rule.path("operations")), name);
      assertEquals(List.of(""), texts(rule.path("apiGroups")), name);
      assertEquals(List.of("v1"), texts(rule.path("apiVersions")), name);
      assertEquals(List.of("pods"), texts(rule.path("resources")), name + ": pods only");
      List<String> excluded = excludedNames(webhook);
      assertTrue(excluded.containsAll(EXCLUDED_NAMESPACES), name + " excludes " + excluded);
      assertTrue(excluded.contains(gateNamespace), name + " excludes the gate's namespace");
      // No pod label exempts a pod: the gate's own pods are kept out by their namespace.
      assertTrue(
          webhook.path("objectSelector").isMissingNode(), name + ": no objectSelector: " + webhook);
      boolean honoursOptOut =
          elements(webhook.path("matchConditions")).stream()
              .anyMatch(c -> c.path("name").asText().equals("not-opted-out"));
      assertEquals(
          !name.equals("workload-pods-enforced.migrate-gate.io"),
          honoursOptOut,
          name + ": only the enforced entry sends pods that opt out (the gate denies them)");
    }
    JsonNode annotated = webhooks.get(0);
    assertEquals("annotated-pods.migrate-gate.io", annotated.path("name").asText());
    assertEquals("NotIn [disabled]", gateLabel(annotated));
    assertTrue(
        elements(annotated.path("matchConditions")).stream()
            .anyMatch(
                c ->
                    c.path("expression")
                        .asText()
                        .contains("'migrate.io/job' in object.metadata.annotations")),
        "only pods that carry migrate.io/job are sent to the fail-closed entry");
    if (webhooks.size() > 1) {
      assertEquals(3, webhooks.size());
      assertEquals("workload-pods.migrate-gate.io", webhooks.get(1).path("name").asText());
      assertEquals("Ignore", webhooks.get(1).path("failurePolicy").asText());
      assertEquals("In [enabled]", gateLabel(webhooks.get(1)));
      assertEquals("workload-pods-enforced.migrate-gate.io", webhooks.get(2).path("name").asText());
      assertEquals("Fail", webhooks.get(2).path("failurePolicy").asText());
      assertEquals("In [enforced]", gateLabel(webhooks.get(2)));
    }
  }

  private static void assertDeploymentRules(Rendered rendered) {
    ObjectNode deployment = rendered.one("Deployment");
    JsonNode spec = deployment.path("spec");
    assertTrue(spec.path("replicas").asInt() >= 2, "two or more replicas");
    JsonNode pod = spec.path("template").path("spec");
    // A rollout keeps every replica serving; on the host network (no surge pod can take the
    // ports) it keeps all but one.
    assertEquals(
        pod.path("hostNetwork").asBoolean() ? 1 : 0,
        spec.path("strategy").path("rollingUpdate").path("maxUnavailable").asInt());
    JsonNode podSecurity = pod.path("securityContext");
    assertTrue(podSecurity.path("runAsNonRoot").asBoolean());
    // A fixed non-root UID, or none for the platform to assign (OpenShift mode).
    assertTrue(
        podSecurity.path("runAsUser").isMissingNode()
            || podSecurity.path("runAsUser").isInt() && podSecurity.path("runAsUser").asInt() > 0,
        "runAsUser: " + podSecurity.path("runAsUser"));
    assertEquals("RuntimeDefault", podSecurity.path("seccompProfile").path("type").asText());
    assertTrue(
        elements(pod.path("topologySpreadConstraints")).stream()
            .anyMatch(c -> c.path("topologyKey").asText().equals("kubernetes.io/hostname")),
        "replicas spread over nodes");

    JsonNode container = container(rendered);
    JsonNode security = container.path("securityContext");
    assertFalse(security.path("allowPrivilegeEscalation").asBoolean(true));
    assertTrue(security.path("readOnlyRootFilesystem").asBoolean());
    assertEquals(List.of("ALL"), texts(security.path("capabilities").path("drop")));
    for (String kind : List.of("requests", "limits")) {
      for (String resource : List.of("cpu", "memory")) {
        assertFalse(
            container.path("resources").path(kind).path(resource).asText().isEmpty(),
            kind + "." + resource);
      }
    }
    assertTrue(
        container.path("command").isMissingNode() && container.path("args").isMissingNode(),
        "the image's entrypoint holds the JVM options");

    Map<String, String> env = env(rendered);
    assertFalse(env.containsKey("JAVA_TOOL_OPTIONS"));
    assertFalse(env.getOrDefault("MIGRATE_GATE_WAITER_IMAGE", "").isEmpty(), "waiter image set");
    Map<String, Integer> ports = new LinkedHashMap<>();
    elements(container.path("ports"))
        .forEach(p -> ports.put(p.path("name").asText(), p.path("containerPort").asInt()));
    assertEquals(Integer.parseInt(env.get("MIGRATE_GATE_PORT")), ports.get("webhook"));
    assertEquals(Integer.parseInt(env.get("MIGRATE_GATE_PROBE_PORT")), ports.get("probes"));
    assertEquals("/readyz", container.path("readinessProbe").path("httpGet").path("path").asText());
    assertEquals("probes", container.path("readinessProbe").path("httpGet").path("port").asText());
    assertEquals("/livez", container.path("livenessProbe").path("httpGet").path("path").asText());
    assertEquals("probes", container.path("livenessProbe").path("httpGet").path("port").asText());

    Duration drain = duration(env.get("MIGRATE_GATE_DRAIN_DELAY"));
    Duration shutdown = duration(env.get("MIGRATE_GATE_SHUTDOWN_TIMEOUT"));
    long grace = pod.path("terminationGracePeriodSeconds").asLong();
    assertTrue(
        grace >= drain.plus(shutdown).toSeconds() + 5,
        "terminationGracePeriodSeconds " + grace + " covers drain " + drain + " + " + shutdown);

    JsonNode selector = spec.path("selector").path("matchLabels");
    rendered
        .all("PodDisruptionBudget")
        .forEach(
            pdb -> {
              assertEquals(1, pdb.path("spec").path("maxUnavailable").asInt());
              assertEquals(selector, pdb.path("spec").path("selector").path("matchLabels"));
            });
    rendered
        .all("Service")
        .forEach(
            service -> {
              assertEquals(selector, service.path("spec").path("selector"));
              assertEquals(
                  "webhook", service.path("spec").path("ports").get(0).path("targetPort").asText());
            });
    rendered
        .all("NetworkPolicy")
        .forEach(
            policy ->
                assertEquals(
                    selector, policy.path("spec").path("podSelector").path("matchLabels")));
  }

  /** The names in the gate's settings, its RBAC and the objects themselves are the same. */
  private static void assertNamesAgree(Rendered rendered) {
    ObjectNode webhooks = rendered.one("MutatingWebhookConfiguration");
    String serviceAccount = Rendered.name(rendered.one("ServiceAccount"));
    for (String kind : List.of("ClusterRoleBinding", "RoleBinding")) {
      for (ObjectNode binding : rendered.all(kind)) {
        JsonNode subject = binding.path("subjects").get(0);
        assertEquals(serviceAccount, subject.path("name").asText(), Rendered.key(binding));
        assertEquals(
            Rendered.namespace(rendered.one("ServiceAccount")), subject.path("namespace").asText());
        String roleKind = binding.path("roleRef").path("kind").asText();
        assertTrue(
            rendered.find(roleKind, binding.path("roleRef").path("name").asText()).isPresent(),
            Rendered.key(binding) + " refers to a role that is rendered");
      }
    }
    if (rendered.all("Deployment").isEmpty()) {
      return;
    }
    JsonNode pod = rendered.one("Deployment").path("spec").path("template").path("spec");
    assertEquals(serviceAccount, pod.path("serviceAccountName").asText());
    Map<String, String> env = podEnv(rendered);
    ObjectNode service = rendered.one("Service");
    int waitPort =
        Rendered.elements(service.path("spec").path("ports")).stream()
            .filter(p -> p.path("name").asText().equals("wait"))
            .findFirst()
            .orElseThrow()
            .path("port")
            .asInt();
    assertEquals(
        "https://"
            + Rendered.name(service)
            + "."
            + Rendered.namespace(service)
            + ".svc:"
            + waitPort,
        env.get("MIGRATE_GATE_WAIT_URL"),
        "waiters reach the wait API through the Service's wait port");
    for (JsonNode webhook : webhooks(rendered)) {
      JsonNode reference = webhook.path("clientConfig").path("service");
      assertEquals(Rendered.name(service), reference.path("name").asText(), "webhook → Service");
      assertEquals(Rendered.namespace(service), reference.path("namespace").asText());
      assertTrue(
          excludedNames(webhook).contains(Rendered.namespace(service)),
          webhook.path("name").asText() + " excludes the gate's namespace");
    }
    if ("self-managed".equals(env.get("MIGRATE_GATE_TLS_MODE"))) {
      String webhookName = Rendered.name(webhooks);
      assertEquals(webhookName, env.get("MIGRATE_GATE_WEBHOOK_CONFIGURATION"));
      assertEquals(
          List.of(webhookName),
          texts(
              ruleFor(rendered, "ClusterRole", "mutatingwebhookconfigurations", "patch")
                  .path("resourceNames")));
      String caSecret = env.get("MIGRATE_GATE_TLS_CA_SECRET");
      assertTrue(rendered.find("Secret", caSecret).isPresent(), "the CA Secret is pre-created");
      assertEquals(
          List.of(caSecret),
          texts(ruleFor(rendered, "Role", "secrets", "watch").path("resourceNames")));
      assertEquals(Rendered.name(service), env.get("MIGRATE_GATE_TLS_SERVICE"));
      ObjectNode policy = caBundleOnly(rendered, "ValidatingAdmissionPolicy");
      assertEquals(
          List.of(webhookName),
          texts(
              policy
                  .path("spec")
                  .path("matchConstraints")
                  .path("resourceRules")
                  .get(0)
                  .path("resourceNames")),
          "the CA-bundle-only policy covers the gate's webhook configuration");
      assertEquals("ServiceAccount", policy.path("spec").path("paramKind").path("kind").asText());
      ObjectNode binding = caBundleOnly(rendered, "ValidatingAdmissionPolicyBinding");
      assertEquals(Rendered.name(policy), binding.path("spec").path("policyName").asText());
      JsonNode identity = binding.path("spec").path("paramRef");
      assertEquals(serviceAccount, identity.path("name").asText(), "the policy's gate identity");
      assertEquals(
          Rendered.namespace(rendered.one("ServiceAccount")), identity.path("namespace").asText());
    }
  }

  /** The CA-bundle-only policy or its binding (the other policy only warns). */
  private static ObjectNode caBundleOnly(Rendered rendered, String kind) {
    return rendered.all(kind).stream()
        .filter(o -> Rendered.name(o).contains("-cabundle-only"))
        .findFirst()
        .orElseThrow(() -> new AssertionError(rendered + " has no CA-bundle-only " + kind));
  }

  /** The one rule of a role of that kind that grants that verb on those resources. */
  private static JsonNode ruleFor(Rendered rendered, String kind, String resource, String verb) {
    List<JsonNode> rules =
        rendered.all(kind).stream()
            .flatMap(role -> elements(role.path("rules")).stream())
            .filter(rule -> texts(rule.path("resources")).contains(resource))
            .filter(rule -> texts(rule.path("verbs")).contains(verb))
            .toList();
    assertEquals(1, rules.size(), kind + " rules to " + verb + " " + resource + ": " + rules);
    return rules.get(0);
  }

  /**
   * Everything that names an object of the installation or its namespace, outside labels: after a
   * relocation none of these may still say what the default installation says.
   */
  private static void assertNothingNamesTheDefaultInstallation(
      Rendered relocated, Rendered defaults) {
    Set<String> oldNames = new TreeSet<>();
    for (ObjectNode object : defaults.objects) {
      oldNames.add(Rendered.name(object));
    }
    List<String> left = new ArrayList<>();
    for (ObjectNode object : relocated.objects) {
      collectDefaultNames(Rendered.key(object), object, oldNames, left);
    }
    assertEquals(List.of(), left, relocated.source + " still names the default installation");
  }

  private static void collectDefaultNames(
      String path, JsonNode node, Set<String> oldNames, List<String> left) {
    if (node.isObject()) {
      node.fields()
          .forEachRemaining(
              field -> {
                // Labels and label selectors say what the objects are, not where; a CA's
                // common name is a display name; a secretName is a Secret cert-manager creates in
                // the (relocated) namespace, not a rendered object.
                if (!field.getKey().equals("labels")
                    && !field.getKey().startsWith("app.kubernetes.io/")
                    && !field.getKey().equals("commonName")
                    && !field.getKey().equals("secretName")) {
                  collectDefaultNames(
                      path + "/" + field.getKey(), field.getValue(), oldNames, left);
                }
              });
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        collectDefaultNames(path + "/" + i, node.get(i), oldNames, left);
      }
    } else if (node.isTextual()) {
      String text = node.asText();
      if (oldNames.contains(text)
          || text.contains("migrate-gate.migrate-gate")
          || text.contains(":migrate-gate:")
          || text.startsWith("migrate-gate/")) {
        left.add(path + "=" + text);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** The objects of both renderings agree one by one, except for Helm's release labels. */
  static void assertSameObjects(Rendered kustomize, Rendered helm) {
    assertEquals(
        kustomize.keys(), helm.keys(), "same kinds and names: " + kustomize + " / " + helm);
    List<org.junit.jupiter.api.function.Executable> checks = new ArrayList<>();
    for (ObjectNode object : kustomize.objects) {
      ObjectNode twin = helm.find(Rendered.kind(object), Rendered.name(object)).orElseThrow();
      checks.add(
          () ->
              assertEquals(
                  Rendered.YAML.writeValueAsString(withoutHelmLabels(object)),
                  Rendered.YAML.writeValueAsString(withoutHelmLabels(twin)),
                  Rendered.key(object) + " differs between " + kustomize + " and " + helm));
    }
    assertAll(checks);
  }

  private static JsonNode withoutHelmLabels(ObjectNode object) {
    ObjectNode copy = object.deepCopy();
    strip(copy);
    return sorted(copy);
  }

  private static void strip(JsonNode node) {
    if (node instanceof ObjectNode object) {
      HELM_ONLY_LABELS.forEach(object::remove);
      object.elements().forEachRemaining(RenderTest::strip);
    } else if (node.isArray()) {
      node.elements().forEachRemaining(RenderTest::strip);
    }
  }

  /** Object keys in sorted order, so that the YAML texts compare field by field. */
  private static JsonNode sorted(JsonNode node) {
    if (node instanceof ObjectNode object) {
      ObjectNode result = object.objectNode();
      List<String> names = new ArrayList<>();
      object.fieldNames().forEachRemaining(names::add);
      names.stream().sorted().forEach(n -> result.set(n, sorted(object.get(n))));
      return result;
    }
    if (node.isArray()) {
      var result = Rendered.YAML.createArrayNode();
      node.elements().forEachRemaining(e -> result.add(sorted(e)));
      return result;
    }
    return node;
  }

  // ---------------------------------------------------------------------------------------------

  static List<JsonNode> webhooks(Rendered rendered) {
    return elements(rendered.one("MutatingWebhookConfiguration").path("webhooks"));
  }

  static List<String> excludedNames(JsonNode webhook) {
    return elements(webhook.path("namespaceSelector").path("matchExpressions")).stream()
        .filter(e -> e.path("key").asText().equals("kubernetes.io/metadata.name"))
        .filter(e -> e.path("operator").asText().equals("NotIn"))
        .flatMap(e -> texts(e.path("values")).stream())
        .toList();
  }

  private static String gateLabel(JsonNode webhook) {
    return elements(webhook.path("namespaceSelector").path("matchExpressions")).stream()
        .filter(e -> e.path("key").asText().equals("migrate.io/gate"))
        .map(e -> e.path("operator").asText() + " " + texts(e.path("values")))
        .findFirst()
        .orElse("none");
  }

  static JsonNode container(Rendered rendered) {
    List<JsonNode> containers =
        elements(
            rendered
                .one("Deployment")
                .path("spec")
                .path("template")
                .path("spec")
                .path("containers"));
    assertEquals(1, containers.size());
    return containers.get(0);
  }

  static Map<String, String> env(Rendered rendered) {
    Map<String, String> env = new LinkedHashMap<>();
    for (JsonNode variable : elements(container(rendered).path("env"))) {
      env.put(
          variable.path("name").asText(),
          variable.has("value") ? variable.path("value").asText() : "<valueFrom>");
    }
    return env;
  }

  /**
   * The gate container's environment as the kubelet gives it to the process: the namespace from the
   * downward API, and {@code $(VAR)} references to variables defined before expanded.
   */
  static Map<String, String> podEnv(Rendered rendered) {
    Map<String, String> env = new LinkedHashMap<>();
    for (Map.Entry<String, String> variable : env(rendered).entrySet()) {
      String value = variable.getValue();
      if (variable.getKey().equals("MIGRATE_GATE_NAMESPACE")) {
        assertEquals("<valueFrom>", value, "the gate's namespace comes from the downward API");
        value = Rendered.namespace(rendered.one("Deployment"));
      }
      Matcher reference = VARIABLE_REFERENCE.matcher(value);
      StringBuilder expanded = new StringBuilder();
      while (reference.find()) {
        String defined = env.get(reference.group(1));
        reference.appendReplacement(
            expanded, Matcher.quoteReplacement(defined != null ? defined : reference.group()));
      }
      reference.appendTail(expanded);
      env.put(variable.getKey(), expanded.toString());
    }
    return env;
  }

  private static final Pattern VARIABLE_REFERENCE =
      Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)");

  private static JsonNode volume(Rendered rendered, String name) {
    return elements(
            rendered.one("Deployment").path("spec").path("template").path("spec").path("volumes"))
        .stream()
        .filter(v -> v.path("name").asText().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError(rendered + " has no volume " + name));
  }

  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");

  private static Duration duration(String text) {
    Matcher matcher = DURATION.matcher(text);
    assertTrue(matcher.matches(), "duration " + text);
    long amount = Long.parseLong(matcher.group(1));
    Function<Long, Duration> unit =
        switch (matcher.group(2)) {
          case "ms" -> Duration::ofMillis;
          case "s" -> Duration::ofSeconds;
          case "m" -> Duration::ofMinutes;
          default -> Duration::ofHours;
        };
    return unit.apply(amount);
  }
}
