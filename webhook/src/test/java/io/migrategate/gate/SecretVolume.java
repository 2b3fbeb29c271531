package io.migrategate.gate;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A directory laid out like a mounted Kubernetes Secret: {@code tls.crt -> ..data/tls.crt}, {@code
 * ..data -> ..<version>}; {@link #publish} swaps {@code ..data} atomically as the kubelet does.
 */
final class SecretVolume {
  private static final AtomicInteger VERSIONS = new AtomicInteger();
  private final Path directory;

  SecretVolume(Path directory) throws IOException {
    this.directory = Files.createDirectories(directory);
  }

  Path certificateFile() {
    return directory.resolve("tls.crt");
  }

  Path keyFile() {
    return directory.resolve("tls.key");
  }

  /** Publishes a new pair the way the kubelet's atomic writer does. */
  void publish(String certificatePem, String keyPem) throws IOException {
    Path version = directory.resolve("..version_" + VERSIONS.incrementAndGet());
    Files.createDirectory(version);
    Files.writeString(version.resolve("tls.crt"), certificatePem, StandardCharsets.US_ASCII);
    Files.writeString(version.resolve("tls.key"), keyPem, StandardCharsets.US_ASCII);
    Path temporary = directory.resolve("..data_tmp");
    Files.deleteIfExists(temporary);
    Files.createSymbolicLink(temporary, version.getFileName());
    Path data = directory.resolve("..data");
    Path previous =
        Files.isSymbolicLink(data) ? directory.resolve(Files.readSymbolicLink(data)) : null;
    Files.move(
        temporary, data, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    for (String file : new String[] {"tls.crt", "tls.key"}) {
      Path link = directory.resolve(file);
      if (!Files.isSymbolicLink(link)) {
        Files.createSymbolicLink(link, Path.of("..data", file));
      }
    }
    if (previous != null && !previous.equals(version)) {
      Files.deleteIfExists(previous.resolve("tls.crt"));
      Files.deleteIfExists(previous.resolve("tls.key"));
      Files.deleteIfExists(previous);
    }
  }

  /**
   * Rewrites one file in place, as a plain {@code cp} would: the other file is still the old one.
   */
  void overwriteInPlace(String file, String content) throws IOException {
    Files.writeString(directory.resolve(file), content, StandardCharsets.US_ASCII);
  }

  void publish(TestPki.Issued issued) throws IOException {
    publish(issued.certificatePem(), issued.privateKeyPem());
  }
}
