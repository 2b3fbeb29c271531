package io.migrategate.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.ExecWatch;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real node ({@code local-cluster/up --real-node}): pods really run from images loaded without
 * a registry, their logs, exec, termination messages, cluster DNS and Services work, and {@code
 * down --real-node} leaves the host as it found it, also after a failed start.
 *
 * <p>The first tests start and stop real-node clusters of their own (one per machine: fixed bridge
 * and ports), so they run first, before {@link LocalCluster#realNode()} starts the shared one, and
 * are skipped when a real-node cluster runs already (started outside this JVM).
 */
@LocalClusterTest(realNode = true)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RealNodeClusterTest {

  private static final Duration DEADLINE = Duration.ofSeconds(90);

  @TempDir Path temp;

  // --- tests with a real-node cluster of their own (they run first)
  // --------------------------------

  @Test
  @Order(1)
  void downLeavesTheHostAsItFoundIt() throws Exception {
    requireNoRunningRealNode();
    Path state = Path.of(Scripts.paths("--real-node").get("STATE_DIR"));
    HostSnapshot before = HostSnapshot.take(state);

    Scripts.Result up = Scripts.run(Map.of(), "up", "--real-node");
    try {
      assertEquals(0, up.exitCode(), up.output());
      try (KubernetesClient client = LocalCluster.newClient(Path.of(up.lastLine()))) {
        String ns = "host-restore";
        client
            .namespaces()
            .resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
            .create();
        LocalCluster.await(
            "default ServiceAccount in " + ns,
            DEADLINE,
            () -> client.serviceAccounts().inNamespace(ns).withName("default").get() != null);
        client.pods().inNamespace(ns).resource(httpdPod("web")).create();
        client.services().inNamespace(ns).resource(service("web")).create();
        LocalCluster.await("pod web Ready", DEADLINE, () -> ready(client, ns, "web"));
      }
    } finally {
      Scripts.Result down = Scripts.run(Map.of(), "down", "--real-node");
      assertEquals(0, down.exitCode(), down.output());
    }

    HostSnapshot after = HostSnapshot.take(state);
    assertEquals("", before.differencesTo(after), "the host differs after down --real-node");
  }

  @Test
  @Order(2)
  void imageArchiveThatDoesNotLoadFailsUpNamingItAndLeavesNothing() throws Exception {
    requireNoRunningRealNode();
    Path state = temp.resolve("node-state");
    Path broken = temp.resolve("broken-image.tar");
    Files.writeString(broken, "this is not an image archive\n");
    HostSnapshot before = HostSnapshot.take(state);

    Scripts.Result up =
        Scripts.run(
            Map.of(
                "MIGRATE_GATE_NODE_CLUSTER_DIR",
                state.toString(),
                "MIGRATE_GATE_NODE_IMAGES",
                broken.toString()),
            "up",
            "--real-node");

    assertNotEquals(0, up.exitCode());
    assertTrue(up.output().contains("the image archive " + broken + " does not load"), up.output());
    assertTrue(up.output().contains(state.resolve("logs/images.log").toString()), up.output());
    assertTrue(up.output().contains("fix: give a docker-save or OCI image archive"), up.output());
    assertTrue(up.output().contains("start-up failed; stopping what was started"), up.output());
    assertFalse(Files.exists(state), "the failed start removed its state folder");
    assertEquals("", before.differencesTo(HostSnapshot.take(state)), "nothing is left behind");
  }

  @Test
  @Order(3)
  void portHeldByAnotherProcessNamesTheComponentAndLeavesNothing() throws Exception {
    requireNoRunningRealNode();
    Path state = temp.resolve("node-state");
    HostSnapshot before = HostSnapshot.take(state);
    try (ServerSocket kubeletPort = new ServerSocket()) {
      kubeletPort.bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), 10250));
      Scripts.Result up =
          Scripts.run(
              Map.of("MIGRATE_GATE_NODE_CLUSTER_DIR", state.toString()), "up", "--real-node");

      assertNotEquals(0, up.exitCode());
      assertTrue(up.output().contains("error: kubelet cannot start"), up.output());
      assertTrue(up.output().contains(":10250 (users:"), "names the holder: " + up.output());
      assertTrue(up.output().contains("java"), "names the holding process: " + up.output());
      assertTrue(up.output().contains(state.resolve("logs/kubelet.log").toString()), up.output());
      assertTrue(up.output().contains("Fix: stop that process"), up.output());
    }
    assertFalse(Files.exists(state), "the failed start left no state folder");
    assertEquals("", before.differencesTo(HostSnapshot.take(state)), "nothing is left behind");
  }

  // --- tests on the shared real-node cluster
  // ------------------------------------------------------

  @Test
  @Order(10)
  void podFromTheBusyboxImageRunsAndItsLogsAndExecWork(LocalCluster cluster) throws Exception {
    KubernetesClient client = cluster.client();
    String ns = cluster.createNamespace("run", Map.of());
    Pod hello =
        pod(
                "hello",
                "echo hello from $(hostname) as $(id -u);"
                    + " echo memory limit $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes"
                    + " 2>/dev/null || cat /sys/fs/cgroup/memory.max);"
                    + " exec sleep 3600")
            .editSpec()
            .editFirstContainer()
            .withNewResources()
            .addToLimits("memory", new Quantity("64Mi"))
            .endResources()
            .endContainer()
            .endSpec()
            .build();
    client.pods().inNamespace(ns).resource(hello).create();

    LocalCluster.await("pod hello Running", DEADLINE, () -> ready(client, ns, "hello"));
    Pod pod = client.pods().inNamespace(ns).withName("hello").get();
    assertEquals(LocalCluster.NODE_NAME, pod.getSpec().getNodeName());
    assertTrue(pod.getStatus().getPodIP().startsWith("10.244.0."), pod.getStatus().getPodIP());
    LocalCluster.await(
        "the container's output in its log",
        DEADLINE,
        () ->
            client
                .pods()
                .inNamespace(ns)
                .withName("hello")
                .getLog()
                .contains("hello from hello as 0"));
    assertTrue(
        client
            .pods()
            .inNamespace(ns)
            .withName("hello")
            .getLog()
            .contains("memory limit " + 64 * 1024 * 1024),
        "the kubelet's kubepods cgroups (here cgroup v1, cgroupfs driver) apply the limit");

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ExecWatch exec =
        client
            .pods()
            .inNamespace(ns)
            .withName("hello")
            .writingOutput(out)
            .exec("sh", "-c", "cat /var/run/secrets/kubernetes.io/serviceaccount/namespace")) {
      assertEquals(0, exec.exitCode().get(30, TimeUnit.SECONDS));
    }
    assertEquals(
        ns, out.toString(StandardCharsets.UTF_8).strip(), "exec, with the SA token mounted");
  }

  @Test
  @Order(11)
  void failingInitContainerShowsInitErrorWithItsTerminationMessage(LocalCluster cluster) {
    KubernetesClient client = cluster.client();
    String ns = cluster.createNamespace("init", Map.of());
    Pod pod =
        pod("gated", "echo app started")
            .editSpec()
            .withRestartPolicy("Never")
            .addNewInitContainer()
            .withName("migrate-wait")
            .withImage(LocalCluster.BUSYBOX_IMAGE)
            .withImagePullPolicy("Never")
            .withCommand(
                "sh",
                "-c",
                "printf 'job shop/db failed: BackoffLimitExceeded' > /dev/termination-log; exit 3")
            .endInitContainer()
            .endSpec()
            .build();
    client.pods().inNamespace(ns).resource(pod).create();

    LocalCluster.await(
        "init container migrate-wait terminated",
        DEADLINE,
        () -> initTerminated(client.pods().inNamespace(ns).withName("gated").get()) != null);
    Pod failed = client.pods().inNamespace(ns).withName("gated").get();
    ContainerStateTerminated terminated = initTerminated(failed);
    assertEquals(3, terminated.getExitCode());
    assertEquals("Error", terminated.getReason(), "kubectl get pods shows Init:Error");
    assertEquals("job shop/db failed: BackoffLimitExceeded", terminated.getMessage());
    LocalCluster.await(
        "pod gated Failed",
        DEADLINE,
        () ->
            "Failed"
                .equals(
                    client.pods().inNamespace(ns).withName("gated").get().getStatus().getPhase()));
    ContainerStatus app =
        client
            .pods()
            .inNamespace(ns)
            .withName("gated")
            .get()
            .getStatus()
            .getContainerStatuses()
            .get(0);
    assertEquals(null, app.getState().getRunning(), "the app container never started");
  }

  @Test
  @Order(12)
  void podResolvesAServiceByNameAndReachesIt(LocalCluster cluster) {
    KubernetesClient client = cluster.client();
    String ns = cluster.createNamespace("dns", Map.of());
    client.pods().inNamespace(ns).resource(httpdPod("web")).create();
    client.services().inNamespace(ns).resource(service("web")).create();
    LocalCluster.await("pod web Ready", DEADLINE, () -> ready(client, ns, "web"));

    String fqdn = "web." + ns + ".svc.cluster.local";
    String script =
        "for url in http://"
            + fqdn
            + "/ http://web/; do ok=; for i in $(seq 60); do"
            + " if body=$(timeout 5 wget -q -O- $url); then echo \"$url: $body\"; ok=1; break; fi;"
            + " sleep 0.5; done; [ -n \"$ok\" ] || { echo \"$url: unreachable\"; nslookup "
            + fqdn
            + "; exit 1; }; done";
    client
        .pods()
        .inNamespace(ns)
        .resource(pod("client", script).editSpec().withRestartPolicy("Never").endSpec().build())
        .create();

    LocalCluster.await("pod client Succeeded", DEADLINE, () -> finished(client, ns, "client"));
    String log = client.pods().inNamespace(ns).withName("client").getLog();
    assertEquals("Succeeded", phase(client, ns, "client"), log);
    assertTrue(log.contains("http://" + fqdn + "/: hello from httpd"), log);
    assertTrue(log.contains("http://web/: hello from httpd"), "the short name too: " + log);
  }

  @Test
  @Order(13)
  void podReachesTheApiServerThroughTheKubernetesService(LocalCluster cluster) {
    KubernetesClient client = cluster.client();
    String ns = cluster.createNamespace("api", Map.of());
    // busybox has no usable TLS client: plain HTTP to the API server's TLS port gets Go's own
    // "400 Bad Request: Client sent an HTTP request to an HTTPS server", proof enough of the path.
    String script =
        "echo \"service env: $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT\";"
            + " for i in $(seq 60); do"
            + " out=$(timeout 5 wget -O- http://kubernetes.default.svc:443/ 2>&1);"
            + " case \"$out\" in *'HTTP/1.0 400'*) echo reached; exit 0;; esac; sleep 0.5; done;"
            + " echo \"$out\"; exit 1";
    client
        .pods()
        .inNamespace(ns)
        .resource(pod("api", script).editSpec().withRestartPolicy("Never").endSpec().build())
        .create();

    LocalCluster.await("pod api finished", DEADLINE, () -> finished(client, ns, "api"));
    String log = client.pods().inNamespace(ns).withName("api").getLog();
    assertEquals("Succeeded", phase(client, ns, "api"), log);
    assertTrue(log.contains("service env: 10.96.0.1:443"), log);
    assertTrue(log.contains("reached"), log);
    var endpoints = client.endpoints().inNamespace("default").withName("kubernetes").get();
    assertEquals(LocalCluster.NODE_IP, endpoints.getSubsets().get(0).getAddresses().get(0).getIp());
    assertEquals(6443, endpoints.getSubsets().get(0).getPorts().get(0).getPort());
  }

  @Test
  @Order(14)
  void loadedImagesRunIncludingJibStyleArchives(LocalCluster cluster) throws Exception {
    Path rootfs = Files.createDirectories(temp.resolve("rootfs/bin"));
    Files.copy(Path.of("/bin/busybox"), rootfs.resolve("busybox"));
    Path archive = temp.resolve("hello.tar");
    Scripts.Result written =
        Scripts.command(
            "python3",
            LocalCluster.scriptsDir().resolve("lib/image-writer.py").toString(),
            "--rootfs",
            temp.resolve("rootfs").toString(),
            "--name",
            "migrate-gate.local/hello:1",
            "--out",
            archive.toString(),
            "--entrypoint",
            "[\"/bin/busybox\", \"echo\", \"hello from a loaded image\"]");
    assertEquals(0, written.exitCode(), written.output());
    Path jib = temp.resolve("hello-jib.tar");
    Scripts.Result converted =
        Scripts.command(
            "python3",
            "-c",
            TO_JIB_LAYOUT,
            archive.toString(),
            jib.toString(),
            "migrate-gate.local/hello-jib:1");
    assertEquals(0, converted.exitCode(), converted.output());

    cluster.loadImages(archive, jib);

    KubernetesClient client = cluster.client();
    String ns = cluster.createNamespace("images", Map.of());
    for (String image : List.of("hello", "hello-jib")) {
      client
          .pods()
          .inNamespace(ns)
          .resource(
              new PodBuilder()
                  .withNewMetadata()
                  .withName(image)
                  .endMetadata()
                  .withNewSpec()
                  .withRestartPolicy("Never")
                  .addNewContainer()
                  .withName("main")
                  .withImage("migrate-gate.local/" + image + ":1")
                  .withImagePullPolicy("Never")
                  .endContainer()
                  .endSpec()
                  .build())
          .create();
    }
    for (String image : List.of("hello", "hello-jib")) {
      LocalCluster.await("pod " + image + " finished", DEADLINE, () -> finished(client, ns, image));
      assertEquals("Succeeded", phase(client, ns, image));
      assertEquals(
          "hello from a loaded image",
          client.pods().inNamespace(ns).withName(image).getLog().strip());
    }
  }

  @Test
  @Order(15)
  void imageArchiveThatDoesNotLoadIsNamedWithTheFix(LocalCluster cluster) throws IOException {
    Path broken = temp.resolve("truncated.tar");
    Files.write(broken, new byte[] {0x1f, (byte) 0x8b, 0, 0});

    IllegalStateException failure =
        assertThrows(IllegalStateException.class, () -> cluster.loadImages(broken));
    String message = failure.getMessage();
    assertTrue(message.contains("the image archive " + broken + " does not load"), message);
    assertTrue(message.contains(cluster.logFile("images").toString()), message);
    assertTrue(message.contains("fix: give a docker-save or OCI image archive"), message);
    Scripts.Result status = Scripts.run(Map.of(), "status", "--real-node");
    assertEquals(0, status.exitCode(), "the node is still healthy: " + status.output());
  }

  // --- helpers -----------------------------------------------------------------------------------

  /** Rewrites a docker-save archive the way Jib's buildTar writes one: config.json, gzip layers. */
  private static final String TO_JIB_LAYOUT =
      String.join(
          "\n",
          "import gzip, hashlib, io, json, sys, tarfile",
          "src, dst, name = sys.argv[1:4]",
          "with tarfile.open(src) as t:",
          "    m = json.load(t.extractfile('manifest.json'))[0]",
          "    config = t.extractfile(m['Config']).read()",
          "    layers = [gzip.compress(t.extractfile(l).read(), mtime=0) for l in m['Layers']]",
          "names = [hashlib.sha256(l).hexdigest() + '.tar.gz' for l in layers]",
          "def add(t, n, data):",
          "    i = tarfile.TarInfo(n); i.size = len(data); t.addfile(i, io.BytesIO(data))",
          "with tarfile.open(dst, 'w') as t:",
          "    for n, l in zip(names, layers): add(t, n, l)",
          "    add(t, 'config.json', config)",
          "    add(t, 'manifest.json', json.dumps([{'Config': 'config.json',"
              + " 'RepoTags': [name], 'Layers': names}]).encode())");

  private static void requireNoRunningRealNode() {
    Scripts.Result status = Scripts.run(Map.of(), "status", "--real-node");
    Assumptions.assumeFalse(
        status.exitCode() == 0,
        "a real-node cluster is running already (started outside this test JVM); this test starts"
            + " and stops its own (one per machine): run local-cluster/down --real-node first");
  }

  private static PodBuilder pod(String name, String script) {
    return new PodBuilder()
        .withNewMetadata()
        .withName(name)
        .addToLabels("app", name)
        .endMetadata()
        .withNewSpec()
        .withTerminationGracePeriodSeconds(1L)
        .addNewContainer()
        .withName("main")
        .withImage(LocalCluster.BUSYBOX_IMAGE)
        .withImagePullPolicy("IfNotPresent")
        .withCommand("sh", "-c", script)
        .endContainer()
        .endSpec();
  }

  private static Pod httpdPod(String name) {
    return pod(
            name,
            "mkdir -p /tmp/www && echo 'hello from httpd' > /tmp/www/index.html"
                + " && exec httpd -f -p 8080 -h /tmp/www")
        .editSpec()
        .editFirstContainer()
        .withNewReadinessProbe()
        .withNewTcpSocket()
        .withPort(new IntOrString(8080))
        .endTcpSocket()
        .withPeriodSeconds(1)
        .endReadinessProbe()
        .endContainer()
        .endSpec()
        .build();
  }

  private static io.fabric8.kubernetes.api.model.Service service(String name) {
    return new ServiceBuilder()
        .withNewMetadata()
        .withName(name)
        .endMetadata()
        .withNewSpec()
        .addToSelector("app", name)
        .addNewPort()
        .withPort(80)
        .withTargetPort(new IntOrString(8080))
        .endPort()
        .endSpec()
        .build();
  }

  private static boolean ready(KubernetesClient client, String ns, String name) {
    Pod pod = client.pods().inNamespace(ns).withName(name).get();
    return pod != null
        && pod.getStatus().getConditions() != null
        && pod.getStatus().getConditions().stream()
            .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  private static String phase(KubernetesClient client, String ns, String name) {
    return client.pods().inNamespace(ns).withName(name).get().getStatus().getPhase();
  }

  private static boolean finished(KubernetesClient client, String ns, String name) {
    String phase = phase(client, ns, name);
    return "Succeeded".equals(phase) || "Failed".equals(phase);
  }

  private static ContainerStateTerminated initTerminated(Pod pod) {
    List<ContainerStatus> statuses = pod.getStatus().getInitContainerStatuses();
    if (statuses == null || statuses.isEmpty() || statuses.get(0).getState() == null) {
      return null;
    }
    return statuses.get(0).getState().getTerminated();
  }
}
