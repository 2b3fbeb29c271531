package io.migrategate.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The archives this build wrote (target/images), read as a registry or runtime reads them: their
 * configuration (user, entrypoint, labels), their files, their size; and a second build from the
 * same inputs gives the same digests.
 */
class ImagesIT {
  private static final Path OUT = Path.of(System.getProperty("migrategate.images.out"));
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What this project promises of the waiter image (docs/images.md). */
  private static final long WAITER_BUDGET_BYTES = 60_000_000L;

  @Test
  void bothImagesRunAsTheNonRootUserWithTheirEntrypointAndLabels() throws IOException {
    for (JsonNode image : summary()) {
      String name = image.get("name").asText();
      JsonNode config = config(Path.of(image.get("archive").asText())).get("config");
      assertEquals("65532:65532", config.get("User").asText(), name);
      List<String> entrypoint = new ArrayList<>();
      config.get("Entrypoint").forEach(e -> entrypoint.add(e.asText()));
      assertEquals("/opt/java/bin/java", entrypoint.get(0), name);
      assertTrue(
          entrypoint.get(1).startsWith("@/app/"), "JVM options from one file: " + entrypoint);
      assertEquals("-jar", entrypoint.get(entrypoint.size() - 2), name);
      JsonNode labels = config.get("Labels");
      assertEquals(
          System.getProperty("migrategate.images.version"),
          labels.get("org.opencontainers.image.version").asText());
      assertTrue(
          labels
              .get("org.opencontainers.image.revision")
              .asText()
              .matches("[0-9a-f]{40}(-dirty)?|unknown"));
      assertFalse(labels.get("org.opencontainers.image.source").asText().isEmpty());
      assertEquals("migrate-gate-" + name, labels.get("org.opencontainers.image.title").asText());
    }
  }

  @Test
  void noShellNoPackageManagerAndTheWaiterCarriesItsArchive() throws IOException {
    for (JsonNode image : summary()) {
      Set<String> files = files(Path.of(image.get("archive").asText()));
      assertFalse(files.contains("bin/sh"), "no shell in " + image.get("name"));
      assertFalse(files.contains("usr/bin/apt-get"));
      assertTrue(files.contains("etc/passwd"));
      if (image.get("name").asText().equals("waiter")) {
        assertTrue(files.contains("app/waiter.jsa"), "the CDS archive");
        assertTrue(files.contains("app/migrate-gate-waiter.jar"));
      }
    }
  }

  @Test
  void theWaiterImageStaysWithinItsSizeBudget() throws IOException {
    for (JsonNode image : summary()) {
      if (image.get("name").asText().equals("waiter")) {
        long bytes = image.get("uncompressedBytes").asLong();
        assertTrue(bytes <= WAITER_BUDGET_BYTES, "waiter image " + bytes + " bytes on disk");
        assertTrue(image.get("compressedBytes").asLong() < bytes);
      }
    }
  }

  @Test
  void theSameInputsGiveTheSameDigests(@TempDir Path again) throws Exception {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--out=" + again,
                "--project-root=" + System.getProperty("migrategate.projectRoot"),
                "--version=" + System.getProperty("migrategate.images.version"),
                "--source=" + System.getProperty("migrategate.images.source")));
    BuildOptions options = BuildOptions.parse(args);
    ImageBuild build = new ImageBuild(options, ImageBuild.cacheDir());
    for (JsonNode image : summary()) {
      String name = image.get("name").asText();
      ImageSpec spec =
          ImageSpec.all(options).stream()
              .filter(s -> s.name().equals(name))
              .findFirst()
              .orElseThrow();
      assertEquals(image.get("digest").asText(), build.build(spec).digest(), name);
    }
  }

  private static JsonNode summary() throws IOException {
    return JSON.readTree(OUT.resolve("images.json").toFile());
  }

  private static JsonNode config(Path archive) throws IOException {
    try (TarArchiveInputStream tar = new TarArchiveInputStream(Files.newInputStream(archive))) {
      for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
        if (e.getName().equals("config.json")) {
          return JSON.readTree(new String(tar.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
    }
    throw new IOException("no config.json in " + archive);
  }

  private static Set<String> files(Path archive) throws IOException {
    Set<String> names = new HashSet<>();
    try (TarArchiveInputStream tar = new TarArchiveInputStream(Files.newInputStream(archive))) {
      for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
        if (e.getName().endsWith(".tar.gz")) {
          InputStream layer =
              new GZIPInputStream(
                  new java.io.FilterInputStream(tar) {
                    @Override
                    public void close() {}
                  });
          TarArchiveInputStream inner = new TarArchiveInputStream(layer);
          for (TarArchiveEntry f = inner.getNextEntry(); f != null; f = inner.getNextEntry()) {
            names.add(f.getName().replaceFirst("^\\./", "").replaceFirst("^/", ""));
          }
        }
      }
    }
    return names;
  }
}
