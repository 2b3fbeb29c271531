package io.migrategate.gate.tls;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** The caBundle of our MutatingWebhookConfiguration: observed through a watch, merged by patch. */
interface WebhookCaBundle extends AutoCloseable {

  /** What a merge did: the bundle now held by the API, and the CA serials added and pruned. */
  record Update(
      ObservedBundle observed, boolean patched, List<String> added, List<String> pruned) {}

  /** Starts watching; {@code onChange} runs (on a watch thread) whenever the object changes. */
  void start(Runnable onChange);

  /** The configuration as last seen (watch cache once synced, else a direct read). */
  ObservedBundle read();

  /**
   * Makes every webhook entry's caBundle {@link CaBundleMerge#merge} of what it holds and {@code
   * trusted}, with a patch conditional on the resourceVersion it was computed from (re-read and
   * recomputed on conflict). Does nothing when the configuration is absent or already merged.
   */
  Update ensureTrusts(List<X509Certificate> trusted, Instant now, Duration grace);

  @Override
  void close();
}
