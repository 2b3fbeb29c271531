package io.migrategate.gate.kube;

import static io.migrategate.gate.observability.PrometheusText.label;

import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.migrategate.gate.observability.PrometheusText;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Requests this process sends to the Kubernetes API, by verb and resource as the API server counts
 * them ({@code apiserver_request_total}): what the gate costs the control plane, readable from its
 * own /metrics. Every client {@link KubernetesClients} builds carries this interceptor, so nothing
 * the gate sends goes uncounted. A watch counts once, when it is opened; a list once per page.
 */
public final class ApiRequests implements Interceptor {
  /** The process's counts: one API server, one set of counters, whichever client sent it. */
  public static final ApiRequests PROCESS = new ApiRequests();

  static final String METRIC = "migrate_gate_api_requests_total";

  /** Verb × resource pairs are a small fixed set; the cap guards the exposition against a bug. */
  static final int MAX_LABEL_SETS = 100;

  private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();

  ApiRequests() {}

  @Override
  public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
    count(request.method(), request.uri());
  }

  void count(String method, URI uri) {
    Target target = Target.of(uri.getRawPath());
    String labels =
        label("verb", verb(method, target.named(), uri.getRawQuery()))
            + ","
            + label("resource", target.resource());
    LongAdder counter = counts.get(labels);
    if (counter == null) {
      String key = counts.size() < MAX_LABEL_SETS ? labels : "verb=\"other\",resource=\"other\"";
      counter = counts.computeIfAbsent(key, k -> new LongAdder());
    }
    counter.increment();
  }

  /** The API server's verb for an HTTP request. */
  static String verb(String method, boolean named, String query) {
    return switch (method) {
      case "GET" -> named ? "get" : isWatch(query) ? "watch" : "list";
      case "POST" -> "create";
      case "PUT" -> "update";
      case "PATCH" -> "patch";
      case "DELETE" -> named ? "delete" : "deletecollection";
      default -> method.toLowerCase(java.util.Locale.ROOT);
    };
  }

  private static boolean isWatch(String query) {
    if (query == null) {
      return false;
    }
    for (String parameter : query.split("&")) {
      if (parameter.equals("watch=true") || parameter.equals("watch=1")) {
        return true;
      }
    }
    return false;
  }

  /**
   * The resource a path names ({@code jobs}, {@code pods/status}), and whether it names one object.
   * A path outside {@code /api} and {@code /apis} (the published keys, {@code /version}) is its own
   * resource.
   */
  record Target(String resource, boolean named) {
    static Target of(String path) {
      String[] parts = path.replaceAll("^/+|/+$", "").split("/");
      int start;
      if (parts[0].equals("api") && parts.length >= 2) {
        start = 2;
      } else if (parts[0].equals("apis") && parts.length >= 3) {
        start = 3;
      } else {
        return new Target(path, true);
      }
      // namespaces/<ns>/<resource>...: a namespaced resource; namespaces[/<name>]: the namespace.
      if (parts.length > start + 2 && parts[start].equals("namespaces")) {
        start += 2;
      }
      if (parts.length <= start) {
        return new Target(path, true);
      }
      String resource = parts[start];
      if (parts.length > start + 2) {
        resource += "/" + parts[start + 2];
      }
      return new Target(resource, parts.length > start + 1);
    }
  }

  /** {@value #METRIC}{verb, resource}. */
  public String render() {
    return new PrometheusText()
        .family(
            METRIC,
            "counter",
            "Requests this gate sent to the Kubernetes API, by verb and resource (a watch counts"
                + " when opened, a list per page).")
        .countersByLabels(METRIC, counts)
        .toString();
  }
}
