package io.migrategate.demo;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatus;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.migrategate.core.JobVerdict;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The story the demo tells, in three releases of a {@code shop} Deployment annotated on its own
 * metadata (as app teams do), each checked against what must be observed:
 *
 * <ol>
 *   <li>v2: the pods are injected and held until the migration Job, created a few seconds later,
 *       has succeeded, then released;
 *   <li>v3: the migration fails: the new pod stops at Init:Error with {@code job shop/... failed:
 *       ...}, the v2 pods keep serving (maxUnavailable 0);
 *   <li>v4, Helm-style: the hook Job succeeds and is deleted before the Deployment changes; the new
 *       pods' migrate-wait passes at once on the gate's success ledger.
 * </ol>
 */
final class ShopScenario {
  static final String APP = "shop";
  static final String STATUS = "migrate.io/status";
  static final String JOB_ANNOTATION = "migrate.io/job";
  static final String VERSION_LABEL = "app.kubernetes.io/version";

  /** The init container the gate injects. */
  static final String WAITER = "migrate-wait";

  private static final Duration WAIT = Duration.ofSeconds(90);

  /** Pacing of the story (not synchronization): the Job shows up after the pods wait for it. */
  private static final Duration JOB_DELAY = Duration.ofSeconds(2);

  private final KubernetesClient client;
  private final DemoOptions options;
  private final LiveView view;
  private final Observer observer;
  private final String namespace;
  private final List<String> v2Pods = new ArrayList<>();

  /**
   * The command lines of kubectl and of the kubectl plugin (bin/kubectl-migrate_gate), each with
   * the cluster's kubeconfig, to show what they print; none on a cluster of KUBECONFIG.
   */
  record Cli(List<String> kubectl, List<String> migrateGateStatus) {}

  private final Optional<Cli> cli;

  ShopScenario(
      KubernetesClient client,
      DemoOptions options,
      LiveView view,
      Observer observer,
      Optional<Cli> cli) {
    this.client = client;
    this.options = options;
    this.view = view;
    this.observer = observer;
    this.namespace = options.namespace();
    this.cli = cli;
  }

  /** {@code shop-5d8f7c9b4-x2x8q (v2)}. */
  static String display(Pod pod) {
    String version =
        Optional.ofNullable(pod.getMetadata().getLabels())
            .map(l -> l.get(VERSION_LABEL))
            .orElse(null);
    return pod.getMetadata().getName() + (version == null ? "" : " (" + version + ")");
  }

  /** A pod the gate must answer for; created as a dry run to prove the webhook path works. */
  static Pod probePod() {
    return new PodBuilder()
        .withNewMetadata()
        .withName("migrate-gate-demo-probe")
        .addToAnnotations(JOB_ANNOTATION, "probe")
        .endMetadata()
        .withSpec(podSpec(DemoOptions.CLUSTER_IMAGE, "probe"))
        .build();
  }

  /**
   * A fresh demo namespace: opted in to workload-level annotations ({@code migrate.io/gate:
   * enabled}) and held to PodSecurity "restricted", which the injected waiter passes.
   */
  void createNamespace() {
    if (client.namespaces().withName(namespace).get() != null) {
      view.step("removing namespace " + namespace + " left by a previous run");
      client.namespaces().withName(namespace).delete();
      Waits.until(
          "namespace " + namespace + " to be deleted",
          Duration.ofSeconds(90),
          () -> client.namespaces().withName(namespace).get() == null,
          SetupException::new);
    }
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put("migrate.io/gate", "enabled");
    labels.put("pod-security.kubernetes.io/enforce", "restricted");
    client
        .namespaces()
        .resource(
            new NamespaceBuilder()
                .withNewMetadata()
                .withName(namespace)
                .withLabels(labels)
                .endMetadata()
                .build())
        .create();
    Waits.until(
        "ServiceAccount " + namespace + "/default",
        WAIT,
        () -> client.serviceAccounts().inNamespace(namespace).withName("default").get() != null,
        SetupException::new);
    view.ok(
        "namespace "
            + namespace
            + " (labels migrate.io/gate=enabled, pod-security.kubernetes.io/enforce=restricted)");
  }

