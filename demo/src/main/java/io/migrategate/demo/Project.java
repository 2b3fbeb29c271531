package io.migrategate.demo;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Where the demo finds what the build made: the images, the manifests. */
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

  /** What {@code mvn package} lists of its images (module images). */
  Path imagesSummary() {
    return root.resolve("target/images/images.json");
  }

  /** The files the local mode needs, missing ones first; empty when all are there. */
  List<Path> missingBuildOutputs() {
    return List.of(imagesSummary()).stream().filter(path -> !Files.isRegularFile(path)).toList();
  }

  String relative(Path path) {
    Path absolute = path.toAbsolutePath().normalize();
    return absolute.startsWith(root) ? root.relativize(absolute).toString() : absolute.toString();
  }
}
