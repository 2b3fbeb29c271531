package io.migrategate.gate.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.migrategate.certs.CertificateAuthority;
import io.migrategate.certs.Pem;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The lifecycle decisions of self-managed TLS, driven one reconcile at a time with a hand-moved
 * clock and in-memory Secret and webhook configuration (the cluster tests run the same code against
 * the real API).
 */
class SelfManagedTlsTest {
  private static final Duration CA_VALIDITY = Duration.ofDays(30);
  private static final Duration SERVING_VALIDITY = Duration.ofDays(3);
  private static final Duration PROPAGATION = Duration.ofSeconds(30);
  private static final Duration GRACE = Duration.ofMinutes(10);

  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final InMemoryCaStore store = new InMemoryCaStore();
  private final InMemoryWebhookCaBundle bundle = new InMemoryWebhookCaBundle(2);
  private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
  private final List<ServingLeaf> installed = new ArrayList<>();
  private SelfManagedTls tls;

  private SelfManagedTls tls(boolean manageCaBundle) throws Exception {
    SelfManagedTlsConfig config =
        SelfManagedTlsConfig.defaults("gate", List.of("migrate-gate.gate.svc"), List.of())
            .withTiming(CA_VALIDITY, SERVING_VALIDITY, PROPAGATION, GRACE, Duration.ofMinutes(5))
            .withManageCaBundle(manageCaBundle);
    tls =
        new SelfManagedTls(
            config,
            store,
            bundle,
            TlsEventLog.keyValue(new PrintStream(logBytes, true, StandardCharsets.UTF_8)),
            clock);
    tls.subscribe(
            leaf -> {
              installed.add(leaf);
              return CompletableFuture.completedFuture(null);
            })
        .toCompletableFuture()
        .get(5, TimeUnit.SECONDS);
    return tls;
  }

  @AfterEach
  void close() {
    if (tls != null) {
      tls.close();
    }
  }

  private String log() {
    return logBytes.toString(StandardCharsets.UTF_8);
  }

  private ServingLeaf serving() {
    return tls.current().orElseThrow();
  }

  @Test
  void bootstrapsFromNothingCaInSecretBundlePatchedCertificateServed() throws Exception {
    tls(true).reconcile();

    CaContent ca = store.stored();
    assertNotNull(ca, "the CA Secret was filled");
    assertNotNull(ca.next(), "with the next CA, made ahead");
    List<X509Certificate> trusted = List.of(ca.signerCertificate(), ca.next().certificate());
    assertEquals(trusted, ca.trusted());
    assertEquals(trusted, bundle.entry(0), "the next CA is trusted from the start");
    assertEquals(trusted, bundle.entry(1), "every webhook entry");
    assertEquals(ca.signerCertificate(), serving().issuer());
    assertEquals(List.of(serving()), installed, "the server received the certificate");
    TlsStatus status = tls.status();
    assertTrue(status.ready(), status.readyzLines());
    assertTrue(status.caBundleInSync());
    assertEquals(ca.signer().notAfter(), status.caNotAfter());
    assertTrue(log().contains("msg=\"tls ca created\""), log());
    assertTrue(log().contains("msg=\"tls serving certificate issued\" reason=initial"), log());
  }

  @Test
  void renewsTheServingCertificateAtTwoThirdsOfItsLifetimeFromTheSameCa() throws Exception {
    tls(true).reconcile();
    ServingLeaf first = serving();
    assertEquals(clock.instant().plus(Duration.ofDays(2)), first.renewAt());

    clock.set(first.renewAt().minusSeconds(1));
    tls.reconcile();
    assertEquals(first, serving(), "not before the renewal time");

    clock.set(first.renewAt());
    tls.reconcile();
    ServingLeaf second = serving();
    assertNotEquals(first.serialHex(), second.serialHex());
    assertEquals(first.issuer(), second.issuer());
    assertEquals(List.of(first, second), installed);
    assertTrue(log().contains("reason=renewal"), log());
  }

