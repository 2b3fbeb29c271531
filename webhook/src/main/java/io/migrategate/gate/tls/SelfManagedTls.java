package io.migrategate.gate.tls;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.certs.CertificateAuthority;
import io.migrategate.certs.IssuedCertificate;
import io.migrategate.certs.Pem;
import io.migrategate.core.Backoff;
import io.migrategate.gate.kube.ReconcileLoop;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Self-managed TLS, the gate's default mode: a CA kept in one Secret, a serving certificate minted
 * in memory by each replica, and the caBundle of the gate's MutatingWebhookConfiguration kept in
 * sync. See docs/tls.md for the timeline.
 *
 * <p>All decisions run on one thread, as a level-triggered reconcile of three steps:
 *
 * <ol>
 *   <li><b>CA</b>: read the Secret; if it holds no CA, store one (create, or fill the pre-created
 *       empty Secret) together with the <i>next</i> CA, trusted from the start; if the CA is past
 *       {@code renewFraction} of its life, rotate it: the next CA signs, a new next CA is made, and
 *       the old CA stays in the trust list. So every client given the trusted set (the caBundle, an
 *       injected waiter) still trusts the gate after the next rotation, and the serving certificate
 *       switches at a rotation without waiting for the bundle to propagate. Writes are conditional
 *       (create, or update at the resourceVersion read); the loser of a race adopts the winner's
 *       CA.
 *   <li><b>caBundle</b>: merge the trusted CAs into every webhook entry's caBundle, pruning expired
 *       CAs, with a patch conditional on the resourceVersion (skipped when {@code manageCaBundle}
 *       is false); note since when each CA is trusted by every entry.
 *   <li><b>Serving certificate</b>: mint a new one when there is none, when its renewal time has
 *       come, or when the signing CA changed. The invariant: a replica replaces a working
 *       certificate only by one whose issuer the observed caBundle has held for at least {@code
 *       trustPropagationDelay}; otherwise it keeps serving the old one.
 * </ol>
 *
 * <p>A change of the Secret or of the webhook configuration (another replica, a GitOps revert)
 * triggers a reconcile at once; otherwise it runs when the next renewal, rotation or pruning is
 * due, and at least every {@code resyncInterval}. Failures are retried with back-off and logged
 * once per distinct message.
 */
public final class SelfManagedTls implements ServingCertificates, AutoCloseable {
  static final Duration INSTALL_TIMEOUT = Duration.ofSeconds(30);
  static final Duration MIN_RETRY = Duration.ofMillis(500);
  static final Duration MAX_RETRY = Duration.ofSeconds(30);
  private static final Backoff RETRY = new Backoff(MIN_RETRY, MAX_RETRY);

  private final SelfManagedTlsConfig config;
  private final CaStore caStore;
  private final WebhookCaBundle webhookCaBundle;
  private final TlsEventLog log;
  private final Clock clock;
  private final ReconcileLoop loop;
  private final List<ServingCertificateInstaller> installers = new CopyOnWriteArrayList<>();
  private final CompletableFuture<ServingLeaf> firstLeaf = new CompletableFuture<>();

  // Owned by the reconcile thread.
  private CaContent ca;
  // The signing CA before the last change, key included, while still trusted: serving
  // certificates are renewed from it when the switch to the new CA has to wait.
  private CaContent previousCa;
  private ObservedBundle observed;
  private final Map<X509Certificate, Instant> trustedSince = new HashMap<>();
  private String deferral;
  private String bundleDifference = "not checked yet";
  private String lastError;
  private Boolean issuerTrusted;
  private int consecutiveFailures;
  private long servingCertificatesIssued;
  private long caRotations;
  private long caBundlePatches;
  private long caBundlePatchFailures;
  private volatile boolean closed;
  // Unit tests drive reconcile() themselves; only a started instance schedules its own runs.
  private volatile boolean started;

  private volatile ServingLeaf current;