  void run() {
    releaseV2();
    releaseV3Fails();
    releaseV4HelmStyle();
  }

  private void releaseV2() {
    view.heading("1. release v2: Deployment shop waits for its migration Job shop-migrate-v2");
    cli.ifPresent(this::warnAtApplyTime);
    view.step(
        "create Deployment shop (2 replicas, version v2) annotated migrate.io/job: shop-migrate-v2"
            + " on its metadata; the Job does not exist yet");
    client.apps().deployments().inNamespace(namespace).resource(deployment("v2")).create();
    List<Pod> held = awaitHeldPods("v2", 2);
    held.forEach(pod -> v2Pods.add(pod.getMetadata().getName()));
    showStatusView("shop-migrate-v2", "not found");
    pace();
    view.step("create Job shop-migrate-v2 (runs 4 s)");
    createJob("v2", false, "4s", Map.of());
    awaitJob("shop-migrate-v2", JobVerdict.Phase.SUCCEEDED);
    for (String name : v2Pods) {
      Waits.until(
          "pod " + name + " to be released (Ready) after shop-migrate-v2 succeeded",
          WAIT,
          // The observer's Job and pod watches are separate streams: wait for both sightings.
          () ->
              observer.firstReady(name).isPresent()
                  && observer.jobSucceeded("shop-migrate-v2").isPresent(),
          ExpectationFailed::new);
      long released = observer.firstReady(name).orElseThrow();
      long succeeded = observer.jobSucceeded("shop-migrate-v2").orElseThrow();
      if (released < succeeded) {
        throw new ExpectationFailed(
            "pod " + name + " became Ready before Job shop-migrate-v2 succeeded: not gated");
      }
    }
    summary();
    view.ok(
        "v2: both pods were held by migrate-wait while shop-migrate-v2 was missing and running,"
            + " and released once it succeeded");
  }

  private void releaseV3Fails() {
    view.heading("2. release v3: its migration Job shop-migrate-v3 fails");
    view.step(
        "update Deployment shop to version v3, annotation migrate.io/job: shop-migrate-v3"
            + " (rolling update: maxSurge 1, maxUnavailable 0)");
    updateDeployment("v3");
    List<Pod> held = awaitHeldPods("v3", 1);
    String v3Pod = held.get(0).getMetadata().getName();
    pace();
    view.step("create Job shop-migrate-v3 (backoffLimit 0; its pod fails after 2 s)");
    createJob("v3", true, "2s", Map.of());
    awaitJob("shop-migrate-v3", JobVerdict.Phase.FAILED);
    String expected = "job " + namespace + "/shop-migrate-v3 failed";
    Waits.until(
        "pod " + v3Pod + " to show migrate-wait terminated with '" + expected + ": ...'",
        WAIT,
        () -> {
          Pod pod = client.pods().inNamespace(namespace).withName(v3Pod).get();
          return pod != null
              && terminated(pod)
                  .filter(t -> t.getExitCode() != null && t.getExitCode() == 2)
                  .map(t -> Optional.ofNullable(t.getMessage()).orElse("").startsWith(expected))
                  .orElse(false);
        },
        ExpectationFailed::new);
    for (String name : v2Pods) {
      Pod pod = client.pods().inNamespace(namespace).withName(name).get();
      if (pod == null
          || pod.getMetadata().getDeletionTimestamp() != null
          || !Observer.isReady(pod)) {
        throw new ExpectationFailed(
            "v2 pod " + name + " stopped serving while the v3 migration failed");
      }
    }
    long v3Pods = pods(p -> "v3".equals(version(p))).size();
    if (v3Pods != 1) {
      throw new ExpectationFailed(
          "expected exactly 1 v3 pod (maxSurge 1, the first never gets ready), found " + v3Pods);
    }
    summary();
    showStatusView("shop-migrate-v3", "failed");
    Pod failed = client.pods().inNamespace(namespace).withName(v3Pod).get();
    view.ok(
        "v3: pod "
            + v3Pod
            + " stops at Init:Error: \""
            + terminated(failed).map(ContainerStateTerminated::getMessage).orElse("").strip()
            + "\"; the v2 pods keep serving, the rollout waits");
    view.info(
        "    (kubectl -n "
            + namespace
            + " describe pod "
            + v3Pod
            + " shows the same message under migrate-wait: Last State / State: Terminated)");
  }