  @Test
  void rotatesToTheNextCaTrustedSinceTheStartSwitchesAtOnceAndPrunesTheOld() throws Exception {
    tls(true).reconcile();
    CaContent oldCa = store.stored();
    // What a waiter injected now trusts (the gate hands out the trusted set).
    String injectedTrust = tls.trustedCaPem().orElseThrow();
    Instant rotateAt = tls.status().caRotateAt();
    assertEquals(clock.instant().plus(Duration.ofDays(20)), rotateAt, "two thirds of 30 days");
    clock.set(rotateAt.minus(Duration.ofDays(1)));
    tls.reconcile(); // a serving certificate from the old CA, still fresh at the rotation

    clock.set(rotateAt);
    tls.reconcile();
    CaContent newCa = store.stored();
    assertEquals(oldCa.next().certificate(), newCa.signerCertificate(), "the next CA signs");
    assertNotEquals(oldCa.next().certificate(), newCa.next().certificate(), "a new next CA");
    assertEquals(
        List.of(newCa.signerCertificate(), newCa.next().certificate(), oldCa.signerCertificate()),
        newCa.trusted(),
        "the old CA stays trusted: serving certificates from it are still out there");
    assertTrue(bundle.entry(0).containsAll(newCa.trusted()), "the bundle holds them all");
    assertEquals(
        newCa.signerCertificate(),
        serving().issuer(),
        "no wait for the bundle to propagate: it has trusted this CA since the start");
    assertTrue(
        Pem.readCertificates(injectedTrust).contains(serving().issuer()),
        "a waiter injected before the rotation trusts the gate after it");
    assertTrue(log().contains("msg=\"tls ca rotated\""), log());
    assertTrue(tls.status().ready());

    clock.set(oldCa.signer().notAfter().plus(GRACE));
    tls.reconcile();
    List<X509Certificate> left = List.of(newCa.signerCertificate(), newCa.next().certificate());
    assertEquals(left, bundle.entry(0), "expired CA pruned");
    assertEquals(left, bundle.entry(1));
    assertTrue(tls.status().caBundleInSync());
  }

  @Test
  void aRenewalDueWhileTheSwitchWaitsIsServedByThePreviousCa() throws Exception {
    tls(true).reconcile();
    CaContent oldCa = store.stored();
    ServingLeaf first = serving();
    clock.set(first.renewAt().minusSeconds(1));
    // Another replica (an older gate, without a next CA) rotated to a CA nobody trusted before.
    CaContent foreign = new CaContent(newCa("foreign").signer(), oldCa.trusted());
    store.putCa(foreign);
    tls.reconcile();
    assertEquals(oldCa.signerCertificate(), serving().issuer(), "the switch waits");
    ServingLeaf beforeRenewal = serving();

    clock.advance(Duration.ofSeconds(1));
    tls.reconcile();
    assertNotEquals(beforeRenewal, serving(), "renewed although the switch still waits");
    assertEquals(oldCa.signerCertificate(), serving().issuer(), "from the CA clients trust");
    assertTrue(log().contains("reason=renewal-from-previous-ca"), log());

    clock.advance(PROPAGATION);
    tls.reconcile();
    assertEquals(foreign.signerCertificate(), serving().issuer(), "then the switch");
  }

  @Test
  void aCaWithoutANextOneGetsItsNextCaTrustedBeforeItsRotation() throws Exception {
    CaContent handMade = newCa("hand-made");
    store.putCa(handMade);
    tls(true).reconcile();
    CaContent stored = store.stored();
    assertEquals(handMade.signerCertificate(), stored.signerCertificate(), "still the signer");
    assertNotNull(stored.next(), "its successor made now");
    assertTrue(bundle.entry(0).contains(stored.next().certificate()), "and trusted from now on");
    assertTrue(log().contains("msg=\"tls ca next prepared\""), log());
  }