  /** The CAs clients must trust now (two during a rotation), for waiters that call the gate. */
  private volatile String trustedCaPem;

  private volatile TlsStatus status;

  SelfManagedTls(
      SelfManagedTlsConfig config,
      CaStore caStore,
      WebhookCaBundle webhookCaBundle,
      TlsEventLog log,
      Clock clock) {
    this.config = Objects.requireNonNull(config, "config");
    this.caStore = caStore;
    this.webhookCaBundle = webhookCaBundle;
    this.log = log;
    this.clock = clock;
    this.loop =
        new ReconcileLoop(
            "migrate-gate-tls",
            RETRY,
            e -> log.warn("tls reconcile failed unexpectedly", "error", e.toString()));
    this.status = snapshot(clock.instant());
  }

  /**
   * Starts self-managed TLS with the gate's Kubernetes client: watches the CA Secret and the
   * webhook configuration and begins the first reconcile. Returns at once; use {@link
   * #awaitServingCertificate} for the first certificate.
   */
  public static SelfManagedTls start(
      KubernetesClient client, SelfManagedTlsConfig config, TlsEventLog log) {
    SelfManagedTls tls =
        new SelfManagedTls(
            config,
            new SecretCaStore(client, config.namespace(), config.caSecretName(), log),
            new MutatingWebhookCaBundle(client, config.webhookConfigurationName(), log),
            log,
            Clock.systemUTC());
    tls.begin();
    return tls;
  }

  void begin() {
    started = true;
    log.info(
        "tls self-managed starting",
        "ca_secret",
        caStore.describe(),
        "webhook_configuration",
        config.webhookConfigurationName(),
        "manage_ca_bundle",
        config.manageCaBundle(),
        "ca_validity",
        config.caValidity(),
        "serving_validity",
        config.servingValidity(),
        "dns_names",
        String.join(",", config.servingDnsNames()),
        "ip_addresses",
        String.join(",", config.servingIpAddresses()));
    caStore.start(this::requestReconcile);
    webhookCaBundle.start(this::requestReconcile);
    loop.start(this::reconcile, Duration.ZERO);
  }

  @Override
  public ServingLeaf awaitServingCertificate(Duration timeout) throws TlsUnavailableException {
    try {
      return firstLeaf.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      String why = status.lastError();
      throw new TlsUnavailableException(
          "no serving certificate after "
              + timeout
              + ": "
              + (why != null
                  ? why
                  : "the CA Secret " + caStore.describe() + " is not readable yet"));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TlsUnavailableException("interrupted while waiting for a serving certificate");
    } catch (ExecutionException e) {
      throw new TlsUnavailableException("no serving certificate: " + e.getCause());
    }
  }

  /**
   * PEM of every CA a client of this gate must trust now (old and new during a CA rotation), empty
   * before the CA is known. Injected into gate-mode waiters so they verify the gate.
   */
  public Optional<String> trustedCaPem() {
    return Optional.ofNullable(trustedCaPem);
  }

  @Override
  public Optional<ServingLeaf> current() {
    return Optional.ofNullable(current);
  }

  @Override
  public CompletionStage<Void> subscribe(ServingCertificateInstaller installer) {
    Objects.requireNonNull(installer, "installer");
    CompletableFuture<Void> subscribed = new CompletableFuture<>();
    loop.execute(
        () -> {
          installers.add(installer);
          ServingLeaf leaf = current;
          try {
            if (leaf != null) {
              awaitInstall(installer, leaf);
            }
            subscribed.complete(null);
          } catch (RuntimeException e) {
            subscribed.completeExceptionally(e);
          }
        });
    return subscribed;
  }

  @Override
  public TlsStatus status() {
    return status.at(clock.instant());
  }

  /** Asks for a reconcile soon; calls while one is queued coalesce into it. */
  void requestReconcile() {
    if (started) {
      loop.request();
    }
  }

