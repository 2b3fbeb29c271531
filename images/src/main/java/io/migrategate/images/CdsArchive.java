package io.migrategate.images;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;

/**
 * The waiter's static CDS archive (the JDK's classes and the waiter's, as the training run loads
 * them), dumped by the image's own JVM in a chroot of the image: an archive loads only in the JVM
 * build that wrote it, for the same jar path, size and time (docs/images.md).
 *
 * <p>Three runs, each the image's entrypoint with one option added: list the classes of a training
 * run ({@code --cds-training}: the real waiter against a stub API server and a stub gate), dump the
 * archive, then run the training again with {@code -Xshare:on}, which fails unless the archive
 * maps. The result is cached by its inputs: JDK 17 writes a different archive on every dump.
 */
final class CdsArchive {
  private CdsArchive() {}

  static Path dump(ImageSpec spec, Base base, Path appDir, Path cache) throws Exception {
    StringBuilder inputs = new StringBuilder(base.identity()).append('\n');
    try (var files = Files.list(appDir)) {
      for (Path file : files.sorted().toList()) {
        inputs.append(file.getFileName()).append('=').append(ImageBuild.sha256(file)).append('\n');
      }
    }
    inputs.append(spec.entrypoint(base.java()));
    String key = sha256(inputs.toString()).substring(0, 16);
    Path cached = cache.resolve("cds-" + spec.name() + "-" + key + ".jsa");
    if (Files.isRegularFile(cached)) {
      return cached;
    }
    Path train = Files.createTempDirectory(cache, "train-" + spec.name());
    try {
      Paths.linkTree(base.rootfs(), train);
      Path app = train.resolve(ImageBuild.APP.substring(1));
      Files.createDirectories(app);
      try (var files = Files.list(appDir)) {
        for (Path file : files.toList()) {
          Path copy = app.resolve(file.getFileName().toString());
          Files.copy(file, copy, StandardCopyOption.REPLACE_EXISTING);
          Files.setLastModifiedTime(copy, FileTime.from(ImageBuild.FILE_TIME));
        }
      }
      // What the kubelet mounts in a pod; the training's stubs answer as "localhost".
      Files.createDirectories(train.resolve("etc"));
      Files.writeString(train.resolve("etc/hosts"), "127.0.0.1 localhost\n");
      String archive = ImageBuild.APP + "/" + spec.cdsArchive();
      String classList = ImageBuild.APP + "/classes.lst";
      Rootfs.run(
          train,
          command(spec, base, List.of("-Xshare:off", "-XX:DumpLoadedClassList=" + classList), true),
          ImageBuild.trainingTimeout());
      withoutTrainingStubs(train.resolve(classList.substring(1)));
      Rootfs.run(
          train,
          List.of(
              base.java(),
              "@" + ImageBuild.APP + "/" + spec.jvmOptions(),
              "-Xshare:dump",
              "-XX:SharedClassListFile=" + classList,
              "-XX:SharedArchiveFile=" + archive,
              "-cp",
              ImageBuild.APP + "/" + spec.jar()),
          ImageBuild.trainingTimeout());
      // The proof: -Xshare:on refuses to start unless this JVM maps the archive for this jar.
      Rootfs.run(
          train,
          command(spec, base, List.of("-Xshare:on", "-XX:SharedArchiveFile=" + archive), true),
          ImageBuild.trainingTimeout());
      Path partial = cache.resolve(cached.getFileName() + ".partial");
      Files.copy(train.resolve(archive.substring(1)), partial, StandardCopyOption.REPLACE_EXISTING);
      Files.move(partial, cached, StandardCopyOption.ATOMIC_MOVE);
      return cached;
    } finally {
      Paths.deleteTree(train);
    }
  }

  /** Classes only the training's stubs load: not worth their bytes in every pod's image. */
  static final List<String> STUB_CLASSES =
      List.of("com/sun/net/httpserver/", "sun/net/httpserver/", "io/migrategate/wait/CdsTraining");

  private static void withoutTrainingStubs(Path classList) throws IOException {
    List<String> kept =
        Files.readAllLines(classList).stream()
            .filter(line -> STUB_CLASSES.stream().noneMatch(line::contains))
            .toList();
    Files.write(classList, kept);
  }

  /** The entrypoint's java and options file, then {@code extra}, then the jar (and training). */
  private static List<String> command(
      ImageSpec spec, Base base, List<String> extra, boolean training) {
    List<String> command = new ArrayList<>();
    command.add(base.java());
    command.add("@" + ImageBuild.APP + "/" + spec.jvmOptions());
    command.addAll(extra);
    command.add("-jar");
    command.add(ImageBuild.APP + "/" + spec.jar());
    if (training) {
      command.add("--cds-training");
    }
    return command;
  }

  private static String sha256(String text) {
    try {
      return java.util.HexFormat.of()
          .formatHex(
              java.security.MessageDigest.getInstance("SHA-256")
                  .digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
