package io.migrategate.images;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * An image's size two ways: what a node pulls (its compressed layers) and what it unpacks to (the
 * layers' tar streams, the size {@code docker images} shows).
 */
record Sizes(long compressedBytes, long uncompressedBytes) {

  static Sizes of(Path dockerArchive) throws IOException {
    long compressed = 0;
    long uncompressed = 0;
    try (TarArchiveInputStream tar =
        new TarArchiveInputStream(Files.newInputStream(dockerArchive))) {
      for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
        if (entry.getName().endsWith(".tar.gz")) {
          compressed += entry.getSize();
          uncompressed += count(new GZIPInputStream(new NonClosing(tar)));
        }
      }
    }
    return new Sizes(compressed, uncompressed);
  }

  private static long count(InputStream in) throws IOException {
    long total = 0;
    byte[] buffer = new byte[1 << 16];
    for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
      total += n;
    }
    return total;
  }

  /** Reads one tar entry without closing the archive. */
  private static final class NonClosing extends java.io.FilterInputStream {
    NonClosing(InputStream in) {
      super(in);
    }

    @Override
    public void close() {}
  }
}