  private void releaseV4HelmStyle() {
    view.heading(
        "3. release v4, Helm-style: the hook Job succeeds and is deleted before the rollout");
    view.step(
        "pre-upgrade hook: create Job shop-migrate-v4 (helm.sh/hook-delete-policy: hook-succeeded)");
    createJob(
        "v4",
        false,
        "1s",
        Map.of(
            "helm.sh/hook", "pre-upgrade",
            "helm.sh/hook-delete-policy", "hook-succeeded"));
    awaitJob("shop-migrate-v4", JobVerdict.Phase.SUCCEEDED);
    view.step("hook succeeded: delete Job shop-migrate-v4, as Helm does");
    client
        .batch()
        .v1()
        .jobs()
        .inNamespace(namespace)
        .withName("shop-migrate-v4")
        .withPropagationPolicy(io.fabric8.kubernetes.api.model.DeletionPropagation.BACKGROUND)
        .delete();
    Waits.until(
        "Job shop-migrate-v4 to be gone",
        WAIT,
        () ->
            client.batch().v1().jobs().inNamespace(namespace).withName("shop-migrate-v4").get()
                == null,
        ExpectationFailed::new);
    view.step(
        "upgrade: update Deployment shop to version v4, annotation migrate.io/job:"
            + " shop-migrate-v4 (a Job that no longer exists)");
    updateDeployment("v4");
    Waits.until(
        "the rollout of v4 to complete (2 updated, ready pods; no v2 or v3 pods left)",
        WAIT,
        () -> {
          Deployment deployment =
              client.apps().deployments().inNamespace(namespace).withName(APP).get();
          DeploymentStatus status = deployment.getStatus();
          return status != null
              && Optional.ofNullable(status.getObservedGeneration()).orElse(0L)
                  >= deployment.getMetadata().getGeneration()
              && Integer.valueOf(2).equals(status.getUpdatedReplicas())
              && Integer.valueOf(2).equals(status.getReadyReplicas())
              && Integer.valueOf(2).equals(status.getReplicas())
              && pods(p -> !"v4".equals(version(p))).isEmpty();
        },
        ExpectationFailed::new);
    for (Pod pod : pods(p -> "v4".equals(version(p)))) {
      String status = Observer.annotation(pod, STATUS).orElse("(none)");
      String log =
          Observer.hasWaiter(pod)
              ? client
                  .pods()
                  .inNamespace(namespace)
                  .withName(pod.getMetadata().getName())
                  .inContainer(WAITER)
                  .getLog()
              : "";
      if (!"injected".equals(status) || !log.contains("recorded by the gate")) {
        throw new ExpectationFailed(
            "v4 pod "
                + pod.getMetadata().getName()
                + " should have passed migrate-wait on the gate's success ledger (migrate.io/status:"
                + " injected, its log saying 'recorded by the gate'), got migrate.io/status: "
                + status
                + (log.isEmpty() ? " and no migrate-wait log" : " and the log:\n" + log.strip()));
      }
    }
    summary();
    view.ok(
        "v4: shop-migrate-v4 is gone, but the gate remembered its success (its success ledger):"
            + " the v4 pods' migrate-wait passed at once on the gate's word, and the rollout"
            + " completed");
    view.info(
        "    (where the API server authenticates to the gate, --admission-client-ca, the gate"
            + " injects nothing at all: migrate.io/status: skipped: job-succeeded)");
  }

