package io.migrategate.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Where the demo finds what the build made: the gate's and the waiter's jars, the manifests. */
record Project(Path root) {

  /** The repository root: {@code -Dmigrategate.projectRoot} (set by demo/run) or found upwards. */
  static Project locate() {
    String property = System.getProperty("migrategate.projectRoot");
    if (property != null && Files.isDirectory(Path.of(property, "manifests"))) {
      return new Project(Path.of(property).toAbsolutePath().normalize());
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isDirectory(dir.resolve("manifests"))
          && Files.isExecutable(dir.resolve("local-cluster/up"))) {
        return new Project(dir);
      }
    }
    throw new IllegalStateException(
        "cannot find the migrate-gate repository: run demo/run from inside it (or set"
            + " -Dmigrategate.projectRoot)");
  }

  Path gateJar() {
    return root.resolve("webhook/target/migrate-gate-webhook.jar");
  }

  Path waiterJar() {
    return root.resolve("waiter/target/migrate-gate-waiter.jar");
  }

  /** The waiter image's JVM options (the one definition, docs/waiter.md). */
  Path waiterJvmOptions() {
    return root.resolve("waiter/target/waiter.jvmopts");
  }

  /** The AppCDS archive made at package time; the JVM ignores it if unusable. */
  Path waiterCdsArchive() {
    return root.resolve("waiter/target/migrate-gate-waiter.jsa");
  }

  Path localOverlay() {
    return root.resolve("manifests/overlays/local");
  }

  /** Scratch space of one demo run: kubeconfigs, tokens, the gate's log and pid. */
  Path runDir(String instance) {
    Path dir = root.resolve("demo/target/run" + (instance.isEmpty() ? "" : "-" + instance));
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir, e);
    }
    return dir;
  }

  /** The files the local mode needs, missing ones first; empty when all are there. */
  List<Path> missingBuildOutputs() {
    return List.of(gateJar(), waiterJar(), waiterJvmOptions()).stream()
        .filter(path -> !Files.isRegularFile(path))
        .toList();
  }

  String relative(Path path) {
    Path absolute = path.toAbsolutePath().normalize();
    return absolute.startsWith(root) ? root.relativize(absolute).toString() : absolute.toString();
  }
}
