package io.migrategate.wait;

import io.migrategate.core.Backoff;
import io.migrategate.core.JobSnapshot;
import io.migrategate.core.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Follows Jobs through the Kubernetes API with the pod's own credentials (direct mode): GET the
 * Job, then WATCH from its resourceVersion with {@code fieldSelector=metadata.name=<job>}, so a
 * Role restricted by {@code resourceNames} is enough.
 *
 * <p>Watch ended by the server or 410 Gone → GET again; connection errors → GET again after a
 * jittered back-off; watch forbidden → jittered polling with GET. A 401/403 on GET ends the wait
 * (exit 4), except for a short grace period once access has worked, when it more likely comes from
 * an API server that is still starting.
 */
final class KubernetesJobSource implements JobSource {
  static final Duration POLL_INTERVAL = Duration.ofSeconds(5);
  static final Duration RECONNECT_INITIAL = Duration.ofMillis(100);
  static final Duration RECONNECT_MAX = Duration.ofSeconds(5);

  /** A watch that ends sooner than this is followed by a back-off before the next GET. */
  static final Duration SHORT_WATCH = Duration.ofSeconds(1);

  /** A watch that stays silent this long past its timeoutSeconds is a dead connection. */
  static final Duration WATCH_IDLE_GRACE = Duration.ofSeconds(30);

  /** How long a 401/403 is retried when access worked before (an API server restarting). */
  static final Duration DENIED_GRACE = ConnectionHealth.DENIED_GRACE;

  private static final Pattern FORBIDDEN_USER = Pattern.compile("User \"([^\"]+)\" cannot");

  private final KubeApi api;
  private final List<Thread> followers = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  KubernetesJobSource(KubeApi api) {
    this.api = api;
  }

  @Override
  public void follow(String namespace, String job, Consumer<JobEvent> events) {
    Thread follower = new Thread(new Follower(namespace, job, events), "follow-" + job);
    follower.setDaemon(true);
    followers.add(follower);
    follower.start();
  }

  /** Stops at once: cuts the connections (no thread left in a blocking read) and the followers. */
  @Override
  public void close() {
    closed = true;
    api.close();
    followers.forEach(Thread::interrupt);
  }

  /** How one watch ended. */
  private enum WatchEnd {
    /** The server ended it (timeout), 410 Gone or an ERROR event: GET again right away. */
    RELIST,
    /** Connection lost: GET again after a back-off. */
    DISCONNECTED,
    /** 403 on watch: poll instead. */
    WATCH_FORBIDDEN
  }

  private final class Follower implements Runnable {
    private final String namespace;
    private final String job;
    private final Consumer<JobEvent> events;
    private final String jobPath;
    private final String collectionPath;
    private final Backoff shortWatches = new Backoff(RECONNECT_INITIAL, RECONNECT_MAX);
    private boolean polling;
    private final ConnectionHealth health;

    Follower(String namespace, String job, Consumer<JobEvent> events) {
      this.namespace = namespace;
      this.job = job;
      this.events = events;
      this.health =
          new ConnectionHealth(
              events,
              job,
              "API server",
              "access denied",
              "the API server is still starting",
              new Backoff(RECONNECT_INITIAL, RECONNECT_MAX));
      this.collectionPath = "/apis/batch/v1/namespaces/" + namespace + "/jobs";
      this.jobPath = collectionPath + "/" + job;
    }

