package io.migrategate.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The images of this build, as {@code mvn package} (module images) lists them. */
public final class BuiltImages {
  /** One image of {@code target/images/images.json}. */
  public record Image(String name, String reference, Path archive) {
    /** The reference without its tag ({@code migrate-gate.local/waiter}). */
    public String repository() {
      return reference.substring(0, reference.lastIndexOf(':'));
    }

    public String tag() {
      return reference.substring(reference.lastIndexOf(':') + 1);
    }
  }

  private BuiltImages() {}

  /** The gate's image. */
  public static Image webhook() {
    return image("webhook");
  }

  /** The waiter's image. */
  public static Image waiter() {
    return image("waiter");
  }

  private static Image image(String name) {
    Path summary = Tools.projectRoot().resolve("target/images/images.json");
    if (!Files.isRegularFile(summary)) {
      throw new IllegalStateException(
          summary + " is missing: the images are built by mvn -B package (module images)");
    }
    try {
      for (JsonNode node : new ObjectMapper().readTree(summary.toFile())) {
        if (node.get("name").asText().equals(name)) {
          return new Image(
              name, node.get("reference").asText(), Path.of(node.get("archive").asText()));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    throw new IllegalStateException("no image " + name + " in " + summary);
  }
}
