package io.migrategate.gate.tls;

import io.migrategate.gate.observability.PrometheusText;
import java.time.Instant;

/**
 * Self-managed TLS as of {@code evaluatedAt}, for /readyz and /metrics. Ready means: a serving
 * certificate valid now, whose issuer every webhook entry's caBundle holds, so the API server
 * accepts this replica's TLS handshake.
 *
 * @param servingSerial serial (hex) of the certificate in service; null before the first one
 * @param servingIssuerTrusted whether the observed caBundle holds the serving certificate's issuer
 * @param caSerial serial (hex) of the signing CA; null before it is known
 * @param trustedCas how many CAs the CA Secret says clients must trust (2 during a rotation)
 * @param caBundleInSync whether every webhook entry's caBundle is exactly the merge of the trusted
 *     CAs and its own still-valid CAs
 * @param caBundleDetail what differs when not in sync, else null
 * @param lastError the last failure of a lifecycle step (API error, RBAC), else null
 */
public record TlsStatus(
    Instant evaluatedAt,
    String servingSerial,
    Instant servingNotAfter,
    Instant servingRenewAt,
    String servingIssuerSerial,
    boolean servingIssuerTrusted,
    String caSerial,
    Instant caNotAfter,
    Instant caRotateAt,
    int trustedCas,
    String webhookConfigurationName,
    boolean caBundleInSync,
    String caBundleDetail,
    String lastError,
    long servingCertificatesIssued,
    long caRotations,
    long caBundlePatches,
    long caBundlePatchFailures) {

  /** Whether a serving certificate is in service and valid at {@code evaluatedAt}. */
  public boolean servingValid() {
    return servingNotAfter != null && evaluatedAt.isBefore(servingNotAfter);
  }

  public boolean ready() {
    return servingValid() && servingIssuerTrusted;
  }

  /** The same facts at another instant (readiness depends on the time). */
  public TlsStatus at(Instant now) {
    return new TlsStatus(
        now,
        servingSerial,
        servingNotAfter,
        servingRenewAt,
        servingIssuerSerial,
        servingIssuerTrusted,
        caSerial,
        caNotAfter,
        caRotateAt,
        trustedCas,
        webhookConfigurationName,
        caBundleInSync,
        caBundleDetail,
        lastError,
        servingCertificatesIssued,
        caRotations,
        caBundlePatches,
        caBundlePatchFailures);
  }

  /**
   * Kubernetes-style check lines for /readyz: {@code [+]} passing, {@code [-]} failing (not ready),
   * {@code [!]} a note that does not affect readiness.
   */
  public String readyzLines() {
    StringBuilder out = new StringBuilder(256);
    if (servingSerial == null) {
      out.append("[-]tls-serving no serving certificate yet");
      if (lastError != null) {
        out.append(": ").append(lastError);
      }
      out.append('\n');
    } else if (!servingValid()) {
      out.append("[-]tls-serving certificate serial=")
          .append(servingSerial)
          .append(" expired at ")
          .append(servingNotAfter)
          .append('\n');
    } else {
      out.append("[+]tls-serving ok serial=")
          .append(servingSerial)
          .append(" not_after=")
          .append(servingNotAfter)
          .append(" renew_at=")
          .append(servingRenewAt)
          .append('\n');
    }
    if (servingSerial != null) {
      out.append(servingIssuerTrusted ? "[+]tls-issuer-trusted ok" : "[-]tls-issuer-trusted")
          .append(" issuer_serial=")
          .append(servingIssuerSerial)
          .append(servingIssuerTrusted ? " is in" : " is missing from")
          .append(" the caBundle of MutatingWebhookConfiguration ")
          .append(webhookConfigurationName)
          .append('\n');
    }
    if (caBundleInSync) {
      out.append("[+]tls-ca-bundle ok in sync, ca_serial=")
          .append(caSerial)
          .append(" ca_not_after=")
          .append(caNotAfter)
          .append('\n');
    } else {
      out.append("[!]tls-ca-bundle out of sync (does not affect readiness while the issuer is")
          .append(" trusted): ")
          .append(caBundleDetail)
          .append('\n');
    }
    if (lastError != null && servingSerial != null) {
      out.append("[!]tls-last-error ").append(lastError).append('\n');
    }
    return out.toString();
  }

  /** Prometheus text-format lines (HELP, TYPE, sample) for the TLS gauges and counters. */
  public void appendPrometheus(StringBuilder out) {
    new PrometheusText(out)
        .gauge(
            "migrate_gate_ca_not_after_timestamp_seconds",
            "Expiry (Unix time) of the CA that signs this replica's serving certificates.",
            caNotAfter == null ? 0 : caNotAfter.getEpochSecond())
        .gauge(
            "migrate_gate_cabundle_in_sync",
            "1 when every webhook entry's caBundle holds exactly the CAs clients must trust.",
            caBundleInSync ? 1 : 0)
        .gauge(
            "migrate_gate_serving_certificate_issuer_trusted",
            "1 when the caBundle holds the issuer of the certificate this replica serves.",
            servingIssuerTrusted ? 1 : 0)
        .counter(
            "migrate_gate_serving_certificates_issued_total",
            "Serving certificates minted by this replica.",
            servingCertificatesIssued)
        .counter(
            "migrate_gate_ca_rotations_total",
            "Changes of the signing CA seen by this replica since it started.",
            caRotations)
        .family(
            "migrate_gate_cabundle_patches_total",
            "counter",
            "Patches of the caBundle by this replica, by result.")
        .sample(
            "migrate_gate_cabundle_patches_total",
            PrometheusText.label("result", "success"),
            caBundlePatches)
        .sample(
            "migrate_gate_cabundle_patches_total",
            PrometheusText.label("result", "failure"),
            caBundlePatchFailures);
  }
}