  /** Waits for {@code count} injected pods of a version that are scheduled and held. */
  private List<Pod> awaitHeldPods(String version, int count) {
    Predicate<Pod> held =
        pod ->
            version.equals(version(pod))
                && pod.getSpec().getNodeName() != null
                && Observer.hasWaiter(pod)
                && "injected".equals(Observer.annotation(pod, STATUS).orElse(""));
    Waits.until(
        count + " " + version + " pod(s) injected with migrate-wait and held",
        WAIT,
        () -> pods(held).size() >= count,
        ExpectationFailed::new);
    List<Pod> pods = pods(held);
    for (Pod pod : pods) {
      if (Observer.isReady(pod)) {
        throw new ExpectationFailed(
            "pod " + pod.getMetadata().getName() + " is Ready although its Job has not succeeded");
      }
    }
    return pods;
  }

  private void awaitJob(String name, JobVerdict.Phase phase) {
    Waits.until(
        "Job " + name + " to be " + phase.name().toLowerCase(java.util.Locale.ROOT),
        WAIT,
        () -> {
          Job job = client.batch().v1().jobs().inNamespace(namespace).withName(name).get();
          if (job == null) {
            return false;
          }
          JobVerdict verdict = Verdicts.of(job);
          if (verdict.phase().isTerminal() && verdict.phase() != phase) {
            throw new ExpectationFailed("Job " + name + " ended " + verdict.line());
          }
          return verdict.phase() == phase;
        },
        ExpectationFailed::new);
  }

  private void summary() {
    List<List<String>> rows = new ArrayList<>();
    rows.add(List.of("POD", "VERSION", "migrate.io/status", "STATE"));
    for (Pod pod : pods(p -> true)) {
      rows.add(
          List.of(
              pod.getMetadata().getName(),
              Optional.ofNullable(version(pod)).orElse("?"),
              Observer.annotation(pod, STATUS).orElse("(none)"),
              Observer.describe(pod)));
    }
    rows.add(List.of("", "", "", ""));
    rows.add(List.of("JOB", "", "", "STATE"));
    for (Job job : client.batch().v1().jobs().inNamespace(namespace).list().getItems()) {
      rows.add(List.of(job.getMetadata().getName(), "", "", Verdicts.of(job).line()));
    }
    view.table(rows);
  }

  private List<Pod> pods(Predicate<Pod> filter) {
    return client.pods().inNamespace(namespace).withLabel("app", APP).list().getItems().stream()
        .filter(pod -> pod.getMetadata().getDeletionTimestamp() == null)
        .filter(filter)
        .sorted(
            java.util.Comparator.comparing((Pod p) -> Optional.ofNullable(version(p)).orElse(""))
                .thenComparing(p -> p.getMetadata().getName()))
        .toList();
  }

  private static String version(Pod pod) {
    return Optional.ofNullable(pod.getMetadata().getLabels())
        .map(l -> l.get(VERSION_LABEL))
        .orElse(null);
  }

  /** migrate-wait's terminated state, now or as its last state (a kubelet restarts it). */
  private static Optional<ContainerStateTerminated> terminated(Pod pod) {
    return Observer.waiterStatus(pod)
        .flatMap(
            status -> {
              if (status.getState() != null && status.getState().getTerminated() != null) {
                return Optional.of(status.getState().getTerminated());
              }
              if (status.getLastState() != null && status.getLastState().getTerminated() != null) {
                return Optional.of(status.getLastState().getTerminated());
              }
              return Optional.empty();
            });
  }

