package io.migrategate.images;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code target/images/images.json}: what was built, for scripts and tests (the local cluster loads
 * the archives, the end-to-end tests install the references).
 */
final class Summary {
  private Summary() {}

  static void write(Path file, List<ImageBuild.Built> images) throws IOException {
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ArrayNode list = json.createArrayNode();
    for (ImageBuild.Built image : images) {
      ObjectNode node = list.addObject();
      node.put("name", image.name());
      node.put("reference", image.reference());
      node.put("archive", image.archive().toString());
      node.put("digest", image.digest());
      node.put("imageId", image.imageId());
      node.put("compressedBytes", image.sizes().compressedBytes());
      node.put("uncompressedBytes", image.sizes().uncompressedBytes());
    }
    json.writeValue(file.toFile(), list);
  }
}
