package io.migrategate.gate.status;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResourceList;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.migrategate.core.Durations;
import io.migrategate.core.Names;
import io.migrategate.core.UsageException;
import io.migrategate.gate.GateConfig;
import io.migrategate.gate.SubcommandFlags;
import io.migrategate.gate.kube.KubernetesAccess;
import io.migrategate.gate.observability.GateLog;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code migrate-gate status [-n NS | -A] [-o table|json]}, also {@code kubectl migrate-gate
 * status} (the plugin bin/kubectl-migrate_gate runs it): which pods wait on which Jobs, each Job's
 * verdict, how long they have waited, and pods that started without waiting. Reads the API server
 * with the caller's kubeconfig; writes nothing.
 */
public final class GateStatus {
  public static final String COMMAND = "status";

  static final String USAGE =
      "migrate-gate status [-n NAMESPACE | -A] [-o table|json] [--kubeconfig FILE]";

  /** The widest STATE the table shows. */
  static final int STATE_WIDTH = 60;

  /** What the command line asked for. */
  record Request(
      Optional<String> namespace, boolean allNamespaces, boolean json, Path kubeconfig) {}

  private GateStatus() {}

  /** The exit code: 0 after printing, 64 on bad arguments, 1 when the API server refused. */
  public static int run(List<String> args, PrintStream out, PrintStream err, Clock clock) {
    Request request;
    try {
      request = parse(args);
    } catch (UsageException e) {
      err.println("migrate-gate status: " + e.getMessage());
      return 64;
    }
    GateLog log = new GateLog(GateConfig.LogFormat.TEXT, err);
    try (KubernetesAccess kubernetes = new KubernetesAccess(request.kubeconfig(), log)) {
      KubernetesClient client = kubernetes.calls();
      String namespace =
          request.allNamespaces()
              ? null
              : request
                  .namespace()
                  .orElse(Optional.ofNullable(client.getNamespace()).orElse("default"));
      List<StatusView.PodStatus> rows = StatusView.of(read(client, namespace), clock.instant());
      if (request.json()) {
        out.println(json(rows));
      } else if (rows.isEmpty()) {
        out.println(
            "No pods wait on Jobs through migrate-gate "
                + (namespace == null ? "in any namespace." : "in namespace " + namespace + "."));
      } else {
        out.print(table(rows, namespace == null));
      }
      return 0;
    } catch (KubernetesClientException e) {
      err.println(
          "migrate-gate status: the API server refused a read ("
              + e.getCode()
              + "): "
              + e.getMessage()
              + "\n(it lists pods, ReplicaSets, Deployments, StatefulSets, DaemonSets and Jobs)");
      return 1;
    }
  }

  static Request parse(List<String> args) {
    Map<String, String> given =
        SubcommandFlags.parse(
            args,
            Set.of("-n", "--namespace", "-o", "--output", "--kubeconfig"),
            Set.of("-A", "--all-namespaces"),
            USAGE);
    Optional<String> namespace = either(given, "-n", "--namespace");
    if (namespace.isPresent() && !Names.isDnsLabel(namespace.get())) {
      throw new UsageException("-n '" + namespace.get() + "' is not a namespace name");
    }
    String output = either(given, "-o", "--output").orElse("table");
    if (!output.equals("json") && !output.equals("table")) {
      throw new UsageException("-o '" + output + "': give table (the default) or json");
    }
    boolean all = either(given, "-A", "--all-namespaces").isPresent();
    if (all && namespace.isPresent()) {
      throw new UsageException("give -n NAMESPACE or -A, not both");
    }
    Path kubeconfig = given.containsKey("--kubeconfig") ? Path.of(given.get("--kubeconfig")) : null;
    return new Request(namespace, all, output.equals("json"), kubeconfig);
  }

  /** The value of a flag given in its short or its long form. */
  private static Optional<String> either(
      Map<String, String> given, String shortForm, String longForm) {
    return Optional.ofNullable(given.getOrDefault(shortForm, given.get(longForm)));
  }

  /** The objects of one namespace, or of all ({@code namespace} null). */
  private static StatusView.Cluster read(KubernetesClient client, String namespace) {
    List<HasMetadata> workloads = new ArrayList<>();
    workloads.addAll(items(client.apps().replicaSets(), namespace));
    workloads.addAll(items(client.apps().deployments(), namespace));
    workloads.addAll(items(client.apps().statefulSets(), namespace));
    workloads.addAll(items(client.apps().daemonSets(), namespace));
    return new StatusView.Cluster(
        items(client.pods(), namespace), workloads, items(client.batch().v1().jobs(), namespace));
  }

  private static <T extends HasMetadata, L extends KubernetesResourceList<T>> List<T> items(
      MixedOperation<T, L, ?> objects, String namespace) {
    return (namespace == null ? objects.inAnyNamespace() : objects.inNamespace(namespace))
        .list()
        .getItems();
  }

  /** kubectl-style columns, one row per pod and Job. */
  static String table(List<StatusView.PodStatus> rows, boolean withNamespace) {
    List<String[]> lines = new ArrayList<>();
    lines.add(
        new String[] {"NAMESPACE", "WORKLOAD", "POD", "GATE", "STATE", "WAITED", "JOB", "VERDICT"});
    for (StatusView.PodStatus row : rows) {
      String waited = row.waited().map(Durations::format).map(w -> w.replace(" ", "")).orElse("-");
      List<StatusView.JobStatus> jobs =
          row.jobs().isEmpty() ? List.of(new StatusView.JobStatus("-", "", "-")) : row.jobs();
      for (StatusView.JobStatus job : jobs) {
        lines.add(
            new String[] {
              row.namespace(),
              row.workload(),
              row.pod(),
              row.gate(),
              abbreviated(row.state()),
              waited,
              job.name(),
              job.verdict()
            });
      }
    }
    int first = withNamespace ? 0 : 1;
    int columns = lines.get(0).length;
    int[] widths = new int[columns];
    for (String[] line : lines) {
      for (int c = first; c < columns - 1; c++) {
        widths[c] = Math.max(widths[c], line[c].length());
      }
    }
    StringBuilder out = new StringBuilder();
    for (String[] line : lines) {
      for (int c = first; c < columns; c++) {
        out.append(c == columns - 1 ? line[c] : pad(line[c], widths[c] + 3));
      }
      out.append('\n');
    }
    return out.toString();
  }

  static String json(List<StatusView.PodStatus> rows) {
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = mapper.createObjectNode();
    ArrayNode items = root.putArray("items");
    for (StatusView.PodStatus row : rows) {
      ObjectNode item = items.addObject();
      item.put("namespace", row.namespace())
          .put("workload", row.workload())
          .put("pod", row.pod())
          .put("gate", row.gate())
          .put("state", row.state());
      if (row.waited().isPresent()) {
        item.put("waitedSeconds", row.waited().get().toSeconds());
      } else {
        item.putNull("waitedSeconds");
      }
      ArrayNode jobs = item.putArray("jobs");
      for (StatusView.JobStatus job : row.jobs()) {
        jobs.addObject()
            .put("name", job.name())
            .put("phase", job.phase())
            .put("verdict", job.verdict());
      }
    }
    try {
      return mapper.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A termination message can be long; the table keeps its start, -o json all of it. */
  private static String abbreviated(String state) {
    return state.length() <= STATE_WIDTH ? state : state.substring(0, STATE_WIDTH - 3) + "...";
  }

  private static String pad(String text, int width) {
    return text.length() >= width ? text + " " : text + " ".repeat(width - text.length());
  }
}
