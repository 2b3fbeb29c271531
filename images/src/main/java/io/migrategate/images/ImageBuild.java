package io.migrategate.images;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.DockerDaemonImage;
import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.TarImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.FilePermissions;
import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import com.google.cloud.tools.jib.api.buildplan.Port;
import com.google.cloud.tools.jib.frontend.CredentialRetrieverFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Builds the two images of migrate-gate ({@code mvn -B -Pimages package}): the gate ({@code
 * webhook}) and the injected init container ({@code waiter}). Each is a Java runtime (the base)
 * plus one application layer; both run as UID 65532 with the JVM options in one file the entrypoint
 * reads. The waiter's layer also carries a CDS archive of every class it loads, dumped by the
 * image's own JVM in a chroot of the image, so the injected container starts as fast as the
 * benchmark measures (docs/images.md).
 *
 * <p>Images are written as docker-save archives ({@code target/images/migrate-gate-<name>.tar},
 * what {@code docker load} and {@code ctr images import} read), and pushed or loaded on request.
 * Same inputs, same digest: file times and the creation time are fixed, and the parts that differ
 * between JVM runs (CDS archives) are cached by their inputs.
 */
public final class ImageBuild {
  /** Files' modification time in the layers (Jib's default): fixed, so digests are stable. */
  static final Instant FILE_TIME = Instant.ofEpochSecond(1);

  static final String USER = "65532:65532";
  static final String APP = "/app";

  private final BuildOptions options;
  private final Path cache;
  private final String revision;

  ImageBuild(BuildOptions options, Path cache) throws IOException, InterruptedException {
    this.options = options;
    this.cache = cache;
    this.revision = GitRevision.of(options.projectRoot());
  }

  public static void main(String[] args) throws Exception {
    BuildOptions options;
    try {
      options = BuildOptions.parse(List.of(args));
    } catch (IllegalArgumentException e) {
      System.err.println("images: " + e.getMessage());
      System.exit(64);
      return;
    }
    ImageBuild build = new ImageBuild(options, cacheDir());
    List<Built> built = new ArrayList<>();
    for (ImageSpec spec : ImageSpec.all(options)) {
      built.add(build.build(spec));
    }
    Summary.write(options.out().resolve("images.json"), built);
    for (Built image : built) {
      System.out.println(image.describe());
    }
  }

  /** {@code $MIGRATE_GATE_CACHE/images}, by default {@code ~/.cache/migrate-gate/images}. */
  static Path cacheDir() {
    String root = System.getenv("MIGRATE_GATE_CACHE");
    if (root == null || root.isBlank()) {
      String xdg = System.getenv("XDG_CACHE_HOME");
      root =
          (xdg != null && !xdg.isBlank() ? xdg : System.getProperty("user.home") + "/.cache")
              + "/migrate-gate";
    }
    return Path.of(root, "images");
  }

  /** What was written: the archive, the reference and the digests. */
  record Built(
      String name, String reference, Path archive, String digest, String imageId, Sizes sizes) {
    String describe() {
      return String.format(
          Locale.ROOT,
          "image %s  %s  %s  (%.1f MB compressed, %.1f MB on disk)",
          reference,
          digest,
          archive,
          sizes.compressedBytes() / 1e6,
          sizes.uncompressedBytes() / 1e6);
    }
  }

