package io.migrategate.wait;

import io.fabric8.kubernetes.api.model.ListOptions;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Follows Jobs through the Kubernetes API with the pod's own credentials (direct mode): GET, then
 * WATCH from the Job's resourceVersion with {@code fieldSelector=metadata.name=<job>}, so that a
 * Role restricted by {@code resourceNames} is enough.
 *
 * <p>410 Gone → GET again; connection errors → GET again after a jittered back-off; watch forbidden
 * → jittered polling with GET. A 401/403 on GET ends the wait (exit 4), except briefly after access
 * has worked, when it is more likely an API server that is still starting.
 */
final class KubernetesJobSource implements JobSource {
  static final Duration POLL_INTERVAL = Duration.ofSeconds(5);
  static final Duration RECONNECT_INITIAL = Duration.ofMillis(100);
  static final Duration RECONNECT_MAX = Duration.ofSeconds(5);

  /** How long a 401/403 is retried when access has worked before (an API server restarting). */
  static final Duration DENIED_GRACE = Duration.ofSeconds(30);

  private static final Pattern FORBIDDEN_USER = Pattern.compile("User \"([^\"]+)\" cannot");
  private static final Pattern TOKEN_SUBJECT = Pattern.compile("\"sub\"\\s*:\\s*\"([^\"]+)\"");

  private final KubernetesClient client;
  private final List<Thread> followers = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  KubernetesJobSource(KubernetesClient client) {
    this.client = client;
  }

  /** A source on the kubeconfig file if given, else {@code KUBECONFIG}, else in-cluster. */
  static KubernetesJobSource connect(Optional<Path> kubeconfig) {
    Config config =
        kubeconfig
            .map(path -> Config.fromKubeconfig(path.toFile()))
            .orElseGet(() -> Config.autoConfigure(null));
    // The follower loop owns reconnects and retries (with jitter and the relist they need).
    config.setWatchReconnectLimit(0);
    config.setRequestRetryBackoffLimit(0);
    config.setConnectionTimeout(5_000);
    config.setRequestTimeout(10_000);
    return new KubernetesJobSource(new KubernetesClientBuilder().withConfig(config).build());
  }

  @Override
  public void follow(String namespace, String job, Consumer<JobEvent> events) {
    Thread follower = new Thread(new Follower(namespace, job, events), "follow-" + job);
    follower.setDaemon(true);
    followers.add(follower);
    follower.start();
  }

  @Override
  public void close() {
    closed = true;
    followers.forEach(Thread::interrupt);
    client.close();
  }

  /** The Job's state changes, as one watch delivers them, until the watch ends. */
  private enum WatchEnd {
    /** 410 Gone or an ERROR event: GET again right away. */
    RELIST,
    /** Connection lost or closed by the server: GET again after a back-off. */
    DISCONNECTED,
    /** 403 on watch: poll instead. */
    WATCH_FORBIDDEN,
    /** 401 on watch. */
    UNAUTHENTICATED
  }

  private final class Follower implements Runnable {
    private final String namespace;
    private final String job;
    private final Consumer<JobEvent> events;
    private final Backoff backoff = new Backoff(RECONNECT_INITIAL, RECONNECT_MAX);
    private boolean polling;
    private boolean outage;
    private boolean permittedBefore;
    private long deniedSinceNanos = -1;

    Follower(String namespace, String job, Consumer<JobEvent> events) {
      this.namespace = namespace;
      this.job = job;
      this.events = events;
    }