  /**
   * One pass over CA, caBundle and serving certificate; returns when the next is due. Runs on the
   * reconcile loop's thread (tests call it directly).
   */
  Duration reconcile() {
    if (closed) {
      return null;
    }
    Instant now = clock.instant();
    List<String> errors = new ArrayList<>();
    try {
      reconcileCa(now);
    } catch (RuntimeException e) {
      errors.add(e.getMessage());
    }
    try {
      reconcileBundle(now);
    } catch (RuntimeException e) {
      errors.add(e.getMessage());
    }
    try {
      reconcileServing(now);
    } catch (RuntimeException e) {
      errors.add(e.getMessage());
    }
    recordErrors(errors);
    status = snapshot(now);
    logReadinessChange(status);
    return errors.isEmpty() ? untilNextDue(now) : retryDelay();
  }

  // ---- CA -------------------------------------------------------------------------------------

  private void reconcileCa(Instant now) {
    CaSecretState state = caStore.read();
    CaContent stored = state.ca();
    if (stored == null) {
      boolean keepOurs = ca != null && now.isBefore(caRotateAt(ca));
      CaContent proposal =
          keepOurs ? ca : rotated(now, ca == null ? List.of() : ca.trusted(), null);
      CaWrite write = caStore.write(state, proposal);
      String how = keepOurs ? "restored" : state.exists() ? "stored" : "created";
      adopt(write.stored().ca(), write.won() ? how : "adopted", write);
    } else if (!now.isBefore(caRotateAt(stored))) {
      CaWrite write = caStore.write(state, rotated(now, stored.trusted(), stored.next()));
      adopt(write.stored().ca(), write.won() ? "rotated" : "adopted", write);
    } else if (stored.next() == null) {
      // A CA from an older gate, or put in by hand: make its successor now, trusted from now on.
      CaWrite write =
          caStore.write(state, new CaContent(stored.signer(), stored.trusted(), newNextCa(now)));
      adopt(write.stored().ca(), write.won() ? "next prepared" : "adopted", write);
    } else {
      adopt(stored, "adopted", null);
    }
  }

  private Instant caRotateAt(CaContent content) {
    return RenewalPolicy.caRotateAt(
        content.signerCertificate(), config.renewFraction(), config.caValidity());
  }

  /**
   * The CA after a rotation (or the first one): {@code next} signs if there is one (it has been
   * trusted since it was made), else a fresh CA; a new next CA is made; earlier CAs stay trusted
   * until they can be pruned.
   */
  private CaContent rotated(
      Instant now, List<X509Certificate> previouslyTrusted, CertificateAuthority next) {
    CertificateAuthority signer =
        next != null
            ? next
            : CertificateAuthority.generate(
                config.caCommonName() + "@" + now.getEpochSecond(), config.caValidity(), clock);
    List<X509Certificate> trusted = new ArrayList<>();
    trusted.add(signer.certificate());
    for (X509Certificate previous : previouslyTrusted) {
      if (!RenewalPolicy.prunable(previous, now, config.expiredCaGrace())) {
        trusted.add(previous);
      }
    }
    return new CaContent(signer, trusted, newNextCa(now));
  }

  /** A next CA made now, valid long enough to sign a whole validity after its wait. */
  private CertificateAuthority newNextCa(Instant now) {
    return CertificateAuthority.generate(
        config.caCommonName() + "@" + now.getEpochSecond() + "-next",
        RenewalPolicy.nextCaValidity(config.caValidity(), config.renewFraction()),
        clock);
  }

