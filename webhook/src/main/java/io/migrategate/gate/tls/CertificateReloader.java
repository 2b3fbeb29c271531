package io.migrategate.gate.tls;

import io.migrategate.gate.Gate;
import io.migrategate.gate.observability.GateLog;
import io.migrategate.gate.observability.GateMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Serves a new certificate when its files change, without restart.
 *
 * <p>Kubernetes updates a Secret volume by writing a new timestamped directory and swapping the
 * {@code ..data} symlink, so the files' own inodes never change: the reloader watches the
 * directories holding the configured paths, waits until events stop for a moment (a writer may
 * touch the two files separately), and then reads both files. A pair is applied only when both
 * parse and the key matches the certificate; otherwise the current certificate stays in service and
 * the failure is logged once per distinct content. A slow periodic check backs up the watch (some
 * filesystems deliver no events).
 */
public final class CertificateReloader implements CertificateSource {
  private final Vertx vertx;
  private final Path certificateFile;
  private final Path keyFile;
  private final GateMetrics metrics;
  private final GateLog log;
  private final Duration debounce;
  private final Duration pollInterval;

  private volatile ServingCertificate current;
  private volatile boolean closed;
  private String lastFailedHash;
  private volatile WatchService watchService;
  private Thread thread;

  public CertificateReloader(
      Vertx vertx,
      Path certificateFile,
      Path keyFile,
      GateMetrics metrics,
      GateLog log,
      Duration debounce,
      Duration pollInterval) {
    this.vertx = vertx;
    this.certificateFile = certificateFile;
    this.keyFile = keyFile;
    this.metrics = metrics;
    this.log = log;
    this.debounce = debounce;
    this.pollInterval = pollInterval;
  }

  /** Reads the pair the server starts with; the gate does not start without a valid one. */
  @Override
  public ServingCertificate loadInitial() throws Gate.StartException {
    ServingCertificate certificate;
    try {
      certificate = ServingCertificate.load(vertx, certificateFile, keyFile);
    } catch (ServingCertificate.InvalidCertificateException e) {
      throw new Gate.StartException(
          e.getMessage() + ": fix --tls-cert-file/--tls-key-file (PEM certificate and its key)", e);
    }
    current = certificate;
    metrics.certificateNotAfter(certificate.notAfter().getEpochSecond());
    return certificate;
  }

  @Override
  public ServingCertificate current() {
    return current;
  }

  /**
   * Starts watching. {@code apply} installs a validated certificate in the running server; the
   * reloader counts it as served only when that future succeeds.
   */
  @Override
  public void start(Function<ServingCertificate, Future<?>> apply) {
    Set<Path> directories = new LinkedHashSet<>();
    directories.add(directoryOf(certificateFile));
    directories.add(directoryOf(keyFile));
    try {
      watchService = FileSystems.getDefault().newWatchService();
      for (Path directory : directories) {
        directory.register(
            watchService,
            StandardWatchEventKinds.ENTRY_CREATE,
            StandardWatchEventKinds.ENTRY_MODIFY,
            StandardWatchEventKinds.ENTRY_DELETE);
      }
    } catch (IOException e) {
      log.warn(
          "tls watch unavailable, checking periodically",
          "directories",
          directories,
          "interval",
          pollInterval,
          "error",
          e.toString());
      closeWatchService();
    }
    thread = new Thread(() -> run(apply), "migrate-gate-tls-reloader");
    thread.setDaemon(true);
    thread.start();
  }

  private static Path directoryOf(Path file) {
    Path parent = file.toAbsolutePath().getParent();
    return parent == null ? Path.of("/") : parent;
  }

  private void run(Function<ServingCertificate, Future<?>> apply) {
    while (!closed) {
      try {
        awaitChangeOrPollInterval();
        if (!closed) {
          reloadIfChanged(apply);
        }
      } catch (InterruptedException | ClosedWatchServiceException e) {
        return;
      } catch (RuntimeException e) {
        // Keep watching: one odd file state must not end certificate rotation for good.
        log.error("tls reload check failed", "error", e.toString());
      }
    }
  }

  /** Returns once events have stopped for the debounce period, or after the poll interval. */
  private void awaitChangeOrPollInterval() throws InterruptedException {
    WatchService service = watchService;
    if (service == null) {
      Thread.sleep(pollInterval.toMillis());
      return;
    }
    WatchKey key = service.poll(pollInterval.toMillis(), TimeUnit.MILLISECONDS);
    // A directory that never stops changing still gets checked every few seconds.
    long settleDeadline = System.nanoTime() + debounce.multipliedBy(20).toNanos();
    while (key != null && System.nanoTime() < settleDeadline) {
      key.pollEvents();
      key.reset();
      key = service.poll(debounce.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void reloadIfChanged(Function<ServingCertificate, Future<?>> apply)
      throws InterruptedException {
    byte[] certificate;
    byte[] key;
    try {
      certificate = Files.readAllBytes(certificateFile);
      key = Files.readAllBytes(keyFile);
    } catch (IOException e) {
      // Mid-swap a path can be missing for an instant; the next event or poll retries.
      failed("unreadable:" + e.getMessage(), "cannot read certificate files: " + e);
      return;
    }
    String hash = ServingCertificate.hash(certificate, key);
    ServingCertificate serving = current;
    if (serving != null && hash.equals(serving.contentHash())) {
      lastFailedHash = null;
      return;
    }
    if (hash.equals(lastFailedHash)) {
      return;
    }
    ServingCertificate next;
    try {
      next = ServingCertificate.parse(vertx, certificate, key, certificateFile, keyFile);
    } catch (ServingCertificate.InvalidCertificateException e) {
      failed(hash, e.getMessage());
      return;
    }
    try {
      apply.apply(next).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      throw e;
    } catch (Exception e) {
      failed(hash, "the HTTPS server refused the new certificate: " + e);
      return;
    }
    current = next;
    lastFailedHash = null;
    metrics.tlsReloaded(true);
    metrics.certificateNotAfter(next.notAfter().getEpochSecond());
    log.info(
        "tls reloaded",
        "serial",
        next.serialHex(),
        "subject",
        next.subject(),
        "not_after",
        next.notAfter(),
        "previous_serial",
        serving == null ? "" : serving.serialHex());
  }

  private void failed(String contentKey, String reason) {
    if (contentKey.equals(lastFailedHash)) {
      return;
    }
    lastFailedHash = contentKey;
    metrics.tlsReloaded(false);
    ServingCertificate serving = current;
    log.warn(
        "tls reload failed, still serving the previous certificate",
        "serving_serial",
        serving == null ? "" : serving.serialHex(),
        "reason",
        reason);
  }

  @Override
  public void close() {
    closed = true;
    closeWatchService();
    if (thread != null) {
      thread.interrupt();
    }
  }

  private void closeWatchService() {
    WatchService service = watchService;
    watchService = null;
    if (service != null) {
      try {
        service.close();
      } catch (IOException e) {
        // closing: nothing left to do
      }
    }
  }
}
