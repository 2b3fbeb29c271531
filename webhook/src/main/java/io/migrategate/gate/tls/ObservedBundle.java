package io.migrategate.gate.tls;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.migrategate.certs.CaBundle;
import io.migrategate.certs.PemException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The caBundle of every webhook entry of our MutatingWebhookConfiguration, as last observed.
 *
 * @param name the configuration's name
 * @param exists whether the configuration exists
 * @param resourceVersion its resourceVersion (null when absent)
 * @param webhooks each webhook entry with the CAs its caBundle holds
 */
record ObservedBundle(String name, boolean exists, String resourceVersion, List<Entry> webhooks) {

  /**
   * One webhook entry.
   *
   * @param index position in {@code webhooks}, for JSON patch paths
   * @param cas the CAs of its caBundle (empty when absent or unreadable)
   * @param problem why the caBundle could not be read, or null
   */
  record Entry(int index, String name, List<X509Certificate> cas, String problem) {
    Entry {
      cas = List.copyOf(cas);
    }
  }

  ObservedBundle {
    webhooks = List.copyOf(webhooks);
  }

  static ObservedBundle absent(String name) {
    return new ObservedBundle(name, false, null, List.of());
  }

  static ObservedBundle of(String name, MutatingWebhookConfiguration configuration) {
    if (configuration == null) {
      return absent(name);
    }
    List<Entry> entries = new ArrayList<>();
    List<MutatingWebhook> webhooks =
        configuration.getWebhooks() == null ? List.of() : configuration.getWebhooks();
    for (int i = 0; i < webhooks.size(); i++) {
      MutatingWebhook webhook = webhooks.get(i);
      String bundle =
          webhook.getClientConfig() == null ? null : webhook.getClientConfig().getCaBundle();
      List<X509Certificate> cas = List.of();
      String problem = null;
      if (bundle != null && !bundle.isBlank()) {
        try {
          cas = CaBundle.decode(bundle);
        } catch (PemException e) {
          problem = e.getMessage();
        }
      }
      entries.add(new Entry(i, webhook.getName(), cas, problem));
    }
    return new ObservedBundle(
        name, true, configuration.getMetadata().getResourceVersion(), entries);
  }

  /** Whether every webhook entry's caBundle holds {@code ca}: the API server will trust it. */
  boolean trusts(X509Certificate ca) {
    return exists
        && !webhooks.isEmpty()
        && webhooks.stream().allMatch(entry -> entry.cas().contains(ca));
  }

  /** The CAs every webhook entry trusts. */
  Set<X509Certificate> trustedByAll() {
    Set<X509Certificate> common = new LinkedHashSet<>();
    if (!exists || webhooks.isEmpty()) {
      return common;
    }
    common.addAll(webhooks.get(0).cas());
    for (Entry entry : webhooks) {
      common.retainAll(entry.cas());
    }
    return common;
  }

  /** Null when every entry holds exactly the merged bundle; otherwise what differs. */
  String differenceFrom(List<X509Certificate> trusted, Instant now, Duration grace) {
    if (!exists) {
      return "MutatingWebhookConfiguration " + name + " not found";
    }
    if (webhooks.isEmpty()) {
      return "MutatingWebhookConfiguration " + name + " has no webhooks";
    }
    List<String> differences = new ArrayList<>();
    for (Entry entry : webhooks) {
      List<X509Certificate> desired = CaBundleMerge.merge(entry.cas(), trusted, now, grace);
      if (entry.problem() != null) {
        differences.add(
            "webhook " + entry.name() + ": unreadable caBundle (" + entry.problem() + ")");
      } else if (!CaBundleMerge.sameCas(entry.cas(), desired)) {
        List<String> missing = CaBundleMerge.serialsAdded(entry.cas(), desired);
        List<String> stale = CaBundleMerge.serialsAdded(desired, entry.cas());
        differences.add(
            "webhook "
                + entry.name()
                + (missing.isEmpty() ? "" : ": missing CA serials " + missing)
                + (stale.isEmpty() ? "" : ": expired CA serials " + stale));
      }
    }
    return differences.isEmpty() ? null : String.join("; ", differences);
  }
}