    @Override
    public void run() {
      try {
        while (!closed) {
          Job current;
          try {
            current = client.batch().v1().jobs().inNamespace(namespace).withName(job).get();
          } catch (KubernetesClientException e) {
            if (isDenied(e.getCode())) {
              if (deniedIsFinal(e)) {
                events.accept(new JobEvent.Denied(job, deniedMessage("get", e)));
                return;
              }
            } else {
              lost(e);
            }
            Thread.sleep(backoff.next().toMillis());
            continue;
          }
          restored();
          events.accept(
              current == null ? new JobEvent.Missing(job) : new JobEvent.Observed(job, current));
          if (polling) {
            Thread.sleep(Backoff.jitter(POLL_INTERVAL).toMillis());
            continue;
          }
          String resourceVersion =
              current == null ? null : current.getMetadata().getResourceVersion();
          WatchEnd end = watch(resourceVersion);
          switch (end) {
            case RELIST -> {}
            case WATCH_FORBIDDEN -> {
              polling = true;
              events.accept(
                  new JobEvent.Notice(
                      job,
                      "polling",
                      "watch not permitted ("
                          + permission("watch")
                          + "); polling every ~"
                          + POLL_INTERVAL.toSeconds()
                          + " s instead"));
            }
            case UNAUTHENTICATED, DISCONNECTED -> Thread.sleep(backoff.next().toMillis());
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        if (!closed) {
          events.accept(new JobEvent.Notice(job, "internal_error", "follower stopped: " + e));
        }
      }
    }

    /** Watches from {@code resourceVersion} (or from "now", with the current state, if null). */
    private WatchEnd watch(String resourceVersion) throws InterruptedException {
      CompletableFuture<WatchEnd> ended = new CompletableFuture<>();
      ListOptions options =
          new ListOptionsBuilder()
              .withFieldSelector("metadata.name=" + job)
              .withResourceVersion(resourceVersion)
              .withAllowWatchBookmarks(true)
              .build();
      Watch watch;
      try {
        watch =
            client
                .batch()
                .v1()
                .jobs()
                .inNamespace(namespace)
                .watch(
                    options,
                    new Watcher<Job>() {
                      @Override
                      public void eventReceived(Action action, Job object) {
                        switch (action) {
                          case ADDED, MODIFIED -> events.accept(new JobEvent.Observed(job, object));
                          case DELETED -> events.accept(new JobEvent.Missing(job));
                          case ERROR -> ended.complete(WatchEnd.RELIST);
                          case BOOKMARK -> {}
                        }
                      }

                      @Override
                      public void onClose(WatcherException cause) {
                        ended.complete(endOf(cause));
                      }

                      @Override
                      public void onClose() {
                        ended.complete(WatchEnd.DISCONNECTED);
                      }
                    });
      } catch (KubernetesClientException e) {
        return endOf(e);
      }
      try {
        return ended.get();
      } catch (ExecutionException e) {
        return WatchEnd.DISCONNECTED;
      } finally {
        watch.close();
      }
    }

    private WatchEnd endOf(WatcherException cause) {
      if (cause == null) {
        return WatchEnd.DISCONNECTED;
      }
      if (cause.isHttpGone()) {
        return WatchEnd.RELIST;
      }
      return endOf(cause.asClientException());
    }

    private WatchEnd endOf(KubernetesClientException e) {
      return switch (e.getCode()) {
        case HttpURLConnection.HTTP_GONE -> WatchEnd.RELIST;
        case HttpURLConnection.HTTP_FORBIDDEN -> WatchEnd.WATCH_FORBIDDEN;
        case HttpURLConnection.HTTP_UNAUTHORIZED -> WatchEnd.UNAUTHENTICATED;
        default -> WatchEnd.DISCONNECTED;
      };
    }

    /** Whether a 401/403 on GET should end the wait now. */
    private boolean deniedIsFinal(KubernetesClientException e) {
      if (!permittedBefore) {
        return true;
      }
      long now = System.nanoTime();
      if (deniedSinceNanos < 0) {
        deniedSinceNanos = now;
        events.accept(
            new JobEvent.Notice(
                job,
                "denied_retrying",
                "access denied (HTTP "
                    + e.getCode()
                    + ") after it worked; retrying for up to "
                    + DENIED_GRACE.toSeconds()
                    + " s in case the API server is still starting"));
      }
      return now - deniedSinceNanos >= DENIED_GRACE.toNanos();
    }

    private void lost(KubernetesClientException e) {
      if (!outage) {
        outage = true;
        events.accept(
            new JobEvent.Notice(
                job,
                "connection_lost",
                "cannot reach the API server (" + brief(e) + "); retrying"));
      }
    }

    private void restored() {
      backoff.reset();
      permittedBefore = true;
      deniedSinceNanos = -1;
      if (outage) {
        outage = false;
        events.accept(new JobEvent.Notice(job, "reconnected", "API server reachable again"));
      }
    }

    private String permission(String verb) {
      return "verb "
          + verb
          + " on jobs.batch \""
          + job
          + "\" in namespace "
          + namespace
          + " for "
          + identity(null);
    }

    private String deniedMessage(String verb, KubernetesClientException e) {
      String who = identity(e);
      String resource = "jobs.batch \"" + job + "\" in namespace " + namespace;
      if (e.getCode() == HttpURLConnection.HTTP_UNAUTHORIZED) {
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

    /** Who we are, as the API server names us in a 403, else from the bearer token. */
    private String identity(KubernetesClientException e) {
      String user = null;
      if (e != null && e.getStatus() != null && e.getStatus().getMessage() != null) {
        Matcher m = FORBIDDEN_USER.matcher(e.getStatus().getMessage());
        if (m.find()) {
          user = m.group(1);
        }
      }
      if (user == null) {
        user = tokenSubject(client.getConfiguration());
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

  /** The {@code sub} claim of a JWT bearer token (ServiceAccount tokens are JWTs), or null. */
  static String tokenSubject(Config config) {
    String token =
        config.getAutoOAuthToken() != null ? config.getAutoOAuthToken() : config.getOauthToken();
    if (token == null) {
      return null;
    }
    String[] parts = token.split("\\.");
    if (parts.length != 3) {
      return null;
    }
    try {
      String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
      Matcher m = TOKEN_SUBJECT.matcher(payload);
      return m.find() ? m.group(1) : null;
    } catch (IllegalArgumentException e) {
      return null;
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

  private static boolean isDenied(int code) {
    return code == HttpURLConnection.HTTP_UNAUTHORIZED || code == HttpURLConnection.HTTP_FORBIDDEN;
  }
}
