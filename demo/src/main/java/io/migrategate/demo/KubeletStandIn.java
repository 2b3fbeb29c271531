package io.migrategate.demo;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.DownwardAPIVolumeFile;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceAccountTokenProjection;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.fabric8.kubernetes.api.model.authentication.TokenRequest;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Stands in for the kubelet, which the local control plane does not have: for every pod the gate
 * injected, runs its {@code migrate-wait} init container's program (the waiter jar) as a local
 * process with the container's environment, after resolving what the container refers to inside a
 * pod (its projected token, the termination log path), then records the exit code and the
 * termination message on the pod, from which kwok plays the rest of the pod's life.
 */
final class KubeletStandIn implements AutoCloseable {
  static final String EXIT_CODE_ANNOTATION = "local-cluster.migrate-gate.io/init-exit-code";
  static final String MESSAGE_ANNOTATION = "local-cluster.migrate-gate.io/init-message";
  static final String WAITER_CONTAINER = "migrate-wait";

  /** Gate mode: where the waiter looks for its token unless told otherwise. */
  private static final String GATE_TOKEN_DIR = "/var/run/secrets/migrate-gate";

  /** Direct mode: where in-cluster clients look for token, ca.crt and namespace. */
  private static final String SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

  /** What one waiter did. */
  record Outcome(String pod, int exitCode, String message) {}

  private final KubernetesClient admin;
  private final String namespace;
  private final Project project;
  private final Path workDir;
  private final LiveView view;
  private final Set<String> started = ConcurrentHashMap.newKeySet();
  private final Map<String, Process> running = new ConcurrentHashMap<>();
  private final Map<String, Outcome> outcomes = new ConcurrentHashMap<>();
  private final ExecutorService launcher =
      Executors.newCachedThreadPool(
          task -> {
            Thread thread = new Thread(task, "kubelet-stand-in");
            thread.setDaemon(true);
            return thread;
          });
  private SharedIndexInformer<Pod> informer;
  private volatile boolean closed;

  KubeletStandIn(
      KubernetesClient admin, String namespace, Project project, Path workDir, LiveView view) {
    this.admin = admin;
    this.namespace = namespace;
    this.project = project;
    this.workDir = workDir;
    this.view = view;
  }

  void start() {
    informer =
        admin
            .pods()
            .inNamespace(namespace)
            .inform(
                new ResourceEventHandler<>() {
                  @Override
                  public void onAdd(Pod pod) {
                    consider(pod);
                  }

                  @Override
                  public void onUpdate(Pod old, Pod pod) {
                    consider(pod);
                  }

                  @Override
                  public void onDelete(Pod pod, boolean unknownFinalState) {
                    Process process = running.remove(pod.getMetadata().getUid());
                    if (process != null) {
                      process.destroyForcibly();
                      view.line(
                          LiveView.Kind.WAITER,
                          ShopScenario.display(pod),
                          "pod deleted: local migrate-wait process stopped");
                    }
                  }
                });
  }

  /** The waiters that finished, by pod name. */
  Map<String, Outcome> outcomes() {
    return Map.copyOf(outcomes);
  }

  @Override
  public void close() {
    closed = true;
    if (informer != null) {
      informer.close();
    }
    running.values().forEach(Process::destroyForcibly);
    launcher.shutdownNow();
  }

  private void consider(Pod pod) {
    Map<String, String> annotations =
        Optional.ofNullable(pod.getMetadata().getAnnotations()).orElse(Map.of());
    boolean injected = "injected".equals(annotations.get(ShopScenario.STATUS));
    boolean scheduled = pod.getSpec().getNodeName() != null;
    boolean outcomeRecorded = annotations.containsKey(EXIT_CODE_ANNOTATION);
    if (closed
        || !injected
        || !scheduled
        || outcomeRecorded
        || pod.getMetadata().getDeletionTimestamp() != null) {
      return;
    }
    if (started.add(pod.getMetadata().getUid())) {
      launcher.execute(() -> runWaiter(pod));
    }
  }