  /**
   * The mistake a new user makes first, caught by the API server at apply time: the same Deployment
   * in a namespace that does not opt in to workload annotations (the shipped
   * ValidatingAdmissionPolicy migrate-gate-annotation-warnings; a dry run, nothing is created).
   */
  /**
   * {@code kubectl migrate-gate status -n <namespace>}, printed as it answers; every held pod must
   * be listed against {@code job} with a verdict starting with {@code verdict}.
   */
  private void showStatusView(String job, String verdict) {
    if (cli.isEmpty()) {
      return;
    }
    view.step("kubectl migrate-gate status -n " + namespace + " (the kubectl plugin) prints:");
    List<String> command = new ArrayList<>(cli.get().migrateGateStatus());
    command.addAll(List.of("-n", namespace));
    Commands.Result result = Commands.run(command, Duration.ofSeconds(60));
    result.requireSuccess("kubectl migrate-gate status");
    List<String> lines = result.stdout().lines().toList();
    lines.forEach(line -> view.note("  " + line));
    boolean listed =
        lines.stream()
            .anyMatch(l -> l.matches(".*\\sinjected\\s.*\\s" + job + "\\s+" + verdict + ".*"));
    if (!listed) {
      throw new ExpectationFailed(
          "kubectl migrate-gate status lists no injected pod waiting on "
              + job
              + " ("
              + verdict
              + "):\n"
              + result.stdout());
    }
  }

  private void warnAtApplyTime(Cli cli) {
    view.step(
        "a new user's mistake, caught at apply time: the same Deployment in namespace default (not"
            + " labelled migrate.io/gate); kubectl create --dry-run=server prints:");
    List<String> command = new ArrayList<>(cli.kubectl());
    command.addAll(List.of("create", "--dry-run=server", "-n", "default", "-f", "-"));
    String yaml = client.getKubernetesSerialization().asYaml(deployment("v2"));
    Commands.Result result = Commands.run(command, yaml, Duration.ofSeconds(30));
    result.requireSuccess("kubectl create --dry-run=server of Deployment shop");
    List<String> warnings = result.stderr().lines().filter(l -> l.startsWith("Warning: ")).toList();
    warnings.forEach(w -> view.note("  " + w));
    String expected =
        "migrate.io/job on Deployment default/shop (metadata.annotations) has no effect";
    if (warnings.stream().noneMatch(w -> w.contains(expected))) {
      throw new ExpectationFailed(
          "kubectl printed no warning '" + expected + "...': " + result.stderr().strip());
    }
    view.ok(
        "warned before anything ran: in namespace default the gate would not read the annotation"
            + " on the Deployment's own metadata; namespace "
            + namespace
            + " opts in (migrate.io/gate=enabled)");
  }

  private Deployment deployment(String version) {
    return new DeploymentBuilder()
        .withNewMetadata()
        .withName(APP)
        .addToAnnotations(JOB_ANNOTATION, "shop-migrate-" + version)
        .endMetadata()
        .withNewSpec()
        .withReplicas(2)
        .withNewSelector()
        .addToMatchLabels("app", APP)
        .endSelector()
        .withNewStrategy()
        .withType("RollingUpdate")
        .withNewRollingUpdate()
        .withNewMaxSurge(1)
        .withNewMaxUnavailable(0)
        .endRollingUpdate()
        .endStrategy()
        .withNewTemplate()
        .withNewMetadata()
        .addToLabels("app", APP)
        .addToLabels(VERSION_LABEL, version)
        .endMetadata()
        .withSpec(podSpec(options.appImage(), version))
        .endTemplate()
        .endSpec()
        .build();
  }

  /**
   * A release: the Deployment's annotation and its pod template, as one merge patch without a
   * resourceVersion (the Deployment controller keeps updating the object's status meanwhile).
   */
  private void updateDeployment(String version) {
    Deployment next = deployment(version);
    String patch =
        "{\"metadata\":{\"annotations\":{\""
            + JOB_ANNOTATION
            + "\":\"shop-migrate-"
            + version
            + "\"}},\"spec\":{\"template\":"
            + client.getKubernetesSerialization().asJson(next.getSpec().getTemplate())
            + "}}";
    client
        .apps()
        .deployments()
        .inNamespace(namespace)
        .withName(APP)
        .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
  }

