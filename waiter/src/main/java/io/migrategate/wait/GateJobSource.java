package io.migrategate.wait;

import io.migrategate.core.Backoff;
import io.migrategate.core.JobVerdict;
import io.migrategate.core.Json;
import io.migrategate.core.WaitLine;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.function.Consumer;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;

/**
 * Gate mode: asks the gate's wait API about the Jobs instead of the API server, so the pod's
 * ServiceAccount needs no RBAC and the API server sees no request per waiting pod. One streamed
 * request per waiter for all its Jobs ({@code GET /wait/v1/namespaces/NS/jobs?names=...}, newline-
 * delimited JSON, docs/gate-wait-api.md); the gate judges each Job with the same {@link JobVerdict}
 * code and the pod's revision, so the events are {@link JobEvent.Judged} or {@link
 * JobEvent.Missing}.
 *
 * <p>The gate unavailable (connection refused, 5xx, the stream cut by a gate restart) → reconnect
 * with jittered back-off, logged once per outage. 401/403 end the wait (exit 4), except within a
 * short grace period after access worked, when a restarting gate or a rotating token is the more
 * likely cause. A stream silent for longer than {@link #SILENCE_LIMIT} (the gate sends a heartbeat
 * line every 15 s) is treated as lost: it catches half-open connections.
 *
 * <p>Transport as in direct mode ({@link KubeApi}): blocking {@link HttpsURLConnection} on the
 * follower's thread with {@link ClosableSockets}, so {@link #close()} cuts the connection at once
 * and no thread sits in a native read when the JVM exits.
 */
final class GateJobSource implements JobSource {
  static final String API_PATH = "/wait/v1/namespaces/";
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  static final Duration RECONNECT_INITIAL = Duration.ofMillis(100);
  static final Duration RECONNECT_MAX = Duration.ofSeconds(5);
  static final Duration SILENCE_LIMIT = Duration.ofSeconds(45);
  static final Duration DENIED_GRACE = ConnectionHealth.DENIED_GRACE;

  private final GateEndpoint endpoint;
  private final String revision;
  private final ClosableSockets sockets;
  private volatile boolean closed;
  private volatile Thread follower;

  private GateJobSource(GateEndpoint endpoint, String revision, SSLContext tls) {
    this.endpoint = endpoint;
    this.revision = revision;
    this.sockets = ClosableSockets.installedAsDefault(tls.getSocketFactory());
  }

  /**
   * Checks what can be checked before the first request: the CA parses, the token file is there.
   *
   * @throws ApiAccess.AccessException naming the file or setting to fix (exit 64)
   */
  static GateJobSource create(GateEndpoint endpoint, String revision) {
    if (!Files.isReadable(endpoint.tokenFile())) {
      throw new ApiAccess.AccessException(
          "gate mode: no readable token at "
              + endpoint.tokenFile()
              + " (--token-file or MIGRATE_GATE_TOKEN_FILE); the webhook mounts a projected"
              + " ServiceAccount token with audience migrate-gate there");
    }
    return new GateJobSource(endpoint, revision, tls(endpoint));
  }

  @Override
  public void follow(String namespace, String job, Consumer<JobEvent> events) {
    followAll(namespace, List.of(job), events);
  }

  @Override
  public void followAll(String namespace, List<String> jobs, Consumer<JobEvent> events) {
    if (follower != null) {
      throw new IllegalStateException("this source already follows Jobs");
    }
    Thread thread = new Thread(new Follower(namespace, jobs, events), "gate-follow");
    thread.setDaemon(true);
    follower = thread;
    thread.start();
  }

  /** Cuts the connection; a blocked read fails at once. Never blocks. */
  @Override
  public void close() {
    closed = true;
    sockets.closeAll();
    Thread thread = follower;
    if (thread != null) {
      thread.interrupt();
    }
  }

  /** How one streamed response ended. */
  private enum StreamEnd {
    /** The gate sent the verdict: nothing more to follow. */
    VERDICT,
    /** The gate ended the stream without a verdict (it is shutting down): reconnect. */
    ENDED,
    /** Connection broken or silent: reconnect after a back-off. */
    LOST
  }

