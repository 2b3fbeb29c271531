package io.migrategate.manifests;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * One version for a release: the Maven version (without -SNAPSHOT, which the images are tagged with
 * as built), the chart's version and appVersion (the chart's default image tag), and the image tags
 * the kustomize base installs. A release changes them together; this test names each one left
 * behind.
 */
class VersionsTest {

  @Test
  void theChartTheBaseAndTheBuildCarryOneVersion() throws IOException {
    Tools tools = Tools.get();
    Matcher pom =
        Pattern.compile(
                "<artifactId>migrate-gate-parent</artifactId>\\s*<version>([^<]+)</version>")
            .matcher(Files.readString(tools.projectRoot.resolve("pom.xml")));
    assertTrue(pom.find(), "the root pom's version");
    String version = pom.group(1).replaceFirst("-SNAPSHOT$", "");

    JsonNode chart = Rendered.YAML.readTree(tools.chart().resolve("Chart.yaml").toFile());
    JsonNode kustomization =
        Rendered.YAML.readTree(tools.manifests().resolve("base/kustomization.yaml").toFile());
    Rendered base = Rendered.kustomize(tools, "base");
    JsonNode container = RenderTest.container(base);
    String waiterImage = RenderTest.env(base).get("MIGRATE_GATE_WAITER_IMAGE");
    assertAll(
        "version " + version + " (pom.xml)",
        () -> assertEquals(version, chart.path("version").asText(), "Chart.yaml version"),
        () -> assertEquals(version, chart.path("appVersion").asText(), "Chart.yaml appVersion"),
        () -> {
          for (JsonNode image : Rendered.elements(kustomization.path("images"))) {
            assertEquals(
                version,
                image.path("newTag").asText(),
                "base/kustomization.yaml images " + image.path("name").asText());
          }
        },
        () ->
            assertTrue(
                container.path("image").asText().endsWith(":" + version),
                "the base's gate image: " + container.path("image").asText()),
        () ->
            assertTrue(
                waiterImage.endsWith(":" + version), "the base's waiter image: " + waiterImage));
  }
}