  /**
   * Makes {@code next} the CA this replica works with. {@code write} is the conditional write that
   * led here (null for a plain read): a lost write means another replica's CA won the race.
   */
  private void adopt(CaContent next, String how, CaWrite write) {
    boolean signerChanged = ca == null || !ca.signerCertificate().equals(next.signerCertificate());
    boolean trustChanged = ca == null || !ca.trusted().equals(next.trusted());
    if (!signerChanged && !trustChanged && (write == null || !write.won())) {
      return;
    }
    if (signerChanged && ca != null) {
      caRotations++;
      previousCa = next.trusted().contains(ca.signerCertificate()) ? ca : null;
    }
    log.info(
        "tls ca " + how,
        "ca_secret",
        caStore.describe(),
        "ca_serial",
        next.signerSerialHex(),
        "ca_not_after",
        next.signer().notAfter(),
        "ca_rotate_at",
        caRotateAt(next),
        "trusted_cas",
        next.trusted().size(),
        "lost_write_race",
        write != null && !write.won(),
        "previous_ca_serial",
        ca == null ? "" : ca.signerSerialHex());
    ca = next;
    trustedCaPem = Pem.writeCertificates(next.trusted());
  }

  // ---- caBundle -------------------------------------------------------------------------------

  private void reconcileBundle(Instant now) {
    RuntimeException patchFailure = null;
    ObservedBundle seen = null;
    if (config.manageCaBundle() && ca != null) {
      try {
        WebhookCaBundle.Update update =
            webhookCaBundle.ensureTrusts(ca.trusted(), now, config.expiredCaGrace());
        seen = update.observed();
        if (update.patched()) {
          caBundlePatches++;
          log.info(
              "tls ca bundle patched",
              "webhook_configuration",
              config.webhookConfigurationName(),
              "webhooks",
              seen.webhooks().size(),
              "added_ca_serials",
              String.join(",", update.added()),
              "pruned_ca_serials",
              String.join(",", update.pruned()));
        }
      } catch (RuntimeException e) {
        caBundlePatchFailures++;
        patchFailure = e;
      }
    }
    if (seen == null) {
      seen = webhookCaBundle.read();
    }
    observed = seen;
    Set<X509Certificate> trustedNow = seen.trustedByAll();
    trustedSince.keySet().retainAll(trustedNow);
    for (X509Certificate trustedCa : trustedNow) {
      trustedSince.putIfAbsent(trustedCa, now);
    }
    if (ca == null) {
      // Nothing to compare with yet (no patch was tried either); the CA step reports why.
      bundleDifference = "CA not known yet";
      return;
    }
    String difference = seen.differenceFrom(ca.trusted(), now, config.expiredCaGrace());
    if (!Objects.equals(difference, bundleDifference)) {
      if (difference == null) {
        log.info(
            "tls ca bundle in sync",
            "webhook_configuration",
            config.webhookConfigurationName(),
            "ca_serials",
            serials(trustedNow));
      } else {
        log.warn(
            "tls ca bundle out of sync",
            "webhook_configuration",
            config.webhookConfigurationName(),
            "difference",
            difference,
            "managed_here",
            config.manageCaBundle());
      }
      bundleDifference = difference;
    }
    if (patchFailure != null) {
      throw patchFailure;
    }
  }

  private static String serials(Set<X509Certificate> cas) {
    return String.join(",", cas.stream().map(ca -> ca.getSerialNumber().toString(16)).toList());
  }

  // ---- serving certificate ----------------------------------------------------------------------

  private void reconcileServing(Instant now) {
    if (ca == null) {
      return;
    }
    ServingLeaf leaf = current;
    X509Certificate signer = ca.signerCertificate();
    String reason;
    if (leaf == null) {
      reason = "initial";
    } else if (!now.isBefore(leaf.notAfter())) {
      reason = "expired";
    } else if (!leaf.issuer().equals(signer)) {
      reason = "ca-changed";
    } else if (!now.isBefore(leaf.renewAt()) && outlives(ca, leaf)) {
      reason = "renewal";
    } else {
      // Not due; or capped by its CA's expiry, which the same CA cannot beat: the CA rotation
      // comes first and brings the next certificate.
      reason = null;
    }
    if (reason == null) {
      deferral = null;
      return;
    }
    // The invariant: never replace a working certificate by one the API server may not trust yet.
    if (leaf != null && !reason.equals("expired")) {
      Instant usableAt = usableAt(signer);
      if (usableAt == null || now.isBefore(usableAt)) {
        deferSwitch(leaf, reason, usableAt);
        renewFromPreviousCaIfDue(now, leaf);
        return;
      }
    }
    deferral = null;
    issue(ca, reason, leaf, now);
  }

