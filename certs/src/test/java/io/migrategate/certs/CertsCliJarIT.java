package io.migrategate.certs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped artifact end to end: {@code java -jar certs/target/migrate-gate-certs.jar ...}. */
class CertsCliJarIT {
  private static Path jar;

  @TempDir Path dir;

  @BeforeAll
  static void findJar() {
    jar = Path.of(System.getProperty("migrategate.certsJar", "target/migrate-gate-certs.jar"));
    assertTrue(Files.isRegularFile(jar), "the shaded jar is built in the package phase: " + jar);
  }

  @Test
  void generateWritesFilesAndPrintsTheCaBundleOnStdout() throws Exception {
    Path out = dir.resolve("tls");

    Run run =
        java(
            "generate",
            "--service",
            "migrate-gate",
            "--namespace",
            "gate-system",
            "--out",
            out.toString(),
            "--ip",
            "127.0.0.1");

    assertEquals(0, run.exitCode(), run.err());
    String caPem = Files.readString(out.resolve("ca.crt"));
    assertEquals(
        caPem,
        new String(Base64.getDecoder().decode(run.out().strip()), StandardCharsets.US_ASCII));
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(out.resolve("tls.key"))));
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(out.resolve("ca.key"))));
    assertTrue(
        run.err().contains("wrote ca.crt, ca.key (0600), tls.crt, tls.key (0600)"), run.err());
    CertificateAuthorityTest.validate(
        Pem.readCertificate(Files.readString(out.resolve("tls.crt"))),
        Pem.readCertificate(caPem),
        Instant.now());

    Run inspect = java("inspect", out.resolve("tls.crt").toString());
    assertEquals(0, inspect.exitCode(), inspect.err());
    assertTrue(inspect.out().contains("migrate-gate.gate-system.svc.cluster.local"), inspect.out());
    assertTrue(inspect.out().contains("IP addresses: 127.0.0.1"), inspect.out());
  }

  @Test
  void badFlagExits64WithAMessageNamingIt() throws Exception {
    Run run =
        java(
            "generate",
            "--service",
            "gate",
            "--namespace",
            "ops",
            "--out",
            dir.toString(),
            "--validity",
            "forever");

    assertEquals(64, run.exitCode());
    assertTrue(run.err().contains("'--validity': 'forever' is not a positive duration"), run.err());
    assertEquals("", run.out());
  }

  @Test
  void helpExitsZero() throws Exception {
    Run run = java("--help");

    assertEquals(0, run.exitCode(), run.err());
    assertTrue(run.out().startsWith("Usage: java -jar migrate-gate-certs.jar"), run.out());
  }

  private Run java(String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-jar");
    command.add(jar.toString());
    command.addAll(List.of(args));
    Path stdout = Files.createTempFile(dir, "stdout", ".txt");
    Path stderr = Files.createTempFile(dir, "stderr", ".txt");
    Process process =
        new ProcessBuilder(command)
            .redirectOutput(stdout.toFile())
            .redirectError(stderr.toFile())
            .start();
    process.getOutputStream().close();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("CLI did not finish within 60 s: " + command);
    }
    Run run = new Run(process.exitValue(), Files.readString(stdout), Files.readString(stderr));
    Files.delete(stdout);
    Files.delete(stderr);
    return run;
  }

  record Run(int exitCode, String out, String err) {}
}