  private void createJob(
      String version, boolean fails, String runDuration, Map<String, String> annotations) {
    long seconds = Long.parseLong(runDuration.replace("s", ""));
    String script =
        fails
            ? "echo migrating shop to "
                + version
                + "; sleep "
                + seconds
                + "; echo 'ERROR: column orders.total already exists' >&2; exit 1"
            : "echo migrating shop to " + version + "; sleep " + seconds + "; echo done";
    Container container =
        new ContainerBuilder()
            .withName("migrate")
            .withImage(options.jobImage())
            .withCommand("sh", "-c", script)
            .withNewSecurityContext()
            .withAllowPrivilegeEscalation(false)
            .withNewCapabilities()
            .withDrop("ALL")
            .endCapabilities()
            .endSecurityContext()
            .build();
    PodSpec spec = podSpec(options.jobImage(), version);
    spec.setContainers(List.of(container));
    spec.setVolumes(List.of());
    spec.setRestartPolicy("Never");
    Job job =
        new JobBuilder()
            .withNewMetadata()
            .withName("shop-migrate-" + version)
            .withAnnotations(annotations)
            .endMetadata()
            .withNewSpec()
            .withBackoffLimit(0)
            .withNewTemplate()
            .withNewMetadata()
            .addToLabels("job-for", APP)
            .endMetadata()
            .withSpec(spec)
            .endTemplate()
            .endSpec()
            .build();
    client.batch().v1().jobs().inNamespace(namespace).resource(job).create();
  }

  /**
   * The shop: a shell's {@code httpd} serving its version on port 8080, Ready when it answers; what
   * PodSecurity "restricted" admits (non-root, no capabilities, RuntimeDefault seccomp).
   */
  static PodSpec podSpec(String image, String version) {
    return new PodSpecBuilder()
        .withAutomountServiceAccountToken(false)
        .withEnableServiceLinks(false)
        .withTerminationGracePeriodSeconds(1L)
        .withNewSecurityContext()
        .withRunAsNonRoot(true)
        .withRunAsUser(65532L)
        .withRunAsGroup(65532L)
        .withNewSeccompProfile()
        .withType("RuntimeDefault")
        .endSeccompProfile()
        .endSecurityContext()
        .withContainers(
            new ContainerBuilder()
                .withName("shop")
                .withImage(image)
                .withCommand(
                    "sh",
                    "-c",
                    "echo \"shop $SHOP_VERSION\" > /www/index.html && exec httpd -f -p 8080 -h /www")
                .addNewEnv()
                .withName("SHOP_VERSION")
                .withValue(version)
                .endEnv()
                .addNewPort()
                .withContainerPort(8080)
                .endPort()
                .withNewReadinessProbe()
                .withNewHttpGet()
                .withPath("/")
                .withNewPort(8080)
                .endHttpGet()
                .withPeriodSeconds(1)
                .endReadinessProbe()
                .addNewVolumeMount()
                .withName("www")
                .withMountPath("/www")
                .endVolumeMount()
                .withNewSecurityContext()
                .withAllowPrivilegeEscalation(false)
                .withReadOnlyRootFilesystem(true)
                .withNewCapabilities()
                .withDrop("ALL")
                .endCapabilities()
                .endSecurityContext()
                .build())
        .addNewVolume()
        .withName("www")
        .withNewEmptyDir()
        .endEmptyDir()
        .endVolume()
        .build();
  }

  private static void pace() {
    try {
      TimeUnit.MILLISECONDS.sleep(JOB_DELAY.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ExpectationFailed("interrupted");
    }
  }
}