  @Test
  void keepsTheOldCertificateWhileTheBundleLacksTheNewCaAndIsNotReadyWhenItLacksTheIssuer()
      throws Exception {
    CaContent oldCa = newCa("old");
    store.putCa(oldCa);
    bundle.set(List.of(oldCa.signerCertificate()));
    tls(false).reconcile();
    ServingLeaf oldLeaf = serving();
    assertTrue(tls.status().ready());

    // Someone rotates the CA (another replica), but the bundle is reverted to the old CA only.
    CaContent newCa = new CaContent(newCa("new").signer(), List.of(oldCa.signerCertificate()));
    store.putCa(newCa);
    tls.reconcile();
    assertEquals(oldLeaf, serving(), "a certificate the API server would reject is never served");
    TlsStatus status = tls.status();
    assertFalse(status.caBundleInSync(), status.readyzLines());
    assertTrue(status.ready(), "still ready: the old issuer is trusted");
    assertEquals(newCa.signerSerialHex(), status.caSerial());

    // The bundle loses the serving certificate's issuer too: not ready, and still no switch.
    X509Certificate unrelated = newCa("unrelated").signerCertificate();
    bundle.set(List.of(unrelated));
    tls.reconcile();
    assertEquals(oldLeaf, serving());
    assertFalse(tls.status().ready(), tls.status().readyzLines());
    assertTrue(tls.status().readyzLines().contains("[-]tls-issuer-trusted"));

    // The bundle is back with both: after the propagation delay, the switch.
    bundle.set(store.stored().trusted());
    tls.reconcile();
    assertEquals(oldLeaf, serving());
    assertTrue(tls.status().ready());
    clock.advance(PROPAGATION);
    tls.reconcile();
    assertEquals(newCa.signerCertificate(), serving().issuer());
    assertTrue(tls.status().ready());
    assertTrue(tls.status().caBundleInSync());
    assertEquals(0, bundle.patches, "an observer never writes the bundle");
  }

  @Test
  void aReplicaLosingTheRaceToCreateTheCaAdoptsTheWinnersCa() throws Exception {
    CaContent winner = newCa("winner");
    store.beforeNextWrite = () -> store.putCa(winner);
    tls(true).reconcile();

    assertEquals(winner.signerCertificate(), store.stored().signerCertificate());
    assertEquals(winner.signerCertificate(), serving().issuer());
    assertEquals(0, store.writes, "our proposal was never stored");
    assertTrue(log().contains("msg=\"tls ca adopted\""), log());
  }

  @Test
  void aSecretEmptiedWhileRunningGetsTheSameCaBack() throws Exception {
    tls(true).reconcile();
    CaContent ca = store.stored();
    store.put(Map.of());

    tls.reconcile();
    assertEquals(ca.signerCertificate(), store.stored().signerCertificate());
    assertTrue(log().contains("msg=\"tls ca restored\""), log());
  }

  @Test
  void anUnusableSecretIsReportedAndNeverOverwritten() throws Exception {
    store.put(Map.of(CaSecretFormat.CA_CERTIFICATE, "bm90IGEgY2VydGlmaWNhdGU="));
    tls(true).reconcile();

    assertTrue(tls.current().isEmpty());
    String error = tls.status().lastError();
    assertTrue(
        error.contains("Secret gate/migrate-gate-ca has ca.crt but no ca.key"),
        String.valueOf(error));
    assertEquals(0, store.writes);
    assertTrue(tls.status().readyzLines().contains("[-]tls-serving no serving certificate yet"));
  }

  @Test
  void aCertificateTheServerRefusesIsNotCurrentAndIsRetried() throws Exception {
    tls(true).reconcile();
    ServingLeaf first = serving();
    List<Boolean> refuse = new ArrayList<>(List.of(true));
    tls.subscribe(
            leaf ->
                refuse.get(0) && !leaf.equals(first)
                    ? CompletableFuture.failedFuture(new IllegalStateException("bad options"))
                    : CompletableFuture.completedFuture(null))
        .toCompletableFuture()
        .get(5, TimeUnit.SECONDS);

    clock.set(first.renewAt());
    tls.reconcile();
    assertEquals(first, serving());
    assertTrue(tls.status().lastError().contains("bad options"), tls.status().lastError());

    refuse.set(0, false);
    tls.reconcile();
    assertNotEquals(first, serving());
    assertNull(tls.status().lastError());
  }

  @Test
  void anExpiredCertificateIsReplacedEvenIfTheNewIssuerIsNotTrustedYet() throws Exception {
    CaContent ca = newCa("only");
    store.putCa(ca);
    tls(false).reconcile();
    ServingLeaf first = serving();

    clock.set(first.notAfter());
    tls.reconcile();
    assertNotEquals(first, serving(), "an expired certificate helps nobody");
    assertFalse(tls.status().ready(), "the bundle never trusted the CA");
  }

  private CaContent newCa(String name) {
    CertificateAuthority authority = CertificateAuthority.generate(name, CA_VALIDITY, clock);
    return new CaContent(authority, List.of());
  }
}