  /** Whether a certificate newly issued by {@code issuer} would expire later than {@code leaf}. */
  private static boolean outlives(CaContent issuer, ServingLeaf leaf) {
    return issuer.signer().notAfter().isAfter(leaf.notAfter());
  }

  private void deferSwitch(ServingLeaf leaf, String reason, Instant usableAt) {
    String why =
        usableAt == null
            ? "ca_serial "
                + ca.signerSerialHex()
                + " is not in the caBundle of every webhook of "
                + config.webhookConfigurationName()
            : "ca_serial "
                + ca.signerSerialHex()
                + " trusted since "
                + trustedSince.get(ca.signerCertificate())
                + ", waiting "
                + config.trustPropagationDelay()
                + " for every API server to see it";
    if (!why.equals(deferral)) {
      log.info(
          "tls serving certificate kept",
          "reason",
          reason,
          "why",
          why,
          "serving_serial",
          leaf.serialHex(),
          "serving_issuer_serial",
          leaf.issuerSerialHex());
      deferral = why;
    }
  }

  /**
   * While the switch to a new CA waits, the serving certificate may reach its own renewal time
   * (short lifetimes, a slow caBundle writer): renew it from the previous CA, which clients still
   * trust, rather than let it run out.
   */
  private void renewFromPreviousCaIfDue(Instant now, ServingLeaf leaf) {
    CaContent previous = previousCa;
    if (previous != null
        && now.isBefore(previous.signer().notAfter())
        && leaf.issuer().equals(previous.signerCertificate())
        && !now.isBefore(leaf.renewAt())
        && outlives(previous, leaf)
        && observed != null
        && observed.trusts(previous.signerCertificate())) {
      issue(previous, "renewal-from-previous-ca", leaf, now);
    }
  }

  private void issue(CaContent issuer, String reason, ServingLeaf leaf, Instant now) {
    IssuedCertificate issued =
        issuer
            .signer()
            .issueServing(
                config.servingDnsNames(),
                config.servingIpAddresses(),
                config.servingValidity(),
                clock);
    ServingLeaf next =
        new ServingLeaf(
            issued,
            now,
            RenewalPolicy.servingRenewAt(now, issued.notAfter(), config.renewFraction()));
    for (ServingCertificateInstaller installer : installers) {
      awaitInstall(installer, next);
    }
    current = next;
    servingCertificatesIssued++;
    firstLeaf.complete(next);
    log.info(
        "tls serving certificate issued",
        "reason",
        reason,
        "serial",
        next.serialHex(),
        "issuer_serial",
        next.issuerSerialHex(),
        "not_after",
        next.notAfter(),
        "renew_at",
        next.renewAt(),
        "issuer_trusted",
        observed != null && observed.trusts(issuer.signerCertificate()),
        "previous_serial",
        leaf == null ? "" : leaf.serialHex());
  }

  /** When a certificate from {@code issuer} may replace a working one; null if not trusted. */
  private Instant usableAt(X509Certificate issuer) {
    Instant since = trustedSince.get(issuer);
    return since == null ? null : since.plus(config.trustPropagationDelay());
  }