  private void runWaiter(Pod pod) {
    String who = ShopScenario.display(pod);
    try {
      Container container =
          pod.getSpec().getInitContainers().stream()
              .filter(c -> WAITER_CONTAINER.equals(c.getName()))
              .findFirst()
              .orElseThrow(
                  () ->
                      new IllegalStateException(
                          "annotated injected but has no " + WAITER_CONTAINER + " init container"));
      Path podDir = workDir.resolve(pod.getMetadata().getName());
      Files.createDirectories(podDir);
      Map<String, String> env = new LinkedHashMap<>();
      List<String> notes = new ArrayList<>();
      for (EnvVar var : Optional.ofNullable(container.getEnv()).orElse(List.of())) {
        env.put(var.getName(), envValue(pod, var));
      }
      Map<String, Path> mounts = mountVolumes(pod, container, podDir, notes);
      // Paths inside the container, as the waiter would find them there, mapped to this host.
      Path terminationLog = podDir.resolve("termination-log");
      Files.deleteIfExists(terminationLog);
      env.put("MIGRATE_GATE_TERMINATION_LOG", terminationLog.toString());
      if (env.containsKey("MIGRATE_GATE_URL")) {
        Path tokenDir = mounts.get(GATE_TOKEN_DIR);
        if (tokenDir != null && !env.containsKey("MIGRATE_GATE_TOKEN_FILE")) {
          env.put("MIGRATE_GATE_TOKEN_FILE", tokenDir.resolve("token").toString());
        }
      } else if (mounts.containsKey(SERVICE_ACCOUNT_DIR)) {
        env.put(
            "MIGRATE_GATE_KUBECONFIG",
            inClusterKubeconfig(mounts.get(SERVICE_ACCOUNT_DIR), podDir).toString());
      }
      view.line(
          LiveView.Kind.WAITER, who, "started as a local process: " + describeEnv(env, notes));
      Process process = startWaiter(container, env);
      running.put(pod.getMetadata().getUid(), process);
      String lastLine = "";
      try (BufferedReader lines =
          new BufferedReader(
              new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = lines.readLine()) != null) {
          if (!line.isBlank()) {
            lastLine = line;
            view.line(LiveView.Kind.WAITER, who, LogLine.waiterSummary(line));
          }
        }
      }
      int exitCode = process.waitFor();
      if (running.remove(pod.getMetadata().getUid()) == null || closed) {
        return; // stopped because the pod went away or the demo ended
      }
      String message =
          Files.isRegularFile(terminationLog) ? Files.readString(terminationLog).strip() : "";
      if (exitCode != 0 && message.isEmpty()) {
        // terminationMessagePolicy FallbackToLogsOnError, as the kubelet would do it
        message = LogLine.waiterSummary(lastLine);
      }
      outcomes.put(
          pod.getMetadata().getName(), new Outcome(pod.getMetadata().getName(), exitCode, message));
      view.line(
          exitCode == 0 ? LiveView.Kind.WAITER : LiveView.Kind.FAIL,
          who,
          "migrate-wait exited "
              + exitCode
              + (message.isEmpty() ? "" : ", termination message: " + message)
              + "; recorded on the pod");
      record(pod, exitCode, message);
    } catch (IOException | RuntimeException e) {
      if (!closed) {
        view.line(LiveView.Kind.FAIL, who, "could not run migrate-wait locally: " + e.getMessage());
        outcomes.put(
            pod.getMetadata().getName(),
            new Outcome(pod.getMetadata().getName(), -1, e.toString()));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private Process startWaiter(Container container, Map<String, String> podEnv) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(HostGate.javaBin());
    command.add("@" + project.waiterJvmOptions());
    if (Files.isRegularFile(project.waiterCdsArchive())) {
      command.add("-XX:SharedArchiveFile=" + project.waiterCdsArchive());
    }
    command.add("-jar");
    command.add(project.waiterJar().toString());
    command.addAll(Optional.ofNullable(container.getArgs()).orElse(List.of()));
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    // Only the container's environment, like in a pod: nothing of this shell (no KUBECONFIG).
    Map<String, String> env = builder.environment();
    String path = env.get("PATH");
    env.clear();
    if (path != null) {
      env.put("PATH", path);
    }
    env.putAll(podEnv);
    return builder.start();
  }

  /** The value of an env entry as the kubelet would give it (the gate sets plain values). */
  private static String envValue(Pod pod, EnvVar var) {
    if (var.getValue() != null || var.getValueFrom() == null) {
      return Optional.ofNullable(var.getValue()).orElse("");
    }
    if (var.getValueFrom().getFieldRef() != null) {
      return switch (var.getValueFrom().getFieldRef().getFieldPath()) {
        case "metadata.name" -> pod.getMetadata().getName();
        case "metadata.namespace" -> pod.getMetadata().getNamespace();
        case "metadata.uid" -> pod.getMetadata().getUid();
        case "spec.serviceAccountName" -> pod.getSpec().getServiceAccountName();
        case "spec.nodeName" -> pod.getSpec().getNodeName();
        default -> "";
      };
    }
    return "";
  }

  /**
   * Writes the container's projected volumes to a folder per mount: ServiceAccount tokens from a
   * TokenRequest with the audience and lifetime the volume asks for, bound to the pod (what the
   * kubelet does), ConfigMap items and the Downward API namespace.
   */
  private Map<String, Path> mountVolumes(
      Pod pod, Container container, Path podDir, List<String> notes) throws IOException {
    Map<String, Path> mounts = new LinkedHashMap<>();
    for (VolumeMount mount : Optional.ofNullable(container.getVolumeMounts()).orElse(List.of())) {
      Optional<Volume> volume =
          pod.getSpec().getVolumes().stream()
              .filter(v -> v.getName().equals(mount.getName()))
              .findFirst();
      if (volume.isEmpty() || volume.get().getProjected() == null) {
        notes.add("volume " + mount.getName() + " not provided");
        continue;
      }
      Path dir = podDir.resolve("volumes").resolve(mount.getName());
      Files.createDirectories(dir);
      for (VolumeProjection source : volume.get().getProjected().getSources()) {
        if (source.getServiceAccountToken() != null) {
          ServiceAccountTokenProjection projection = source.getServiceAccountToken();
          String token = token(pod, projection);
          HostGate.writePrivate(dir.resolve(projection.getPath()), token);
          notes.add(
              "token from a TokenRequest for ServiceAccount "
                  + pod.getMetadata().getNamespace()
                  + "/"
                  + serviceAccount(pod)
                  + (projection.getAudience() != null
                      ? " (audience " + projection.getAudience() + ", bound to the pod)"
                      : " (bound to the pod)"));
        } else if (source.getConfigMap() != null) {
          ConfigMap configMap =
              admin
                  .configMaps()
                  .inNamespace(pod.getMetadata().getNamespace())
                  .withName(source.getConfigMap().getName())
                  .get();
          for (KeyToPath item :
              Optional.ofNullable(source.getConfigMap().getItems()).orElse(List.of())) {
            String value = configMap == null ? null : configMap.getData().get(item.getKey());
            if (value != null) {
              Files.writeString(dir.resolve(item.getPath()), value);
            }
          }
        } else if (source.getDownwardAPI() != null) {
          for (DownwardAPIVolumeFile item : source.getDownwardAPI().getItems()) {
            if (item.getFieldRef() != null
                && "metadata.namespace".equals(item.getFieldRef().getFieldPath())) {
              Files.writeString(dir.resolve(item.getPath()), pod.getMetadata().getNamespace());
            }
          }
        }
      }
      mounts.put(mount.getMountPath(), dir);
    }
    return mounts;
  }

  private String token(Pod pod, ServiceAccountTokenProjection projection) {
    TokenRequestBuilder request =
        new TokenRequestBuilder()
            .withNewSpec()
            .withExpirationSeconds(
                Optional.ofNullable(projection.getExpirationSeconds()).orElse(3600L))
            .withNewBoundObjectRef()
            .withApiVersion("v1")
            .withKind("Pod")
            .withName(pod.getMetadata().getName())
            .withUid(pod.getMetadata().getUid())
            .endBoundObjectRef()
            .endSpec();
    if (projection.getAudience() != null && !projection.getAudience().isEmpty()) {
      request.editSpec().withAudiences(projection.getAudience()).endSpec();
    }
    TokenRequest answer =
        admin
            .serviceAccounts()
            .inNamespace(pod.getMetadata().getNamespace())
            .withName(serviceAccount(pod))
            .tokenRequest(request.build());
    return answer.getStatus().getToken();
  }

  private static String serviceAccount(Pod pod) {
    return Optional.ofNullable(pod.getSpec().getServiceAccountName()).orElse("default");
  }

  /** Direct mode: what an in-cluster client would read, as a kubeconfig the waiter accepts. */
  private Path inClusterKubeconfig(Path serviceAccountDir, Path podDir) {
    String server = admin.getConfiguration().getMasterUrl().replaceAll("/$", "");
    String kubeconfig =
        String.join(
            "\n",
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            "- name: in-cluster",
            "  cluster:",
            "    server: " + server,
            "    certificate-authority: " + serviceAccountDir.resolve("ca.crt"),
            "users:",
            "- name: pod",
            "  user:",
            "    tokenFile: " + serviceAccountDir.resolve("token"),
            "contexts:",
            "- name: pod",
            "  context: {cluster: in-cluster, user: pod}",
            "current-context: pod",
            "");
    Path file = podDir.resolve("in-cluster.kubeconfig");
    try {
      Files.writeString(file, kubeconfig);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  private void record(Pod pod, int exitCode, String message) {
    Map<String, String> annotations = new LinkedHashMap<>();
    annotations.put(EXIT_CODE_ANNOTATION, Integer.toString(exitCode));
    if (exitCode != 0) {
      annotations.put(MESSAGE_ANNOTATION, message);
    }
    Pod patch = new Pod();
    patch.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMeta());
    patch.getMetadata().setAnnotations(annotations);
    try {
      admin
          .pods()
          .inNamespace(pod.getMetadata().getNamespace())
          .withName(pod.getMetadata().getName())
          .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
    } catch (KubernetesClientException e) {
      if (e.getCode() != 404) {
        throw e;
      }
    }
  }

  /** The environment the waiter got, short: names and plain values, PEMs and paths abbreviated. */
  private static String describeEnv(Map<String, String> env, List<String> notes) {
    StringBuilder text = new StringBuilder("env");
    env.forEach(
        (name, value) -> {
          if (name.equals("MIGRATE_GATE_TERMINATION_LOG")
              || name.equals("MIGRATE_GATE_TOKEN_FILE")
              || name.equals("MIGRATE_GATE_KUBECONFIG")) {
            return;
          }
          String shown = value.contains("-----BEGIN") ? "<CA PEM>" : value;
          text.append(' ').append(name).append('=').append(shown);
        });
    for (String note : notes) {
      text.append("; ").append(note);
    }
    return text.toString();
  }
}
