package io.migrategate.manifests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/helm-values.md is generated from the chart's values.yaml: one row per value, its default and
 * the comment above it. The comments are the one source; this test fails when the page is stale and
 * rewrites it when run with {@code -Dupdate-docs}.
 */
class ChartValuesDocTest {
  private static final String PAGE = "docs/helm-values.md";
  private static final Pattern KEY = Pattern.compile("^( *)([A-Za-z][A-Za-z0-9_]*):(?: (.*))?$");
  private static final Pattern COMMENT = Pattern.compile("^ *#(?: (.*))?$");

  /** One key of values.yaml: its dotted path, its default (none for a mapping) and its comment. */
  record Value(String path, String defaultValue, String comment) {}

  @Test
  void theValuesPageIsGeneratedFromValuesYaml() throws IOException {
    Tools tools = Tools.get();
    Path valuesFile = tools.chart().resolve("values.yaml");
    List<Value> values = parse(Files.readAllLines(valuesFile));

    // The line parser saw every key YAML sees (a block list or multi-line scalar would hide one).
    TreeSet<String> yamlPaths = new TreeSet<>();
    collect(Rendered.YAML.readTree(valuesFile.toFile()), "", yamlPaths);
    assertEquals(
        yamlPaths,
        new TreeSet<>(values.stream().map(Value::path).toList()),
        "every key of values.yaml has a row");

    // Every value says what it is for: a comment of its own or of the group it belongs to.
    List<String> unexplained =
        values.stream()
            .filter(v -> !v.defaultValue().isEmpty())
            .filter(
                v ->
                    values.stream()
                        .noneMatch(
                            other ->
                                !other.comment().isEmpty()
                                    && (other.path().equals(v.path())
                                        || v.path().startsWith(other.path() + "."))))
            .map(Value::path)
            .toList();
    assertEquals(List.of(), unexplained, "values without a comment in values.yaml");

    Path page = tools.projectRoot.resolve(PAGE);
    String generated = render(values);
    if (System.getProperty("update-docs") != null) {
      Files.writeString(page, generated);
    }
    assertEquals(
        generated,
        Files.exists(page) ? Files.readString(page) : "",
        PAGE
            + " is generated from values.yaml's comments: edit those, then run "
            + "mvn -o -q test -pl manifests -am -Dtest=ChartValuesDocTest -Dsurefire.failIfNoSpecifiedTests=false -Dupdate-docs");
  }

  /** The keys of values.yaml in file order, each with the comment block right above it. */
  static List<Value> parse(List<String> lines) {
    List<Value> values = new ArrayList<>();
    List<String> parents = new ArrayList<>();
    List<Integer> indents = new ArrayList<>();
    List<String> comment = new ArrayList<>();
    for (String line : lines) {
      Matcher c = COMMENT.matcher(line);
      if (c.matches()) {
        comment.add(c.group(1) == null ? "" : c.group(1).trim());
        continue;
      }
      Matcher k = KEY.matcher(line);
      if (!k.matches()) {
        comment.clear(); // a blank line ends a comment that belongs to no key (the file's header)
        continue;
      }
      int indent = k.group(1).length();
      while (!indents.isEmpty() && indents.get(indents.size() - 1) >= indent) {
        indents.remove(indents.size() - 1);
        parents.remove(parents.size() - 1);
      }
      String path = (parents.isEmpty() ? "" : String.join(".", parents) + ".") + k.group(2);
      String value = k.group(3) == null ? "" : k.group(3).trim();
      values.add(new Value(path, value, String.join(" ", comment).trim()));
      comment.clear();
      if (value.isEmpty()) {
        parents.add(k.group(2));
        indents.add(indent);
      }
    }
    return values;
  }

  static String render(List<Value> values) {
    StringBuilder page =
        new StringBuilder(
            String.join(
                "\n",
                "<!-- Generated from manifests/helm/migrate-gate/values.yaml by ChartValuesDocTest:"
                    + " edit the comments there. -->",
                "# Helm values",
                "",
                "Every value of the chart, its default and what values.yaml says about it."
                    + " [install.md](install.md#helm) explains installing;"
                    + " `values.schema.json` rejects unknown keys and wrong types at `helm install`"
                    + " and `helm lint`, naming the value.",
                "",
                "| Value | Default | Meaning |",
                "|---|---|---|",
                ""));
    for (Value value : values) {
      page.append("| `")
          .append(value.path())
          .append("` | ")
          .append(value.defaultValue().isEmpty() ? "" : "`" + value.defaultValue() + "`")
          .append(" | ")
          .append(value.comment().replace("|", "\\|"))
          .append(" |\n");
    }
    return page.toString();
  }

  private static void collect(JsonNode node, String prefix, TreeSet<String> paths) {
    for (Map.Entry<String, JsonNode> field : (Iterable<Map.Entry<String, JsonNode>>) node::fields) {
      String path = prefix + field.getKey();
      paths.add(path);
      if (field.getValue().isObject() && !field.getValue().isEmpty()) {
        collect(field.getValue(), path + ".", paths);
      }
    }
  }
}