  private final class Follower implements Runnable {
    private final String namespace;
    private final List<String> jobs;
    private final Consumer<JobEvent> events;
    private final URI uri;
    private final ConnectionHealth health;

    Follower(String namespace, List<String> jobs, Consumer<JobEvent> events) {
      this.namespace = namespace;
      this.jobs = List.copyOf(jobs);
      this.events = events;
      this.health =
          new ConnectionHealth(
              events,
              null,
              "gate",
              "the gate denied access",
              "the token was just rotated or the gate is restarting",
              new Backoff(RECONNECT_INITIAL, RECONNECT_MAX));
      this.uri = waitUri(endpoint.url(), namespace, jobs, revision);
    }

    @Override
    public void run() {
      try {
        while (!closed) {
          String token;
          try {
            token = Files.readString(endpoint.tokenFile(), StandardCharsets.UTF_8).trim();
          } catch (IOException e) {
            health.lost("cannot read the token " + endpoint.tokenFile() + " (" + brief(e) + ")");
            health.pause();
            continue;
          }
          HttpURLConnection connection;
          int status;
          try {
            connection = open(token);
            status = connection.getResponseCode();
          } catch (IOException | UncheckedIOException e) {
            if (closed) {
              return;
            }
            health.lost("cannot reach the gate at " + endpoint.url() + " (" + brief(e) + ")");
            health.pause();
            continue;
          }
          try {
            if (status == HttpURLConnection.HTTP_OK) {
              StreamEnd end = read(connection.getInputStream());
              if (end == StreamEnd.VERDICT || closed) {
                return;
              }
              if (end == StreamEnd.LOST) {
                health.lost("the connection to the gate broke");
              }
              health.pause();
              continue;
            }
            String message = errorMessage(connection.getErrorStream());
            if (status == HttpURLConnection.HTTP_UNAUTHORIZED
                || status == HttpURLConnection.HTTP_FORBIDDEN) {
              if (health.deniedIsFinal(status)) {
                events.accept(new JobEvent.Denied(null, denied(status, message)));
                return;
              }
            } else {
              health.lost("the gate answered HTTP " + status + ": " + message);
            }
          } catch (IOException e) {
            if (closed) {
              return;
            }
            health.lost("the connection to the gate broke (" + brief(e) + ")");
          } finally {
            connection.disconnect();
          }
          health.pause();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        if (!closed) {
          events.accept(new JobEvent.Notice(null, "internal_error", "gate follower stopped: " + e));
        }
      }
    }

    private HttpURLConnection open(String token) throws IOException {
      if (closed) {
        throw new IOException("closed");
      }
      // In-cluster traffic to the gate's Service: never through an HTTP proxy.
      HttpsURLConnection connection =
          (HttpsURLConnection) uri.toURL().openConnection(Proxy.NO_PROXY);
      sockets.configure(connection);
      connection.setConnectTimeout((int) CONNECT_TIMEOUT.toMillis());
      // No line (the gate sends a heartbeat every 15 s) for this long: the connection is dead.
      connection.setReadTimeout((int) SILENCE_LIMIT.toMillis());
      connection.setRequestProperty("Accept", "application/x-ndjson");
      connection.setRequestProperty("User-Agent", "migrate-gate-waiter");
      connection.setRequestProperty("Authorization", "Bearer " + token);
      return connection;
    }

    private StreamEnd read(InputStream body) {
      try (BufferedReader reader =
          new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
        String line;
        boolean first = true;
        while ((line = reader.readLine()) != null) {
          if (line.isBlank()) {
            continue;
          }
          if (first) {
            first = false;
            health.restored();
          }
          if (handle(WaitLine.decode(line))) {
            return StreamEnd.VERDICT;
          }
        }
        return StreamEnd.ENDED;
      } catch (IOException | UncheckedIOException e) {
        return StreamEnd.LOST;
      } catch (IllegalArgumentException e) {
        // not JSON: a proxy's error page or a broken gate; reconnecting is all we can do
        return StreamEnd.LOST;
      }
    }

    /** Turns one line into events; true when it is the final verdict. */
    private boolean handle(WaitLine line) {
      if (line instanceof WaitLine.Job answer) {
        if (answer.job() == null || !jobs.contains(answer.job())) {
          return false;
        }
        if (!answer.found()) {
          events.accept(new JobEvent.Missing(answer.job()));
          return false;
        }
        JobVerdict verdict = answer.verdict();
        if (verdict != null) { // null: a newer gate's phase; keep waiting for one this one knows
          events.accept(new JobEvent.Judged(answer.job(), answer.uid(), verdict));
        }
        return false;
      }
      if (line instanceof WaitLine.Notice notice) {
        events.accept(
            new JobEvent.Notice(
                null,
                "gate_" + (notice.event() == null ? "notice" : notice.event()),
                notice.message() == null ? "" : notice.message()));
        return false;
      }
      return line instanceof WaitLine.Verdict; // else a heartbeat, or a line type of a newer gate
    }

    private String denied(int status, String message) {
      String what =
          status == HttpURLConnection.HTTP_UNAUTHORIZED ? "unauthenticated" : "not permitted";
      return what
          + ": the gate at "
          + endpoint.url()
          + " answered HTTP "
          + status
          + " for jobs "
          + String.join(",", jobs)
          + " in namespace "
          + namespace
          + ": "
          + message
          + (status == HttpURLConnection.HTTP_UNAUTHORIZED
              ? " (token file " + endpoint.tokenFile() + ")"
              : "");
    }
  }

