package io.migrategate.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Unpacking a base image as a container runtime does: layers in order, OCI whiteouts. */
class RootfsTest {
  @TempDir Path dir;

  @Test
  void laterLayersWinAndWhiteoutsDelete() throws IOException {
    byte[] lower =
        layer(
            new String[] {"etc/os-release", "lower"},
            new String[] {"opt/java/bin/java", "jvm"},
            new String[] {"var/cache/a", "a"},
            new String[] {"var/cache/b", "b"},
            new String[] {"tmp/gone", "x"});
    byte[] upper =
        layer(
            new String[] {"etc/os-release", "upper"},
            new String[] {"tmp/.wh.gone", ""},
            new String[] {"var/cache/.wh..wh..opq", ""},
            new String[] {"var/cache/c", "c"});
    Path root = dir.resolve("root");
    Rootfs.extract(image(lower, upper), root);
    assertEquals("upper", Files.readString(root.resolve("etc/os-release")));
    assertEquals("jvm", Files.readString(root.resolve("opt/java/bin/java")));
    assertFalse(Files.exists(root.resolve("tmp/gone")), "whiteout deletes");
    assertFalse(Files.exists(root.resolve("var/cache/a")), "opaque folder drops the lower files");
    assertTrue(Files.exists(root.resolve("var/cache/c")));
    assertEquals(1000L, Files.getLastModifiedTime(root.resolve("etc/os-release")).toMillis());
  }

  @Test
  void anEntryOutsideTheRootIsRefused() throws IOException {
    Path archive = image(layer(new String[] {"../../escape", "x"}));
    IOException e =
        assertThrows(IOException.class, () -> Rootfs.extract(archive, dir.resolve("r")));
    assertTrue(e.getMessage().contains("escapes the root"), e.getMessage());
  }

  private Path image(byte[]... layers) throws IOException {
    Path archive = dir.resolve("image.tar");
    StringBuilder names = new StringBuilder();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(Files.newOutputStream(archive))) {
      for (int i = 0; i < layers.length; i++) {
        String name = "layer" + i + ".tar.gz";
        names.append(i == 0 ? "" : ",").append('"').append(name).append('"');
        put(tar, name, layers[i]);
      }
      put(
          tar,
          "manifest.json",
          ("[{\"Config\":\"config.json\",\"Layers\":[" + names + "]}]")
              .getBytes(StandardCharsets.UTF_8));
    }
    return archive;
  }

  private static byte[] layer(String[]... files) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(bytes))) {
      for (String[] file : files) {
        put(tar, file[0], file[1].getBytes(StandardCharsets.UTF_8));
      }
    }
    return bytes.toByteArray();
  }

  private static void put(TarArchiveOutputStream tar, String name, byte[] content)
      throws IOException {
    TarArchiveEntry entry = new TarArchiveEntry(name, true);
    entry.setSize(content.length);
    entry.setModTime(1000L);
    tar.putArchiveEntry(entry);
    tar.write(content);
    tar.closeArchiveEntry();
  }
}
