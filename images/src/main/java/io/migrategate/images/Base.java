package io.migrategate.images;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.DockerDaemonImage;
import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.TarImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The image's base: the local runtime (a layer of its own), or a JRE image the user names. Either
 * way its root file system can be had on disk, to run its JVM at build time.
 */
final class Base {
  private final BuildOptions options;
  private final ImageSpec spec;
  private final Path cache;
  private Path rootfs;

  private Base(BuildOptions options, ImageSpec spec, Path cache, Path rootfs) {
    this.options = options;
    this.spec = spec;
    this.cache = cache;
    this.rootfs = rootfs;
  }

  static Base of(BuildOptions options, ImageSpec spec, Path cache)
      throws IOException, InterruptedException {
    if (options.localBase()) {
      return new Base(options, spec, cache, LocalRuntime.rootfs(spec.runtime(), cache));
    }
    return new Base(options, spec, cache, null);
  }

  /** A builder starting from this base. */
  JibContainerBuilder builder() throws Exception {
    if (options.localBase()) {
      FileEntriesLayer.Builder layer = FileEntriesLayer.builder().setName("runtime");
      try (var top = Files.list(rootfs)) {
        for (Path child : top.sorted().toList()) {
          layer.addEntryRecursive(
              child,
              AbsoluteUnixPath.get("/" + child.getFileName()),
              (source, target) -> ImageBuild.permissions(source),
              (source, target) -> ImageBuild.FILE_TIME,
              (source, target) ->
                  target.toString().startsWith("/home/nonroot") ? "65532:65532" : "");
        }
      }
      return Jib.fromScratch().addFileEntriesLayer(layer.build());
    }
    return from(options.base());
  }

  private JibContainerBuilder from(String reference) throws Exception {
    if (reference.startsWith(Jib.TAR_IMAGE_PREFIX)) {
      return Jib.from(TarImage.at(Path.of(reference.substring(Jib.TAR_IMAGE_PREFIX.length()))));
    }
    if (reference.startsWith(Jib.DOCKER_DAEMON_IMAGE_PREFIX)) {
      return Jib.from(
          DockerDaemonImage.named(reference.substring(Jib.DOCKER_DAEMON_IMAGE_PREFIX.length())));
    }
    String name =
        reference.startsWith(Jib.REGISTRY_IMAGE_PREFIX)
            ? reference.substring(Jib.REGISTRY_IMAGE_PREFIX.length())
            : reference;
    RegistryImage image = RegistryImage.named(name);
    image.addCredentialRetriever(
        com.google.cloud.tools.jib.frontend.CredentialRetrieverFactory.forImage(
                ImageReference.parse(name), event -> {})
            .dockerConfig());
    return Jib.from(image);
  }

  /** The java launcher inside the base. */
  String java() {
    return options.localBase() ? LocalRuntime.JAVA : options.baseJava();
  }

  /** The {@code org.opencontainers.image.base.name} label. */
  String description() {
    if (options.localBase()) {
      return "local: jlink of "
          + System.getProperty("java.vm.vendor")
          + " "
          + System.getProperty("java.runtime.version")
          + " ("
          + String.join(",", spec.runtime().modules())
          + ") and the glibc it links";
    }
    return options.base();
  }

  /** The base's root file system on disk: the local runtime, or the named image unpacked. */
  Path rootfs() throws Exception {
    if (rootfs != null) {
      return rootfs;
    }
    Path pulled = Files.createTempFile(cache, "base", ".tar");
    try {
      JibContainer base =
          from(options.base())
              .containerize(
                  Containerizer.to(TarImage.at(pulled).named("migrate-gate.local/base"))
                      .setBaseImageLayersCache(cache.resolve("jib/base"))
                      .setApplicationLayersCache(cache.resolve("jib/app")));
      Path root = cache.resolve("base-" + base.getImageId().getHash().substring(0, 16));
      if (!Files.isDirectory(root)) {
        Path partial = cache.resolve(root.getFileName() + ".partial");
        Paths.deleteTree(partial);
        Rootfs.extract(pulled, partial);
        if (!Files.isExecutable(partial.resolve(java().substring(1)))) {
          throw new IOException(
              "the base image "
                  + options.base()
                  + " has no executable "
                  + java()
                  + ": set -Dimage.base.java to its java launcher (e.g. /opt/java/openjdk/bin/java"
                  + " for eclipse-temurin, /usr/lib/jvm/java-17-openjdk-amd64/bin/java for"
                  + " distroless/java17)");
        }
        Files.move(partial, root, StandardCopyOption.ATOMIC_MOVE);
      }
      rootfs = root;
      return root;
    } finally {
      Files.deleteIfExists(pulled);
    }
  }

  /** Identifies the base for caches of things made from it. */
  String identity() throws Exception {
    return rootfs().getFileName().toString();
  }
}
