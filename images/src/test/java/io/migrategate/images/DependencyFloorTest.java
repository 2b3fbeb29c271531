package io.migrategate.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The security floors of the root pom ({@code floor.*}, docs/security.md) fail the build when any
 * module resolves an older library, also transitively: run as a user would, a {@code mvn validate}
 * of the project with a BOM pinned below a floor. (Here because this module is the build's own
 * tooling; the check itself is maven-enforcer's bannedDependencies in the root pom.)
 */
class DependencyFloorTest {
  private static final Path ROOT = Path.of(System.getProperty("migrategate.projectRoot", "../"));

  @Test
  void theBuildAsShippedPassesTheFloors() throws Exception {
    Result result = validate("webhook");
    assertEquals(0, result.exit(), result.output());
  }

  @Test
  void aNettyOlderThanItsFloorFailsTheBuildNamingTheLibraryAndWhoBringsIt() throws Exception {
    // 4.2.12.Final is what Vert.x 5.0.10 brings on its own: HTTP/1.1 request smuggling fixes came
    // later.
    Result result = validate("webhook", "-Dnetty.version=4.2.12.Final");
    assertNotEquals(0, result.exit(), result.output());
    assertTrue(result.output().contains("older than its security floor"), result.output());
    assertTrue(
        result.output().contains("io.netty:netty-codec-http:jar:4.2.12.Final <--- banned"),
        result.output());
  }

  @Test
  void aJacksonOlderThanItsFloorFailsTheBuild() throws Exception {
    Result result = validate("core", "-Djackson.version=2.20.1");
    assertNotEquals(0, result.exit(), result.output());
    assertTrue(
        result
            .output()
            .contains("com.fasterxml.jackson.core:jackson-databind:jar:2.20.1 <--- banned"),
        result.output());
  }

  private record Result(int exit, String output) {}

  private static Result validate(String module, String... properties)
      throws IOException, InterruptedException {
    List<String> command =
        new ArrayList<>(
            List.of("mvn", "-B", "-q", "validate", "-pl", module, "-am", "-Dimages.skip"));
    String repository = System.getProperty("migrategate.mavenRepoLocal");
    if (repository != null && !repository.isBlank()) {
      command.add("-Dmaven.repo.local=" + repository);
    }
    command.addAll(List.of(properties));
    Path log = Files.createTempFile("mvn-validate", ".log");
    try {
      Process process =
          new ProcessBuilder(command)
              .directory(ROOT.toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      if (!process.waitFor(5, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        throw new AssertionError("mvn validate did not finish within 5 minutes: " + command);
      }
      return new Result(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(log);
    }
  }
}
