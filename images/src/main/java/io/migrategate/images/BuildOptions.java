package io.migrategate.images;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What {@code mvn -Pimages package} passes to {@link ImageBuild} (the Maven properties of
 * images/pom.xml, documented in docs/images.md).
 *
 * @param out where the archives go ({@code target/images})
 * @param projectRoot the repository root (the jars are found there)
 * @param version the image tag (the project version)
 * @param registry the repository prefix: {@code migrate-gate.local} (local, never pushed) or yours
 * @param push push both images to {@code registry}
 * @param docker load both images into the local Docker daemon
 * @param base {@code local} or a base image reference ({@code registry/repo:tag@digest}, {@code
 *     tar://file}, {@code docker://name})
 * @param baseJava the java launcher inside a non-local base
 * @param source the {@code org.opencontainers.image.source} label
 */
record BuildOptions(
    Path out,
    Path projectRoot,
    String version,
    String registry,
    boolean push,
    boolean docker,
    String base,
    String baseJava,
    String source) {

  static final String LOCAL_BASE = "local";

  /** The registry name of local builds: a name no registry answers to, never pushed. */
  static final String LOCAL_REGISTRY = "migrate-gate.local";

  private static final Set<String> KEYS =
      Set.of(
          "out",
          "project-root",
          "version",
          "registry",
          "push",
          "docker",
          "base",
          "base-java",
          "source");

  static BuildOptions parse(List<String> args) {
    Map<String, String> values = new HashMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      String key = arg.startsWith("--") && eq > 2 ? arg.substring(2, eq) : null;
      if (key == null || !KEYS.contains(key)) {
        throw new IllegalArgumentException(
            "unknown argument " + arg + "; expected --key=value with key one of " + KEYS);
      }
      values.put(key, arg.substring(eq + 1).trim());
    }
    String registry = values.getOrDefault("registry", LOCAL_REGISTRY);
    boolean push = Boolean.parseBoolean(values.getOrDefault("push", "false"));
    if (registry.isEmpty()) {
      throw new IllegalArgumentException(
          "image.registry is empty: give the repository prefix, e.g. -Dimage.registry=ghcr.io/acme");
    }
    if (registry.endsWith("/")) {
      registry = registry.substring(0, registry.length() - 1);
    }
    if (push && registry.equals(LOCAL_REGISTRY)) {
      throw new IllegalArgumentException(
          "-Dimage.push=true needs a registry: add -Dimage.registry=<your registry>/<path>"
              + " (migrate-gate.local is the name of local builds)");
    }
    String base = values.getOrDefault("base", LOCAL_BASE);
    if (base.isEmpty()) {
      throw new IllegalArgumentException(
          "image.base is empty: use -Dimage.base=local (a runtime made here with jlink) or a JRE"
              + " 17+ image, e.g. -Dimage.base=registry.example.com/eclipse-temurin:17-jre@sha256:...");
    }
    return new BuildOptions(
        Path.of(required(values, "out")).toAbsolutePath(),
        Path.of(required(values, "project-root")).toAbsolutePath(),
        required(values, "version"),
        registry,
        push,
        Boolean.parseBoolean(values.getOrDefault("docker", "false")),
        base,
        values.getOrDefault("base-java", "/opt/java/openjdk/bin/java"),
        values.getOrDefault("source", ""));
  }

  boolean localBase() {
    return base.equals(LOCAL_BASE);
  }

  /** {@code <registry>/<name>:<version>}, e.g. {@code migrate-gate.local/waiter:0.1.0}. */
  String reference(String name) {
    return registry + "/" + name + ":" + version;
  }

  private static String required(Map<String, String> values, String key) {
    String value = values.get(key);
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException("missing --" + key + "=...");
    }
    return value;
  }
}
