package io.migrategate.gate.tls;

import static io.migrategate.cluster.LocalCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.migrategate.certs.CaBundle;
import io.migrategate.certs.CertificateAuthority;
import io.migrategate.certs.Pem;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Self-managed TLS against the real control plane, with the gate's ServiceAccount token (not admin)
 * and a webhook the real API server calls over TLS on 127.0.0.1.
 */
@LocalClusterTest
class SelfManagedTlsClusterTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private static Secret caSecret(WebhookScene scene) {
    return scene
        .admin
        .secrets()
        .inNamespace(scene.gateNamespace)
        .withName(WebhookScene.CA_SECRET)
        .get();
  }

  private static CaContent storedCa(WebhookScene scene) {
    Secret secret = caSecret(scene);
    return secret == null ? null : CaSecretFormat.decode(secret);
  }

  private static void subscribe(SelfManagedTls tls, TestWebhookEndpoint endpoint) throws Exception {
    tls.subscribe(endpoint.installer()).toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void bootstrapsFromNothingWithTheServiceAccountAndTheApiServerCallsTheGate(LocalCluster cluster)
      throws Exception {
    RecordingLog log = new RecordingLog("gate-0");
    try (WebhookScene scene = new WebhookScene(cluster, "tls-boot");
        TestWebhookEndpoint endpoint = TestWebhookEndpoint.start();
        GateIdentity identity =
            new GateIdentity(
                scene.admin,
                scene.gateNamespace,
                WebhookScene.CA_SECRET,
                scene.webhookConfigurationName,
                true)) {
      scene.createWebhookConfiguration(endpoint.url(), null);
      KubernetesClient gateClient = identity.newClient();
      KubernetesClientException notAdmin =
          assertThrows(
              KubernetesClientException.class,
              () -> gateClient.secrets().inNamespace(scene.gateNamespace).list());
      assertEquals(403, notAdmin.getCode(), "the gate's token may not list Secrets at large");
      assertEquals(null, caSecret(scene), "nothing there before the gate starts");

      SelfManagedTlsConfig config =
          scene.config(Duration.ofHours(1), Duration.ofMinutes(10), Duration.ofSeconds(1));
      X509Certificate ca;
      try (SelfManagedTls tls = SelfManagedTls.start(gateClient, config, log)) {
        ServingLeaf leaf = tls.awaitServingCertificate(WAIT);
        subscribe(tls, endpoint);

        CaContent stored = storedCa(scene);
        ca = stored.signerCertificate();
        assertEquals(ca, leaf.issuer(), "the serving certificate chains to the CA in the Secret");
        assertEquals(
            Set.of("ca.crt", "ca.key", "ca-bundle.crt", "next-ca.crt", "next-ca.key"),
            caSecret(scene).getData().keySet(),
            "only CA material in etcd (the CA and the next one), never a serving key");
        await("caBundle patched and gate ready", WAIT, () -> tls.status().ready());
        assertEquals(
            List.of(stored.trusted(), stored.trusted()),
            scene.bundles(),
            "both webhook entries trust the CA and the next one");
        assertEquals(List.of(ca, stored.next().certificate()), stored.trusted());
        TlsStatus status = tls.status();
        assertTrue(status.caBundleInSync(), status.readyzLines());
        assertEquals(stored.signer().notAfter(), status.caNotAfter());
        assertEquals(leaf.notAfter(), status.servingNotAfter());

        scene.awaitApiServerCallsTheWebhook();
        Pod pod = scene.createPod("bootstrap");
        assertEquals(leaf.serialHex(), WebhookScene.servedBy(pod), "the API server called us");

        // A GitOps tool reverts the caBundle to the manifests' (none): the gate puts it back.
        scene.setBundles(List.of());
        await(
            "caBundle restored after a revert",
            WAIT,
            () -> scene.bundles().equals(List.of(stored.trusted(), stored.trusted())));
        assertEquals(1, log.count("tls ca created"));
        await("the restore is logged", WAIT, () -> log.count("tls ca bundle patched") >= 2);
      }

      String resourceVersion = caSecret(scene).getMetadata().getResourceVersion();
      try (SelfManagedTls restarted =
          SelfManagedTls.start(gateClient, config, log.replica("gate-0-restarted"))) {
        ServingLeaf leaf = restarted.awaitServingCertificate(WAIT);
        subscribe(restarted, endpoint);
        assertEquals(ca, leaf.issuer(), "a restart keeps the CA");
        assertEquals(resourceVersion, caSecret(scene).getMetadata().getResourceVersion());
        await("restarted gate ready", WAIT, () -> restarted.status().ready());
        Pod pod = scene.createPod("after-restart");
        assertEquals(leaf.serialHex(), WebhookScene.servedBy(pod));
      }
    }
  }

  /**
   * Least privilege without the optional create rule and without the manifests' empty Secret: the
   * gate says exactly what is missing, and recovers without restart once the Secret exists.
   */
  @Test
  void aMissingSecretWithoutCreateRightsIsReportedAndRecoveredFrom(LocalCluster cluster)
      throws Exception {
    RecordingLog log = new RecordingLog("gate");
    try (WebhookScene scene = new WebhookScene(cluster, "tls-norbac");
        GateIdentity identity =
            new GateIdentity(
                scene.admin,
                scene.gateNamespace,
                WebhookScene.CA_SECRET,
                scene.webhookConfigurationName,
                false)) {
      scene.createWebhookConfiguration("https://127.0.0.1:9/unused", null);
      SelfManagedTlsConfig config =
          scene.config(Duration.ofHours(1), Duration.ofMinutes(10), Duration.ofSeconds(1));
      try (SelfManagedTls tls = SelfManagedTls.start(identity.newClient(), config, log)) {
        TlsUnavailableException error =
            assertThrows(
                TlsUnavailableException.class,
                () -> tls.awaitServingCertificate(Duration.ofSeconds(5)));
        assertTrue(
            error
                .getMessage()
                .contains(
                    "forbidden to create Secret "
                        + scene.gateNamespace
                        + "/migrate-gate-ca: grant create on secrets in namespace "
                        + scene.gateNamespace
                        + ", or apply the manifests, which create the Secret empty"),
            error.getMessage());
        assertTrue(
            tls.status()
                .readyzLines()
                .startsWith("[-]tls-serving no serving certificate yet: forbidden"));

        scene
            .admin
            .secrets()
            .inNamespace(scene.gateNamespace)
            .resource(
                new SecretBuilder()
                    .withNewMetadata()
                    .withName(WebhookScene.CA_SECRET)
                    .endMetadata()
                    .build())
            .create();
        ServingLeaf leaf = tls.awaitServingCertificate(WAIT);
        assertEquals(storedCa(scene).signerCertificate(), leaf.issuer());
        await("ready after the fix", WAIT, () -> tls.status().ready());
        assertEquals(1, log.count("tls step failed, retrying"), "logged once, not per retry");
        assertEquals(1, log.count("tls recovered"));
      }
    }
  }

  /**
   * Two replicas start at the same instant, three times over: on a namespace without the Secret
   * (the gate may create it) and on the manifests' empty Secret (the gate may only update it).
   */
  @ParameterizedTest(name = "secret pre-created empty: {0}")
  @ValueSource(booleans = {false, true})
  void twoReplicasStartingTogetherEndWithOneCa(boolean precreatedEmpty, LocalCluster cluster)
      throws Exception {
    RecordingLog log = new RecordingLog("replica-a");
    try (WebhookScene scene = new WebhookScene(cluster, "tls-race");
        GateIdentity identity =
            new GateIdentity(
                scene.admin,
                scene.gateNamespace,
                WebhookScene.CA_SECRET,
                scene.webhookConfigurationName,
                !precreatedEmpty)) {
      scene.createWebhookConfiguration("https://127.0.0.1:9/unused", null);
      SelfManagedTlsConfig config =
          scene.config(Duration.ofHours(1), Duration.ofMinutes(10), Duration.ofSeconds(1));
      ExecutorService starters = Executors.newFixedThreadPool(2);
      try {
        for (int round = 1; round <= 3; round++) {
          if (precreatedEmpty) {
            scene
                .admin
                .secrets()
                .inNamespace(scene.gateNamespace)
                .resource(
                    new SecretBuilder()
                        .withNewMetadata()
                        .withName(WebhookScene.CA_SECRET)
                        .endMetadata()
                        .build())
                .create();
          }
          List<RecordingLog> logs =
              List.of(log.replica("a-round-" + round), log.replica("b-round-" + round));
          List<KubernetesClient> clients = List.of(identity.newClient(), identity.newClient());
          CountDownLatch go = new CountDownLatch(1);
          List<Future<SelfManagedTls>> started = new ArrayList<>();
          for (int i = 0; i < 2; i++) {
            int replica = i;
            started.add(
                starters.submit(
                    () -> {
                      go.await();
                      return SelfManagedTls.start(clients.get(replica), config, logs.get(replica));
                    }));
          }
          go.countDown();
          SelfManagedTls a = started.get(0).get(30, TimeUnit.SECONDS);
          SelfManagedTls b = started.get(1).get(30, TimeUnit.SECONDS);
          try {
            ServingLeaf leafA = a.awaitServingCertificate(WAIT);
            ServingLeaf leafB = b.awaitServingCertificate(WAIT);
            X509Certificate ca = storedCa(scene).signerCertificate();
            assertEquals(ca, leafA.issuer(), "replica a serves from the stored CA");
            assertEquals(ca, leafB.issuer(), "replica b serves from the stored CA");
            assertNotEquals(leafA.serialHex(), leafB.serialHex(), "each mints its own");
            await(
                "both replicas ready",
                WAIT,
                () -> a.status().ready() && b.status().ready() && a.status().caBundleInSync());
            List<X509Certificate> trusted = storedCa(scene).trusted();
            assertEquals(List.of(trusted, trusted), scene.bundles());
          } finally {
            a.close();
            b.close();
          }
          scene
              .admin
              .secrets()
              .inNamespace(scene.gateNamespace)
              .withName(WebhookScene.CA_SECRET)
              .delete();
          await("CA Secret deleted", WAIT, () -> caSecret(scene) == null);
          scene.setBundles(List.of());
        }
      } finally {
        starters.shutdownNow();
      }
      String stored = precreatedEmpty ? "tls ca stored" : "tls ca created";
      assertEquals(3, log.count(stored), "one CA per round:\n" + String.join("\n", log.lines()));
      assertEquals(0, log.count(precreatedEmpty ? "tls ca created" : "tls ca stored"));
    }
  }

  /**
   * A stream of pod creations while serving certificates renew every few seconds and the CA
   * rotates: not one creation may fail. Every admission is a fresh TLS handshake with whatever
   * certificate the endpoint serves at that moment. A second replica races on the same Secret and
   * webhook configuration.
   */
  @Test
  void renewalAndCaRotationUnderLoadFailNoAdmission(LocalCluster cluster) throws Exception {
    RecordingLog log = new RecordingLog("serving");
    try (WebhookScene scene = new WebhookScene(cluster, "tls-rotate");
        TestWebhookEndpoint endpoint = TestWebhookEndpoint.start();
        GateIdentity identity =
            new GateIdentity(
                scene.admin,
                scene.gateNamespace,
                WebhookScene.CA_SECRET,
                scene.webhookConfigurationName,
                true)) {
      scene.createWebhookConfiguration(endpoint.url(), null);
      SelfManagedTlsConfig config =
          scene.config(Duration.ofSeconds(30), Duration.ofSeconds(6), Duration.ofSeconds(2));
      SelfManagedTls serving = SelfManagedTls.start(identity.newClient(), config, log);
      SelfManagedTls other =
          SelfManagedTls.start(identity.newClient(), config, log.replica("other"));
      Queue<String> failures = new ConcurrentLinkedQueue<>();
      AtomicInteger created = new AtomicInteger();
      AtomicBoolean stop = new AtomicBoolean();
      Thread stream = null;
      KubernetesClient podClient = cluster.newClient();
      try {
        serving.awaitServingCertificate(WAIT);
        subscribe(serving, endpoint);
        await("serving replica ready", WAIT, () -> serving.status().ready());
        scene.awaitApiServerCallsTheWebhook();
        X509Certificate firstCa = storedCa(scene).signerCertificate();
        // What a waiter the gate injects now carries as its trust (MIGRATE_GATE_CA).
        String injectedTrust = serving.trustedCaPem().orElseThrow();
        assertTrue(handshakes(endpoint, injectedTrust), "the injected trust works before");

        stream =
            new Thread(
                () -> {
                  for (int i = 0; !stop.get(); i++) {
                    long started = System.nanoTime();
                    try {
                      Pod pod = WebhookScene.createPod(podClient, scene.podNamespace, "p-" + i);
                      if (WebhookScene.servedBy(pod) == null) {
                        failures.add("p-" + i + ": admitted without the webhook's annotation");
                      }
                      created.incrementAndGet();
                    } catch (RuntimeException e) {
                      failures.add("p-" + i + ": " + e.getMessage());
                    }
                    long pauseNanos =
                        TimeUnit.MILLISECONDS.toNanos(100) - (System.nanoTime() - started);
                    // The load's pacing (one creation per 100 ms), not synchronization.
                    java.util.concurrent.locks.LockSupport.parkNanos(Math.max(pauseNanos, 0));
                  }
                },
                "pod-stream");
        stream.start();

        await(
            "CA rotated, old CA pruned after expiry, and admissions served by leaves of both CAs",
            Duration.ofSeconds(120),
            () -> {
              CaContent stored = storedCa(scene);
              List<List<X509Certificate>> bundles = scene.bundles();
              return !stored.signerCertificate().equals(firstCa)
                  && bundles.stream().noneMatch(bundle -> bundle.contains(firstCa))
                  && serving.current().orElseThrow().issuer().equals(stored.signerCertificate())
                  && endpoint.servedSerials().size() >= 5
                  && created.get() > 0
                  && failures.isEmpty();
            });
        // A few more admissions with the post-rotation state.
        int target = created.get() + 10;
        await(
            "more admissions after pruning",
            WAIT,
            () -> created.get() >= target || !failures.isEmpty());
        // The CA frozen into a pod's environment before the rotation still trusts the gate after
        // it: an init container re-run later (node reboot, sandbox recreated) gets through.
        assertTrue(
            handshakes(endpoint, injectedTrust),
            "a waiter injected before the rotation trusts the gate after it");
        assertFalse(
            handshakes(endpoint, Pem.writeCertificates(List.of(firstCa))),
            "(the first CA alone, what pods carried before next CAs, would not)");
      } finally {
        stop.set(true);
        if (stream != null) {
          stream.join(30_000);
        }
        podClient.close();
        other.close();
      }
      assertTrue(
          failures.isEmpty(),
          failures.size()
              + " of "
              + (created.get() + failures.size())
              + " pod creations failed: "
              + failures);
      assertTrue(
          endpoint.invalidCertificateUses.isEmpty(),
          "never served an expired certificate: " + endpoint.invalidCertificateUses);
      assertTrue(log.count("tls ca rotated") >= 1, "a rotation happened");

      assertTrue(log.count("tls serving certificate issued") >= 5, "renewals happened");
      List<Pod> pods = scene.admin.pods().inNamespace(scene.podNamespace).list().getItems();
      assertEquals(created.get(), pods.size());
      assertTrue(pods.stream().allMatch(pod -> WebhookScene.servedBy(pod) != null));
      System.err.println(
          "rotation under load: "
              + created.get()
              + " pods admitted, 0 failed; certificates used (serial=admissions): "
              + endpoint.answeredBySerial);

      // A restart (new instance) keeps the CA the Secret holds.
      X509Certificate caBeforeRestart = storedCa(scene).signerCertificate();
      serving.close();
      try (SelfManagedTls restarted =
          SelfManagedTls.start(identity.newClient(), config, log.replica("restarted"))) {
        ServingLeaf leaf = restarted.awaitServingCertificate(WAIT);
        assertEquals(caBeforeRestart, leaf.issuer(), "a restart keeps the CA");
      }
    }
  }

  /**
   * The invariant with a replica that only observes the caBundle: when the bundle does not hold the
   * new CA, the replica keeps serving its old certificate (the API server keeps accepting it); when
   * the bundle loses the serving certificate's issuer, the replica reports not ready; when the
   * bundle is back, it switches.
   */
  @Test
  void servesTheOldCertificateUntilTheBundleHoldsTheNewCa(LocalCluster cluster) throws Exception {
    RecordingLog log = new RecordingLog("observer");
    try (WebhookScene scene = new WebhookScene(cluster, "tls-invariant");
        TestWebhookEndpoint endpoint = TestWebhookEndpoint.start();
        GateIdentity identity =
            new GateIdentity(
                scene.admin,
                scene.gateNamespace,
                WebhookScene.CA_SECRET,
                scene.webhookConfigurationName,
                false)) {
      CaContent oldCa =
          new CaContent(CertificateAuthority.generate("old", Duration.ofHours(1)), List.of());
      putCaSecret(scene, oldCa);
      scene.createWebhookConfiguration(endpoint.url(), CaBundle.encode(oldCa.trusted()));
      SelfManagedTlsConfig config =
          scene
              .config(Duration.ofHours(1), Duration.ofMinutes(10), Duration.ofSeconds(2))
              .withManageCaBundle(false);
      try (SelfManagedTls tls = SelfManagedTls.start(identity.newClient(), config, log)) {
        ServingLeaf oldLeaf = tls.awaitServingCertificate(WAIT);
        subscribe(tls, endpoint);
        await("ready with the old CA", WAIT, () -> tls.status().ready());
        scene.awaitApiServerCallsTheWebhook();
        assertEquals(oldLeaf.serialHex(), WebhookScene.servedBy(scene.createPod("old-ca")));

        // The CA rotates in the Secret, but the bundle keeps only the old CA (a revert).
        CaContent newCa =
            new CaContent(
                CertificateAuthority.generate("new", Duration.ofHours(1)),
                List.of(oldCa.signerCertificate()));
        putCaSecret(scene, newCa);
        await(
            "the replica knows the new CA and sees the bundle out of sync",
            WAIT,
            () ->
                newCa.signerSerialHex().equals(tls.status().caSerial())
                    && !tls.status().caBundleInSync());
        assertEquals(oldLeaf, tls.current().orElseThrow(), "no switch to an untrusted issuer");
        assertTrue(tls.status().ready(), "the old issuer is still trusted");
        assertEquals(
            oldLeaf.serialHex(), WebhookScene.servedBy(scene.createPod("bundle-without-new-ca")));

        // The bundle loses the serving certificate's issuer as well: not ready, still no switch.
        X509Certificate unrelated =
            CertificateAuthority.generate("unrelated", Duration.ofHours(1)).certificate();
        scene.setBundles(List.of(unrelated));
        await("not ready without the issuer in the bundle", WAIT, () -> !tls.status().ready());
        assertEquals(oldLeaf, tls.current().orElseThrow());
        assertTrue(tls.status().readyzLines().contains("[-]tls-issuer-trusted"));

        // The bundle is back with old and new: the replica switches to the new CA.
        scene.setBundles(storedCa(scene).trusted());
        await(
            "switched to the new CA",
            WAIT,
            () ->
                tls.current().orElseThrow().issuer().equals(newCa.signerCertificate())
                    && tls.status().ready()
                    && tls.status().caBundleInSync());
        ServingLeaf newLeaf = tls.current().orElseThrow();
        assertEquals(newLeaf.serialHex(), WebhookScene.servedBy(scene.createPod("new-ca")));
        assertFalse(
            log.lines().stream().anyMatch(line -> line.contains("tls ca bundle patched")),
            "an observer never writes the bundle");
      }
    }
  }

  /** Whether a TLS client trusting only {@code pem} completes a handshake with the endpoint. */
  private static boolean handshakes(TestWebhookEndpoint endpoint, String pem) throws Exception {
    java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    int i = 0;
    for (X509Certificate ca : Pem.readCertificates(pem)) {
      trust.setCertificateEntry("ca-" + i++, ca);
    }
    javax.net.ssl.TrustManagerFactory factory =
        javax.net.ssl.TrustManagerFactory.getInstance(
            javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
    context.init(null, factory.getTrustManagers(), null);
    java.net.URI uri = java.net.URI.create(endpoint.url());
    try (javax.net.ssl.SSLSocket socket =
        (javax.net.ssl.SSLSocket)
            context.getSocketFactory().createSocket(uri.getHost(), uri.getPort())) {
      socket.setSoTimeout(5000);
      socket.startHandshake();
      return true;
    } catch (javax.net.ssl.SSLException e) {
      return false;
    }
  }

  private static void putCaSecret(WebhookScene scene, CaContent content) {
    Secret secret =
        new SecretBuilder()
            .withNewMetadata()
            .withName(WebhookScene.CA_SECRET)
            .withNamespace(scene.gateNamespace)
            .endMetadata()
            .withData(CaSecretFormat.encode(content))
            .build();
    // Forced: the gate has written this Secret since (its next CA), as another owner.
    scene
        .admin
        .secrets()
        .inNamespace(scene.gateNamespace)
        .resource(secret)
        .forceConflicts()
        .serverSideApply();
  }
}