  private void awaitInstall(ServingCertificateInstaller installer, ServingLeaf leaf) {
    try {
      installer
          .install(leaf)
          .toCompletableFuture()
          .get(INSTALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted installing serving certificate", e);
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      throw new IllegalStateException(
          "the HTTPS server did not take serving certificate serial="
              + leaf.serialHex()
              + ", still serving the previous one: "
              + cause,
          cause);
    }
  }

  // ---- bookkeeping
  // --------------------------------------------------------------------------------

  private void recordErrors(List<String> errors) {
    String error = errors.isEmpty() ? null : String.join("; ", errors);
    if (error == null) {
      if (lastError != null) {
        log.info("tls recovered", "previous_error", lastError);
      }
      consecutiveFailures = 0;
    } else {
      consecutiveFailures++;
      if (!error.equals(lastError)) {
        log.warn("tls step failed, retrying", "error", error);
      }
    }
    lastError = error;
  }

  /** Readiness hinges on the issuer being trusted: log when that flips, with the reason. */
  private void logReadinessChange(TlsStatus now) {
    if (now.servingSerial() == null
        || Boolean.valueOf(now.servingIssuerTrusted()).equals(issuerTrusted)) {
      return;
    }
    issuerTrusted = now.servingIssuerTrusted();
    if (issuerTrusted) {
      log.info(
          "tls ready: caBundle trusts the serving certificate's issuer",
          "serving_serial",
          now.servingSerial(),
          "issuer_serial",
          now.servingIssuerSerial());
    } else {
      log.warn(
          "tls not ready: caBundle lacks the serving certificate's issuer",
          "serving_serial",
          now.servingSerial(),
          "issuer_serial",
          now.servingIssuerSerial(),
          "webhook_configuration",
          config.webhookConfigurationName(),
          "difference",
          String.valueOf(now.caBundleDetail()));
    }
  }

  private TlsStatus snapshot(Instant now) {
    ServingLeaf leaf = current;
    ObservedBundle seen = observed;
    CaContent signing = ca;
    return new TlsStatus(
        now,
        leaf == null ? null : leaf.serialHex(),
        leaf == null ? null : leaf.notAfter(),
        leaf == null ? null : leaf.renewAt(),
        leaf == null ? null : leaf.issuerSerialHex(),
        leaf != null && seen != null && seen.trusts(leaf.issuer()),
        signing == null ? null : signing.signerSerialHex(),
        signing == null ? null : signing.signer().notAfter(),
        signing == null ? null : caRotateAt(signing),
        signing == null ? 0 : signing.trusted().size(),
        config.webhookConfigurationName(),
        bundleDifference == null,
        bundleDifference,
        lastError,
        servingCertificatesIssued,
        caRotations,
        caBundlePatches,
        caBundlePatchFailures);
  }

  /** The earliest future moment something is due: renewal, rotation, trust, pruning, resync. */
  private Duration untilNextDue(Instant now) {
    List<Instant> due = new ArrayList<>();
    due.add(now.plus(config.resyncInterval()));
    ServingLeaf leaf = current;
    if (leaf != null) {
      due.add(leaf.renewAt());
      due.add(leaf.notAfter());
    }
    if (ca != null) {
      due.add(caRotateAt(ca));
      Instant usableAt = usableAt(ca.signerCertificate());
      if (usableAt != null) {
        due.add(usableAt);
      }
      for (X509Certificate trustedCa : ca.trusted()) {
        due.add(trustedCa.getNotAfter().toInstant().plus(config.expiredCaGrace()));
      }
    }
    if (observed != null) {
      for (ObservedBundle.Entry entry : observed.webhooks()) {
        for (X509Certificate bundled : entry.cas()) {
          due.add(bundled.getNotAfter().toInstant().plus(config.expiredCaGrace()));
        }
      }
    }
    Instant next = now.plus(config.resyncInterval());
    for (Instant at : due) {
      if (at.isAfter(now) && at.isBefore(next)) {
        next = at;
      }
    }
    return Duration.between(now, next);
  }

  private Duration retryDelay() {
    return RETRY.delay(consecutiveFailures);
  }

  /** Stops watching and renewing; the current certificate stays valid until its expiry. */
  @Override
  public void close() {
    closed = true;
    loop.close();
    caStore.close();
    webhookCaBundle.close();
    log.info("tls self-managed stopped");
  }
}
