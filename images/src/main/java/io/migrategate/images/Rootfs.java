package io.migrategate.images;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * An image's root file system on disk, to run the image's own JVM at build time (the CDS dump must
 * be made by the JVM that will load it): unpacked from an image archive, run in a chroot in a
 * private mount namespace with {@code /dev}, {@code /proc} and a {@code /tmp} of its own, so
 * nothing is left mounted on the host.
 */
final class Rootfs {
  private static final String WHITEOUT = ".wh.";
  private static final String OPAQUE = ".wh..wh..opq";

  private Rootfs() {}

  /** Unpacks a docker-save archive's layers, in order, honouring OCI whiteouts. */
  static void extract(Path imageArchive, Path root) throws IOException {
    Path unpacked = Files.createTempDirectory(root.getParent(), "archive");
    try {
      untar(Files.newInputStream(imageArchive), unpacked, false);
      JsonNode manifest = new ObjectMapper().readTree(unpacked.resolve("manifest.json").toFile());
      Files.createDirectories(root);
      for (JsonNode layer : manifest.get(0).get("Layers")) {
        Path file = unpacked.resolve(layer.asText());
        InputStream in = new BufferedInputStream(Files.newInputStream(file));
        in.mark(2);
        int first = in.read();
        int second = in.read();
        in.reset();
        untar(first == 0x1f && second == 0x8b ? new GZIPInputStream(in) : in, root, true);
      }
    } finally {
      Paths.deleteTree(unpacked);
    }
  }

  private static void untar(InputStream raw, Path root, boolean layer) throws IOException {
    try (TarArchiveInputStream tar = new TarArchiveInputStream(raw)) {
      for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
        String name = entry.getName().replaceFirst("^\\./", "");
        Path target = root.resolve(name).normalize();
        if (!target.startsWith(root)) {
          throw new IOException("image layer entry escapes the root: " + entry.getName());
        }
        String base = target.getFileName() == null ? "" : target.getFileName().toString();
        if (layer && base.equals(OPAQUE)) {
          clear(target.getParent());
          continue;
        }
        if (layer && base.startsWith(WHITEOUT)) {
          Paths.deleteTree(target.resolveSibling(base.substring(WHITEOUT.length())));
          continue;
        }
        Files.createDirectories(target.getParent());
        if (entry.isDirectory()) {
          if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            Paths.deleteTree(target);
            Files.createDirectories(target);
          }
          continue;
        }
        Paths.deleteTree(target);
        if (entry.isSymbolicLink()) {
          Files.createSymbolicLink(target, Path.of(entry.getLinkName()));
        } else if (entry.isLink()) {
          Files.createLink(target, root.resolve(entry.getLinkName().replaceFirst("^\\./", "")));
        } else if (entry.isFile()) {
          Files.copy(tar, target, StandardCopyOption.REPLACE_EXISTING);
          if ((entry.getMode() & 0111) != 0) {
            target.toFile().setExecutable(true, false);
          }
          // as a container runtime unpacks it: a CDS archive checks the times of what it maps
          Files.setLastModifiedTime(
              target,
              java.nio.file.attribute.FileTime.from(entry.getLastModifiedDate().toInstant()));
        }
        // devices and fifos: not needed to run a JVM
      }
    }
  }

  private static void clear(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      try (var children = Files.list(dir)) {
        for (Path child : children.toList()) {
          Paths.deleteTree(child);
        }
      }
    }
  }

  /**
   * Runs {@code command} inside {@code root} as root, in new mount and PID namespaces (so the
   * mounts of {@code /dev}, {@code /proc} and {@code /tmp} end with it). Root or user namespaces
   * are needed; the message says so when neither works.
   */
  static String run(Path root, List<String> command, Duration timeout)
      throws IOException, InterruptedException {
    for (String dir : List.of("dev", "proc", "tmp")) {
      Files.createDirectories(root.resolve(dir));
    }
    List<String> unshare = new ArrayList<>(List.of("unshare"));
    if (!"root".equals(System.getProperty("user.name"))) {
      unshare.addAll(List.of("--user", "--map-root-user"));
    }
    unshare.addAll(
        List.of(
            "--mount",
            "--pid",
            "--fork",
            "--mount-proc=" + root.resolve("proc"),
            "sh",
            "-c",
            "mount --rbind /dev \"$0/dev\" && mount -t tmpfs tmpfs \"$0/tmp\" && exec chroot \"$0\""
                + " \"$@\"",
            root.toString()));
    unshare.addAll(command);
    Path log = Files.createTempFile("migrate-gate-image-run", ".log");
    try {
      Process process =
          new ProcessBuilder(unshare)
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly().waitFor();
        throw new IOException(
            "timed out after " + timeout + " in the image's root file system: " + command);
      }
      return result(root, command, process.exitValue(), Files.readString(log));
    } finally {
      Files.deleteIfExists(log);
    }
  }

  private static String result(Path root, List<String> command, int exit, String text)
      throws IOException {
    if (exit != 0) {
      throw new IOException(
          "in the image's root file system ("
              + root
              + "), "
              + String.join(" ", command)
              + " exited "
              + exit
              + ":\n"
              + text
              + (text.contains("unshare") || text.contains("Operation not permitted")
                  ? "\nThe image build runs the image's JVM in a chroot: build as root, or where"
                      + " unprivileged user namespaces are allowed."
                  : ""));
    }
    return text;
  }
}
