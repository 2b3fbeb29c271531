package io.migrategate.gate.waitapi;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The API server's published ServiceAccount keys ({@link ServiceAccountKeys}), read at start, again
 * every {@link #PERIOD} (a key the API server dropped stops verifying), and soon after a token
 * names an unknown key (a key rotation) — but never more than once per {@link #MIN_INTERVAL}, so
 * tokens with made-up key ids cannot make the gate hammer the API server. Reads run on one thread
 * of their own; a failed read keeps the last keys and says so once.
 */
public final class PublishedKeys implements LocalTokenVerifier.Keys, AutoCloseable {
  static final Duration PERIOD = Duration.ofMinutes(5);
  static final Duration MIN_INTERVAL = Duration.ofSeconds(30);

  private static final Logger LOG = LoggerFactory.getLogger(PublishedKeys.class);

  private final Supplier<ServiceAccountKeys> read;
  private final LongSupplier nanoTime;
  private final ScheduledExecutorService thread;
  private final AtomicLong lastRead = new AtomicLong();
  private final AtomicBoolean failing = new AtomicBoolean();
  private volatile ServiceAccountKeys current;

  PublishedKeys(
      Supplier<ServiceAccountKeys> read, LongSupplier nanoTime, ScheduledExecutorService thread) {
    this.read = read;
    this.nanoTime = nanoTime;
    this.thread = thread;
  }

  /** Reads the keys through {@code client} now (in the background) and every {@link #PERIOD}. */
  public static PublishedKeys start(KubernetesClient client) {
    ScheduledExecutorService thread =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread t = new Thread(runnable, "migrate-gate-service-account-keys");
              t.setDaemon(true);
              return t;
            });
    PublishedKeys keys =
        new PublishedKeys(
            () ->
                ServiceAccountKeys.parse(
                    client.raw(client.getMasterUrl() + ".well-known/openid-configuration"),
                    client.raw(client.getMasterUrl() + "openid/v1/jwks")),
            System::nanoTime,
            thread);
    thread.scheduleWithFixedDelay(keys::readNow, 0, PERIOD.toSeconds(), TimeUnit.SECONDS);
    return keys;
  }

  @Override
  public ServiceAccountKeys current() {
    return current;
  }

  @Override
  public void refreshSoon() {
    long last = lastRead.get();
    long now = nanoTime.getAsLong();
    if (last != 0 && now - last < MIN_INTERVAL.toNanos()) {
      return;
    }
    if (lastRead.compareAndSet(last, now)) {
      thread.execute(this::readNow);
    }
  }

  /** One read; keeps the last keys when it fails. */
  void readNow() {
    lastRead.set(nanoTime.getAsLong());
    try {
      ServiceAccountKeys keys = read.get();
      ServiceAccountKeys previous = current;
      current = keys;
      if (failing.compareAndSet(true, false)
          || previous == null
          || !previous.keys().keySet().equals(keys.keys().keySet())) {
        LOG.info(
            "service account keys state=read issuer={} keys={}", keys.issuer(), keys.keys().size());
      }
    } catch (RuntimeException e) {
      if (failing.compareAndSet(false, true)) {
        LOG.warn(
            "service account keys state=unreadable cause=\"{}\" (waiter tokens go to"
                + " TokenReview; the gate's ServiceAccount needs get on /openid/v1/jwks and"
                + " /.well-known/openid-configuration: ClusterRoleBinding"
                + " system:service-account-issuer-discovery)",
            e.getMessage());
      }
    }
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }
}