  Built build(ImageSpec spec) throws Exception {
    Path stage = options.out().resolve("stage").resolve(spec.name());
    Paths.deleteTree(stage);
    Path app = stage.resolve(APP.substring(1));
    Files.createDirectories(app);
    for (Map.Entry<String, Path> file : spec.appFiles().entrySet()) {
      Path source = file.getValue();
      if (!Files.isRegularFile(source)) {
        throw new IOException(
            source
                + " is missing: the images are built from the packaged jars (mvn -B -Pimages"
                + " package builds both)");
      }
      // A fresh copy, with a fresh modification time: Jib's layer cache recognises a file by its
      // path and time, so a fixed time here would bring back a stale layer. In the layer, every
      // file gets FILE_TIME.
      Files.copy(source, app.resolve(file.getKey()), StandardCopyOption.REPLACE_EXISTING);
    }

    Base base = Base.of(options, spec, cache);
    if (spec.cdsArchive() != null) {
      Path archive = app.resolve(spec.cdsArchive());
      Files.copy(
          CdsArchive.dump(spec, base, app, cache), archive, StandardCopyOption.REPLACE_EXISTING);
    }

    JibContainerBuilder image = base.builder();
    FileEntriesLayer.Builder layer = FileEntriesLayer.builder().setName("app");
    try (var files = Files.list(app)) {
      for (Path file : files.sorted().toList()) {
        layer.addEntry(
            file,
            AbsoluteUnixPath.get(APP + "/" + file.getFileName()),
            FilePermissions.fromOctalString("644"),
            FILE_TIME);
      }
    }
    image
        .addFileEntriesLayer(layer.build())
        .setEntrypoint(spec.entrypoint(base.java()))
        .setProgramArguments(List.of())
        .setEnvironment(Map.of())
        .setUser(USER)
        .setWorkingDirectory(AbsoluteUnixPath.get(APP))
        .setExposedPorts(spec.ports())
        .setLabels(labels(spec, base))
        .setCreationTime(Instant.EPOCH)
        .setFormat(ImageFormat.Docker);

    String reference = options.reference(spec.name());
    Path archive = options.out().resolve(spec.archiveName());
    Files.createDirectories(archive.getParent());
    JibContainer written =
        image.containerize(containerizer(Containerizer.to(TarImage.at(archive).named(reference))));
    if (options.push()) {
      RegistryImage target = RegistryImage.named(reference);
      target.addCredentialRetriever(
          CredentialRetrieverFactory.forImage(ImageReference.parse(reference), ImageBuild::log)
              .dockerConfig());
      image.containerize(containerizer(Containerizer.to(target)));
    }
    if (options.docker()) {
      image.containerize(containerizer(Containerizer.to(DockerDaemonImage.named(reference))));
    }
    return new Built(
        spec.name(),
        reference,
        archive,
        written.getDigest().toString(),
        written.getImageId().toString(),
        Sizes.of(archive));
  }

  private Containerizer containerizer(Containerizer containerizer) {
    return containerizer
        .setToolName("migrate-gate-images")
        .setBaseImageLayersCache(cache.resolve("jib/base"))
        .setApplicationLayersCache(cache.resolve("jib/app"))
        .addEventHandler(LogEvent.class, ImageBuild::log);
  }

  private Map<String, String> labels(ImageSpec spec, Base base) {
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put("org.opencontainers.image.title", spec.title());
    labels.put("org.opencontainers.image.description", spec.description());
    labels.put("org.opencontainers.image.version", options.version());
    labels.put("org.opencontainers.image.revision", revision);
    if (!options.source().isEmpty()) {
      labels.put("org.opencontainers.image.source", options.source());
    }
    labels.put("org.opencontainers.image.base.name", base.description());
    return labels;
  }

  private static void log(LogEvent event) {
    if (event.getLevel() == LogEvent.Level.ERROR || event.getLevel() == LogEvent.Level.WARN) {
      System.err.println("[images] " + event.getMessage());
    }
  }

  static String sha256(Path file) throws IOException {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      try (var in = Files.newInputStream(file)) {
        byte[] buffer = new byte[1 << 16];
        for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
          digest.update(buffer, 0, n);
        }
      }
      return HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Permissions of a local file as a layer keeps them: executable or not, readable by all. */
  static FilePermissions permissions(Path file) {
    if (Files.isDirectory(file, LinkOption.NOFOLLOW_LINKS)) {
      return FilePermissions.fromOctalString("755");
    }
    try {
      Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file);
      return FilePermissions.fromOctalString(
          mode.contains(PosixFilePermission.OWNER_EXECUTE) ? "755" : "644");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static Duration trainingTimeout() {
    return Duration.ofMinutes(3);
  }

  static Set<Port> ports(int... ports) {
    Set<Port> set = new java.util.LinkedHashSet<>();
    for (int port : ports) {
      set.add(Port.tcp(port));
    }
    return set;
  }
}
