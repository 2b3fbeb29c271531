package io.migrategate.manifests;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The PromQL of the shipped alerts and dashboard, checked against a gate's real {@code /metrics}:
 * every metric a query names exists, every label it matches or groups by is one the metric carries,
 * and a value it selects is one the gate reports. promtool (which could evaluate the alerts) is not
 * built here: Prometheus' Go module pulls in every service-discovery SDK; this scan covers what a
 * renamed metric or label would break.
 */
final class MonitoringQueries {
  private static final Pattern SELECTOR =
      Pattern.compile("\\b(migrate_gate_[a-z0-9_]+)(\\{([^}]*)})?");
  private static final Pattern MATCHER =
      Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!=|!~|=)\\s*\"([^\"]*)\"");
  private static final Pattern GROUPING = Pattern.compile("\\b(?:by|without)\\s*\\(([^)]*)\\)");
  private static final Pattern SAMPLE =
      Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})? \\S+$");

  /**
   * Label sets whose series appear on first use, not at 0 from the start (docs/metrics.md,
   * docs/gate-wait-api.md): a label or value selected from them need not be in a fresh gate's
   * output.
   */
  private static final Set<String> FIRST_USE =
      Set.of(
          "migrate_gate_admission_reviews_total",
          "migrate_gate_invalid_requests_total",
          "migrate_gate_wait_verdicts_total");

  private MonitoringQueries() {}

  /** Every query of the component's PrometheusRule and dashboard, by where it is. */
  static Map<String, String> shipped(Path manifests) throws IOException {
    Map<String, String> queries = new LinkedHashMap<>();
    Path component = manifests.resolve("components/monitoring");
    JsonNode rule = Rendered.YAML.readTree(component.resolve("prometheusrule.yaml").toFile());
    for (JsonNode group : Rendered.elements(rule.path("spec").path("groups"))) {
      for (JsonNode alert : Rendered.elements(group.path("rules"))) {
        queries.put("alert " + alert.path("alert").asText(), alert.path("expr").asText());
      }
    }
    JsonNode dashboard =
        Rendered.YAML.readTree(Files.readString(component.resolve("dashboard.json")));
    for (JsonNode panel : Rendered.elements(dashboard.path("panels"))) {
      for (JsonNode target : Rendered.elements(panel.path("targets"))) {
        queries.put(
            "panel '" + panel.path("title").asText() + "' " + target.path("refId").asText(),
            target.path("expr").asText());
      }
    }
    return queries;
  }

  /** What each query names that the exposition does not have; empty when all is there. */
  static List<String> missing(Map<String, String> queries, String exposition) {
    Map<String, Map<String, Set<String>>> families = families(exposition);
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, String> query : queries.entrySet()) {
      String where = query.getKey() + " (" + query.getValue().replaceAll("\\s+", " ") + ")";
      Set<String> labelsOfQuery = new HashSet<>();
      Matcher selector = SELECTOR.matcher(query.getValue());
      boolean any = false;
      while (selector.find()) {
        any = true;
        String metric = selector.group(1);
        String family = family(metric, families);
        if (family == null) {
          problems.add(where + ": no metric " + metric);
          continue;
        }
        Map<String, Set<String>> labels = families.get(family);
        labelsOfQuery.addAll(labels.keySet());
        if (metric.endsWith("_bucket")) {
          labelsOfQuery.add("le");
        }
        Matcher matcher = MATCHER.matcher(selector.group(3) == null ? "" : selector.group(3));
        while (matcher.find()) {
          String label = matcher.group(1);
          String value = matcher.group(3);
          Set<String> values = labels.get(label);
          if (values == null) {
            if (!FIRST_USE.contains(family)) {
              problems.add(where + ": " + metric + " has no label " + label);
            }
          } else if (matcher.group(2).equals("=")
              && !values.contains(value)
              && !FIRST_USE.contains(family)) {
            problems.add(where + ": " + metric + " has no series " + label + "=\"" + value + "\"");
          }
        }
      }
      if (!any) {
        problems.add(where + ": names no migrate_gate_ metric");
      }
      Matcher grouping = GROUPING.matcher(query.getValue());
      while (grouping.find()) {
        for (String label : grouping.group(1).split(",")) {
          String name = label.strip();
          if (!name.isEmpty()
              && !labelsOfQuery.contains(name)
              && !labelsAppearOnFirstUse(query.getValue())) {
            problems.add(where + ": groups by " + name + ", which none of its metrics carries");
          }
        }
      }
    }
    return problems;
  }

  private static boolean labelsAppearOnFirstUse(String query) {
    return FIRST_USE.stream().anyMatch(query::contains);
  }

  /** The family a sample name belongs to: itself, or a histogram's without its suffix. */
  private static String family(String metric, Map<String, Map<String, Set<String>>> families) {
    if (families.containsKey(metric)) {
      return metric;
    }
    for (String suffix : List.of("_bucket", "_sum", "_count")) {
      if (metric.endsWith(suffix)) {
        String base = metric.substring(0, metric.length() - suffix.length());
        if (families.containsKey(base)) {
          return base;
        }
      }
    }
    return null;
  }

  /** Family → label name → the values its series have, from {@code # TYPE} lines and samples. */
  private static Map<String, Map<String, Set<String>>> families(String exposition) {
    Map<String, Map<String, Set<String>>> families = new HashMap<>();
    for (String line : exposition.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        families.putIfAbsent(line.split(" ")[2], new HashMap<>());
        continue;
      }
      Matcher sample = SAMPLE.matcher(line);
      if (line.startsWith("#") || !sample.matches()) {
        continue;
      }
      String family = family(sample.group(1), families);
      if (family == null || sample.group(3) == null) {
        continue;
      }
      Matcher label = MATCHER.matcher(sample.group(3));
      while (label.find()) {
        if (!label.group(1).equals("le")) {
          families
              .get(family)
              .computeIfAbsent(label.group(1), k -> new HashSet<>())
              .add(label.group(3));
        }
      }
    }
    return families;
  }
}
