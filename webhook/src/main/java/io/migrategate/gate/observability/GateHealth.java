package io.migrategate.gate.observability;

import io.migrategate.gate.jobs.KubernetesJobTracking;
import io.migrategate.gate.kube.KubernetesAccess;
import io.migrategate.gate.server.EventLoopHeartbeats;
import io.migrategate.gate.tls.CertificateSource;
import io.migrategate.gate.tls.ServingCertificate;
import java.time.Instant;

/**
 * Liveness and readiness, one place each. Ready: the HTTPS server listens with a certificate that
 * is valid now and the gate is not draining. An unreachable Kubernetes API does not make the gate
 * unready (reviews that need no lookup are still answered, which is what keeps annotated
 * pod-template pods flowing); /readyz shows it on its own line.
 */
public final class GateHealth {
  private final CertificateSource certificate;
  private final KubernetesAccess kubernetes;
  private final EventLoopHeartbeats heartbeats;
  private final String failurePolicy;
  private volatile boolean listening;
  private volatile boolean draining;

  public GateHealth(
      CertificateSource certificate,
      KubernetesAccess kubernetes,
      EventLoopHeartbeats heartbeats,
      String failurePolicy) {
    this.certificate = certificate;
    this.kubernetes = kubernetes;
    this.heartbeats = heartbeats;
    this.failurePolicy = failurePolicy;
  }

  public void listening() {
    listening = true;
  }

  public void draining() {
    draining = true;
  }

  boolean isDraining() {
    return draining;
  }

  public boolean ready() {
    ServingCertificate serving = certificate.current();
    return listening
        && !draining
        && serving != null
        && serving.validAt(Instant.now())
        && certificate.ready();
  }

  /** Kubernetes-style check list: {@code [+]name ok}, {@code [-]name why}, {@code [!]} notes. */
  public String readyzBody() {
    StringBuilder body = new StringBuilder(512);
    ServingCertificate serving = certificate.current();
    Instant now = Instant.now();
    if (serving == null) {
      body.append("[-]tls no certificate loaded\n");
    } else if (!serving.validAt(now)) {
      body.append("[-]tls certificate serial=")
          .append(serving.serialHex())
          .append(" is not valid now (not_before=")
          .append(serving.notBefore())
          .append(", not_after=")
          .append(serving.notAfter())
          .append("): replace the files behind --tls-cert-file/--tls-key-file\n");
    } else {
      body.append("[+]tls ok serial=")
          .append(serving.serialHex())
          .append(" not_after=")
          .append(serving.notAfter())
          .append('\n');
    }
    body.append(certificate.readyzLines());
    body.append(listening ? "[+]https ok listening\n" : "[-]https not listening yet\n");
    body.append(
        draining ? "[-]shutdown draining after SIGTERM\n" : "[+]shutdown ok not draining\n");
    KubernetesAccess.ApiState api = kubernetes.state();
    switch (api.status()) {
      case REACHABLE -> body.append("[+]kubernetes-api ok ").append(api.detail()).append('\n');
      case NOT_CHECKED ->
          body.append("[!]kubernetes-api not checked yet (does not affect readiness)\n");
      case UNREACHABLE ->
          body.append("[!]kubernetes-api unreachable since ")
              .append(api.since())
              .append(": ")
              .append(api.detail())
              .append(" (does not affect readiness: reviews needing an owner lookup follow")
              .append(" --owner-lookup-failure-policy=")
              .append(failurePolicy)
              .append(")\n");
    }
    io.migrategate.gate.admission.KubernetesOwnerLookup owners = kubernetes.startedOwnerLookup();
    if (owners != null) {
      body.append(
          owners.hasSynced()
              ? "[+]owner-caches ok synced\n"
              : "[!]owner-caches not synced yet (does not affect readiness: lookups use direct"
                  + " GETs meanwhile)\n");
    }
    KubernetesJobTracking jobs = kubernetes.startedJobTracking();
    if (jobs != null) {
      body.append(
          jobs.tracker().isReady()
              ? "[+]job-tracker ok synced jobs=" + jobs.tracker().trackedJobs() + "\n"
              : "[!]job-tracker not synced yet (does not affect readiness: until it has read every"
                  + " Job and the success ledger, every annotated pod gets migrate-wait and open"
                  + " waits hear \"syncing\"; none passes early)\n");
    }
    body.append(ready() ? "readyz check passed\n" : "readyz check failed\n");
    return body.toString();
  }

  public boolean live() {
    return heartbeats.stalestAgeNanos() < EventLoopHeartbeats.STALE_AFTER_NANOS;
  }

  public String livezBody() {
    long ageMillis = heartbeats.stalestAgeNanos() / 1_000_000;
    return live()
        ? "[+]event-loops ok (" + heartbeats.loops() + " loops)\nlivez check passed\n"
        : "[-]event-loops an admission event loop has been blocked for "
            + ageMillis
            + " ms\nlivez check failed\n";
  }
}
