package io.migrategate.manifests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every value of the chart is in the install guide's Helm table (docs/install.md): a value added to
 * values.yaml without a row there fails here, with the value named.
 */
class ChartValuesDocTest {

  @Test
  void theInstallGuideDescribesEveryValue() throws IOException {
    Tools tools = Tools.get();
    String guide = Files.readString(tools.projectRoot.resolve("docs/install.md"));
    String helm =
        guide.substring(
            guide.indexOf("## Helm"), guide.indexOf("\n## ", guide.indexOf("## Helm") + 1));
    List<String> rows = helm.lines().filter(l -> l.startsWith("| `")).toList();
    JsonNode values = Rendered.YAML.readTree(tools.chart().resolve("values.yaml").toFile());
    List<String> missing = new ArrayList<>();
    for (Map.Entry<String, JsonNode> top : iterable(values)) {
      String key = top.getKey();
      List<String> mine = rows.stream().filter(r -> r.contains("`" + key)).toList();
      if (mine.isEmpty()) {
        missing.add(key);
        continue;
      }
      if (top.getValue().isObject()) {
        for (Map.Entry<String, JsonNode> sub : iterable(top.getValue())) {
          if (mine.stream().noneMatch(r -> r.contains(sub.getKey()))) {
            missing.add(key + "." + sub.getKey());
          }
        }
      }
    }
    assertEquals(List.of(), missing, "values.yaml keys without a row in docs/install.md, Helm");
  }

  private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode node) {
    return node::fields;
  }
}