    @Override
    public void run() {
      try {
        while (!closed) {
          try {
            if (!step()) {
              return;
            }
          } catch (RuntimeException e) {
            // An answer the waiter cannot read (e.g. not JSON): say so once, then start over.
            health.lost("unreadable answer from the API server (" + brief(e) + ")");
            health.pause();
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    /** One GET, then one watch (or one poll interval); false when following must stop. */
    private boolean step() throws InterruptedException {
      KubeApi.Response response;
      try {
        response = api.get(jobPath);
      } catch (IOException | UncheckedIOException e) {
        if (closed) {
          return false;
        }
        health.lost("cannot reach the API server (" + brief(e) + ")");
        health.pause();
        return true;
      }
      int status = response.status();
      if (status == HttpURLConnection.HTTP_UNAUTHORIZED
          || status == HttpURLConnection.HTTP_FORBIDDEN) {
        if (health.deniedIsFinal(status)) {
          events.accept(new JobEvent.Denied(job, deniedMessage("get", status, response.body())));
          return false;
        }
        health.pause();
        return true;
      }
      String resourceVersion = null;
      if (status == HttpURLConnection.HTTP_NOT_FOUND) {
        health.restored();
        events.accept(new JobEvent.Missing(job));
      } else if (status == HttpURLConnection.HTTP_OK) {
        health.restored();
        JobSnapshot object = JobSnapshot.fromJson(Json.object(response.body()));
        resourceVersion = object.resourceVersion();
        events.accept(new JobEvent.Observed(job, object));
      } else {
        health.lost(
            "the API server answered HTTP " + status + ": " + statusMessage(response.body()));
        health.pause();
        return true;
      }
      if (polling) {
        Thread.sleep(Backoff.jitter(POLL_INTERVAL).toMillis());
        return true;
      }
      long watchStart = System.nanoTime();
      switch (watch(resourceVersion)) {
        case RELIST -> {
          // A watch that keeps ending at once (e.g. a proxy cutting streams) must not turn into
          // a tight GET/WATCH loop against the API server.
          if (System.nanoTime() - watchStart < SHORT_WATCH.toNanos()) {
            Thread.sleep(shortWatches.next().toMillis());
          } else {
            shortWatches.reset();
          }
        }
        case WATCH_FORBIDDEN -> {
          polling = true;
          events.accept(
              new JobEvent.Notice(
                  job,
                  "polling",
                  "watch not permitted (verb watch on jobs.batch \""
                      + job
                      + "\" in namespace "
                      + namespace
                      + " for "
                      + identity(null)
                      + "); polling every ~"
                      + POLL_INTERVAL.toSeconds()
                      + " s instead"));
        }
        case DISCONNECTED -> health.pause();
      }
      return true;
    }

    /**
     * Watches from {@code resourceVersion}; without one (the Job did not exist) from "now", which
     * starts with the current state, so a Job created since the GET is not missed.
     */
    private WatchEnd watch(String resourceVersion) {
      int timeoutSeconds = 240 + ThreadLocalRandom.current().nextInt(120);
      StringBuilder path =
          new StringBuilder(collectionPath)
              .append("?watch=true&allowWatchBookmarks=true&fieldSelector=")
              .append(URLEncoder.encode("metadata.name=" + job, StandardCharsets.UTF_8))
              // the server ends the watch after this; the fresh GET that follows also catches a
              // connection that died without a word
              .append("&timeoutSeconds=")
              .append(timeoutSeconds);
      if (resourceVersion != null) {
        path.append("&resourceVersion=")
            .append(URLEncoder.encode(resourceVersion, StandardCharsets.UTF_8));
      }
      try (KubeApi.Watch watch =
          api.watch(path.toString(), Duration.ofSeconds(timeoutSeconds).plus(WATCH_IDLE_GRACE))) {
        int status = watch.status();
        if (status != HttpURLConnection.HTTP_OK) {
          return switch (status) {
            case HttpURLConnection.HTTP_FORBIDDEN -> WatchEnd.WATCH_FORBIDDEN;
            case HttpURLConnection.HTTP_GONE -> WatchEnd.RELIST;
            default -> WatchEnd.DISCONNECTED;
          };
        }
        for (String line = watch.nextLine(); line != null; line = watch.nextLine()) {
          if (line.isBlank()) {
            continue;
          }
          Map<String, Object> event = Json.object(line);
          switch (String.valueOf(event.get("type"))) {
            case "ADDED", "MODIFIED" ->
                events.accept(
                    new JobEvent.Observed(
                        job, JobSnapshot.fromJson(Json.map(event.get("object")))));
            case "DELETED" -> events.accept(new JobEvent.Missing(job));
            case "BOOKMARK" -> {}
            default -> {
              // ERROR: a Status, typically 410 Gone (resourceVersion too old): start over
              return WatchEnd.RELIST;
            }
          }
        }
        return WatchEnd.RELIST;
      } catch (IOException | UncheckedIOException e) {
        if (closed) {
          return WatchEnd.RELIST;
        }
        health.lost("watch connection lost (" + brief(e) + ")");
        return WatchEnd.DISCONNECTED;
      }
    }

    private String deniedMessage(String verb, int status, String body) {
      String who = identity(body);
      String resource = "jobs.batch \"" + job + "\" in namespace " + namespace;
      if (status == HttpURLConnection.HTTP_UNAUTHORIZED) {
        return "unauthenticated: the API server rejected the credentials of "
            + who
            + " (HTTP 401) when trying to "
            + verb
            + " "
            + resource
            + "; check that the ServiceAccount token is mounted and valid";
      }
      return "not permitted: "
          + who
          + " cannot "
          + verb
          + " "
          + resource
          + "; bind it a Role with apiGroups [batch], resources [jobs], resourceNames ["
          + job
          + "], verbs [get, list, watch] (see docs/waiter.md)";
    }

    /** Who we are, as the API server names us in a 403, else as the credentials say. */
    private String identity(String statusBody) {
      String user = null;
      if (statusBody != null) {
        Matcher m = FORBIDDEN_USER.matcher(statusMessage(statusBody));
        if (m.find()) {
          user = m.group(1);
        }
      }
      if (user == null) {
        user = api.access().identity();
      }
      if (user == null) {
        return "the configured credentials";
      }
      String prefix = "system:serviceaccount:";
      if (user.startsWith(prefix)) {
        String[] parts = user.substring(prefix.length()).split(":", 2);
        if (parts.length == 2) {
          return "ServiceAccount " + parts[0] + "/" + parts[1];
        }
      }
      return "user " + user;
    }
  }

  /** The message of a Status body, or the body itself when it is not one. */
  static String statusMessage(String body) {
    try {
      String message = Json.text(Json.object(body), "message");
      return message != null ? message : body;
    } catch (IllegalArgumentException e) {
      return body;
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