  /** {@code BASE/wait/v1/namespaces/NS/jobs?names=a,b[&revision=R]}. */
  static URI waitUri(URI base, String namespace, Collection<String> jobs, String revision) {
    StringBuilder uri =
        new StringBuilder(base.toString())
            .append(API_PATH)
            .append(namespace)
            .append("/jobs?names=")
            .append(URLEncoder.encode(String.join(",", jobs), StandardCharsets.UTF_8));
    if (revision != null && !revision.isBlank()) {
      uri.append("&revision=").append(URLEncoder.encode(revision, StandardCharsets.UTF_8));
    }
    return URI.create(uri.toString());
  }

  /** The error body's message, else the body, bounded. */
  private static String errorMessage(InputStream stream) {
    if (stream == null) {
      return "(empty body)";
    }
    String body;
    try (InputStream in = stream) {
      body = new String(in.readNBytes(4096), StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      return "(no body: " + brief(e) + ")";
    }
    try {
      // any JSON message: the gate's error line, or a Kubernetes Status from whatever answered
      String message = Json.text(Json.object(body), "message");
      if (message != null) {
        return message;
      }
    } catch (IllegalArgumentException e) {
      // not JSON: the body as it is
    }
    return body.isEmpty() ? "(empty body)" : body;
  }

  private static SSLContext tls(GateEndpoint endpoint) {
    byte[] pem;
    String origin;
    if (endpoint.caFile().isPresent()) {
      Path file = endpoint.caFile().get();
      origin = "--gate-ca-file " + file;
      try {
        pem = Files.readAllBytes(file);
      } catch (IOException e) {
        throw new ApiAccess.AccessException("gate mode: cannot read " + origin + ": " + brief(e));
      }
    } else if (endpoint.caPem().isPresent()) {
      origin = "MIGRATE_GATE_CA";
      pem = endpoint.caPem().get().getBytes(StandardCharsets.US_ASCII);
    } else {
      try {
        return SSLContext.getDefault(); // the JDK's CAs: a gate with a publicly trusted certificate
      } catch (GeneralSecurityException e) {
        throw new ApiAccess.AccessException("gate mode: no default TLS context: " + e);
      }
    }
    try {
      List<Certificate> cas =
          List.copyOf(
              CertificateFactory.getInstance("X.509")
                  .generateCertificates(new ByteArrayInputStream(pem)));
      if (cas.isEmpty()) {
        throw new ApiAccess.AccessException(
            "gate mode: no PEM certificate in " + origin + "; give the CA that signed the gate's");
      }
      return OwnTrust.context(cas, null);
    } catch (GeneralSecurityException | IOException e) {
      throw new ApiAccess.AccessException(
          "gate mode: cannot read the CA in " + origin + ": " + e.getMessage());
    }
  }

  private static String brief(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage();
    return root.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }
}
