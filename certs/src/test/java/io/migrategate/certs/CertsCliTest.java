package io.migrategate.certs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CertsCliTest {
  @TempDir Path dir;

  @Test
  void generateWritesTheFourFilesAndPrintsTheCaBundle() throws Exception {
    Path out = dir.resolve("tls");

    Result result =
        run(
            "generate",
            "--service",
            "gate",
            "--namespace",
            "ops",
            "--out",
            out.toString(),
            "--ip",
            "10.96.0.10",
            "--ip=10.96.0.11,fd00::10",
            "--dns",
            "gate.example.org");

    assertEquals(CertsCli.OK, result.exitCode(), result.err());
    String caPem = Files.readString(out.resolve("ca.crt"));
    assertEquals(
        caPem,
        new String(Base64.getDecoder().decode(result.out().strip()), StandardCharsets.US_ASCII));
    assertEquals(1, result.out().lines().count(), "stdout holds only the caBundle");
    assertTrue(result.err().contains("valid until"), result.err());

    assertEquals("rw-------", permissions(out.resolve("ca.key")));
    assertEquals("rw-------", permissions(out.resolve("tls.key")));
    assertEquals("rw-r--r--", permissions(out.resolve("ca.crt")));
    assertEquals("rw-r--r--", permissions(out.resolve("tls.crt")));
    assertEquals("rwx------", permissions(out));
    try (var files = Files.list(out)) {
      assertEquals(4, files.count(), "no temporary files left behind");
    }

    IssuedCertificate serving =
        new IssuedCertificate(
            Pem.readCertificate(Files.readString(out.resolve("tls.crt"))),
            Pem.readPrivateKey(Files.readString(out.resolve("tls.key"))),
            Pem.readCertificate(caPem));
    CertificateAuthorityTest.validate(serving.certificate(), serving.issuer(), Instant.now());
    CertificateSummary summary = CertificateInspector.describe(serving.certificate());
    assertEquals(
        List.of(
            "gate", "gate.ops", "gate.ops.svc", "gate.ops.svc.cluster.local", "gate.example.org"),
        summary.dnsNames());
    assertEquals(3, summary.ipAddresses().size());
    // The CA key on disk is the one that signed the leaf.
    CertificateAuthority.fromPem(caPem, Files.readString(out.resolve("ca.key")));
    serving.certificate().verify(Pem.readCertificate(caPem).getPublicKey());
  }

  @Test
  void validityFlagsSetTheExpiry() throws Exception {
    Instant before = Instant.now();

    Result result =
        run(
            "generate",
            "--service",
            "gate",
            "--namespace",
            "ops",
            "--out",
            dir.toString(),
            "--ca-validity",
            "30d",
            "--validity",
            "12h");

    assertEquals(CertsCli.OK, result.exitCode(), result.err());
    assertBetween(
        before.plus(Duration.ofDays(30)),
        CertificateInspector.notAfter(Files.readString(dir.resolve("ca.crt"))));
    assertBetween(
        before.plus(Duration.ofHours(12)),
        CertificateInspector.notAfter(Files.readString(dir.resolve("tls.crt"))));
  }

  @Test
  void caDirReusesTheCaAndRenewsTheServingCertificateInPlace() throws Exception {
    assertEquals(
        CertsCli.OK,
        run("generate", "--service", "gate", "--namespace", "ops", "--out", dir.toString())
            .exitCode());
    String caPem = Files.readString(dir.resolve("ca.crt"));
    String caKey = Files.readString(dir.resolve("ca.key"));
    String oldLeaf = Files.readString(dir.resolve("tls.crt"));

    Result renewed =
        run(
            "generate",
            "--service",
            "gate",
            "--namespace",
            "ops",
            "--ca-dir",
            dir.toString(),
            "--out",
            dir.toString());

    assertEquals(CertsCli.OK, renewed.exitCode(), renewed.err());
    assertEquals(caPem, Files.readString(dir.resolve("ca.crt")), "CA untouched");
    assertEquals(caKey, Files.readString(dir.resolve("ca.key")), "CA key untouched");
    String newLeaf = Files.readString(dir.resolve("tls.crt"));
    assertFalse(newLeaf.equals(oldLeaf), "serving certificate renewed");
    CertificateAuthorityTest.validate(
        Pem.readCertificate(newLeaf), Pem.readCertificate(caPem), Instant.now());
    assertEquals(CaBundle.encode(caPem), renewed.out().strip());
    assertTrue(renewed.err().contains("reusing CA"), renewed.err());
  }

  @Test
  void caDirWithAnotherOutCopiesOnlyTheCaCertificate() throws Exception {
    Path ca = dir.resolve("ca");
    Path other = dir.resolve("other");
    assertEquals(
        CertsCli.OK,
        run("generate", "--service", "gate", "--namespace", "ops", "--out", ca.toString())
            .exitCode());

    Result result =
        run(
            "generate",
            "--service",
            "gate",
            "--namespace",
            "ops",
            "--ca-dir",
            ca.toString(),
            "--out",
            other.toString());

    assertEquals(CertsCli.OK, result.exitCode(), result.err());
    assertEquals(Files.readString(ca.resolve("ca.crt")), Files.readString(other.resolve("ca.crt")));
    assertFalse(Files.exists(other.resolve("ca.key")), "the CA key is not copied around");
    assertTrue(Files.exists(other.resolve("tls.key")));
  }

  @Test
  void reusingACaIntoADirectoryHoldingAnotherCaIsRefused() throws Exception {
    Path first = dir.resolve("first");
    Path second = dir.resolve("second");
    assertEquals(
        CertsCli.OK,
        run("generate", "--service", "gate", "--namespace", "ops", "--out", first.toString())
            .exitCode());
    assertEquals(
        CertsCli.OK,
        run("generate", "--service", "gate", "--namespace", "ops", "--out", second.toString())
            .exitCode());
    String secondTls = Files.readString(second.resolve("tls.crt"));

    Result result =
        run(
            "generate",
            "--service",
            "gate",
            "--namespace",
            "ops",
            "--ca-dir",
            first.toString(),
            "--out",
            second.toString());

    assertEquals(CertsCli.USAGE, result.exitCode());
    assertTrue(result.err().contains("already holds a different CA certificate"), result.err());
    assertEquals(secondTls, Files.readString(second.resolve("tls.crt")), "nothing overwritten");
  }

  @Test
  void generatingANewCaOverAnExistingOneIsRefused() throws Exception {
    assertEquals(
        CertsCli.OK,
        run("generate", "--service", "gate", "--namespace", "ops", "--out", dir.toString())
            .exitCode());
    String caPem = Files.readString(dir.resolve("ca.crt"));

    Result result =
        run("generate", "--service", "gate", "--namespace", "ops", "--out", dir.toString());

    assertEquals(CertsCli.USAGE, result.exitCode());
    assertTrue(result.err().contains("already holds a CA"), result.err());
    assertTrue(result.err().contains("--ca-dir " + dir), result.err());
    assertEquals(caPem, Files.readString(dir.resolve("ca.crt")));
    assertEquals("", result.out());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "missing command|''|missing command",
        "unknown command|frobnicate|unknown command 'frobnicate'",
        "no service|generate --namespace ops --out OUT|Missing required option: '--service=NAME'",
        "no namespace|generate --service gate --out OUT|Missing required option: '--namespace=NAME'",
        "no out|generate --service gate --namespace ops|Missing required option: '--out=DIR'",
        "bad service|generate --service Gate_1 --namespace ops --out OUT|--service: service name 'Gate_1'",
        "bad namespace|generate --service gate --namespace Ops --out OUT|--namespace: namespace name 'Ops'",
        "bad ip|generate --service gate --namespace ops --out OUT --ip 10.0.0.300|--ip '10.0.0.300'",
        "ip as dns|generate --service gate --namespace ops --out OUT --dns 10.0.0.3|--dns '10.0.0.3'",
        "bad duration|generate --service gate --namespace ops --out OUT --validity 1y|'--validity': '1y' is not a positive duration",
        "zero duration|generate --service gate --namespace ops --out OUT --validity 0d|'--validity': '0d' is not a positive duration",
        "no value|generate --service gate --namespace ops --out|Missing required parameter for option '--out' (DIR)",
        "unknown flag|generate --service gate --namespace ops --out OUT --days 3|Unknown options: '--days'",
        "stray arg|generate --service gate --namespace ops --out OUT extra|Unmatched argument at index 7: 'extra'",
        "twice|generate --service a --service b --namespace ops --out OUT|option '--service' (NAME) should be specified only once",
        "ca-dir empty|generate --service gate --namespace ops --out OUT --ca-dir OUT|has no ca.crt",
        "ca-validity with ca-dir|generate --service gate --namespace ops --out OUT --ca-dir OUT --ca-validity 3d|--ca-validity applies only",
        "inspect no file|inspect|Missing required parameter: 'FILE'",
        "inspect missing|inspect OUT/nope.crt|file not found",
      })
  void badInputExitsWithUsageAndNamesTheFlag(
      String description, String commandLine, String expected) {
    Result result = run(args(commandLine));

    assertEquals(CertsCli.USAGE, result.exitCode(), result.err());
    assertTrue(result.err().contains(expected), () -> "stderr: " + result.err());
    assertTrue(result.err().contains("--help"), result.err());
    assertEquals("", result.out());
  }

  @Test
  void helpPrintsUsageOnStdout() {
    Result top = run("--help");
    assertEquals(CertsCli.OK, top.exitCode());
    assertTrue(top.out().contains("generate") && top.out().contains("inspect"), top.out());
    assertTrue(top.out().contains("Exit codes: 0 success"), top.out());
    Result generate = run("generate", "--help");
    assertEquals(CertsCli.OK, generate.exitCode());
    assertTrue(generate.out().contains("--ca-dir=DIR"), generate.out());
    assertTrue(generate.out().contains("Default: 365d"), generate.out());
    Result word = run("help");
    assertEquals(CertsCli.OK, word.exitCode(), word.err());
    assertTrue(word.out().contains("generate") && word.out().contains("inspect"), word.out());
    Result inspect = run("inspect", "-h");
    assertEquals(CertsCli.OK, inspect.exitCode());
    assertTrue(inspect.out().contains("FILE"), inspect.out());
  }

  @Test
  void inspectPrintsSubjectNamesAndExpiry() throws Exception {
    assertEquals(
        CertsCli.OK,
        run(
                "generate",
                "--service",
                "gate",
                "--namespace",
                "ops",
                "--out",
                dir.toString(),
                "--ip",
                "10.96.0.10")
            .exitCode());
    String leaf = Files.readString(dir.resolve("tls.crt"));

    Result result = run("inspect", dir.resolve("tls.crt").toString());

    assertEquals(CertsCli.OK, result.exitCode(), result.err());
    assertTrue(result.out().contains("subject:      CN=gate\n"), result.out());
    assertTrue(result.out().contains("issuer:       CN=migrate-gate-ca\n"), result.out());
    assertTrue(
        result
            .out()
            .contains("DNS names:    gate, gate.ops, gate.ops.svc, gate.ops.svc.cluster.local\n"),
        result.out());
    assertTrue(result.out().contains("IP addresses: 10.96.0.10\n"), result.out());
    assertTrue(
        result
            .out()
            .contains("notAfter:     " + CertificateInspector.notAfter(leaf) + " (expires in 36"),
        result.out());

    Result chain =
        run(
            new ByteArrayInputStream(
                (leaf + Files.readString(dir.resolve("ca.crt")))
                    .getBytes(StandardCharsets.US_ASCII)),
            "inspect",
            "-");
    assertEquals(CertsCli.OK, chain.exitCode(), chain.err());
    assertTrue(chain.out().contains("certificate 2 of 2"), chain.out());
    assertTrue(chain.out().contains("CA:           true"), chain.out());
  }

  @Test
  void inspectOfANonCertificateFailsWithTheFileName() throws Exception {
    Path key = dir.resolve("key.pem");
    Files.writeString(key, CertificateAuthority.generate("ca", Duration.ofDays(1)).privateKeyPem());

    Result result = run("inspect", key.toString());

    assertEquals(CertsCli.FAILED, result.exitCode());
    assertTrue(result.err().contains(key + ": no CERTIFICATE block found"), result.err());
  }

  @Test
  void corruptCaKeyInCaDirIsReportedWithTheDirectory() throws Exception {
    assertEquals(
        CertsCli.OK,
        run("generate", "--service", "gate", "--namespace", "ops", "--out", dir.toString())
            .exitCode());
    Files.writeString(
        dir.resolve("ca.key"),
        CertificateAuthority.generate("other", Duration.ofDays(1)).privateKeyPem());

    Result result =
        run(
            "generate",
            "--service",
            "gate",
            "--namespace",
            "ops",
            "--ca-dir",
            dir.toString(),
            "--out",
            dir.resolve("x").toString());

    assertEquals(CertsCli.FAILED, result.exitCode());
    assertTrue(
        result.err().contains("--ca-dir " + dir + ": the CA private key does not belong"),
        result.err());
  }

  private String[] args(String commandLine) {
    List<String> args = new ArrayList<>();
    for (String arg : commandLine.split(" ")) {
      if (!arg.isEmpty()) {
        args.add(arg.replace("OUT", dir.toString()));
      }
    }
    return args.toArray(String[]::new);
  }

  private static void assertBetween(Instant expected, Instant actual) {
    assertTrue(
        !actual.isBefore(expected.minusSeconds(1)) && !actual.isAfter(expected.plusSeconds(60)),
        () -> "expected about " + expected + " but was " + actual);
  }

  private static String permissions(Path path) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
  }

  private static Result run(String... args) {
    return run(new ByteArrayInputStream(new byte[0]), args);
  }

  private static Result run(ByteArrayInputStream in, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exitCode =
        new CertsCli(
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                in)
            .run(args);
    return new Result(
        exitCode, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  record Result(int exitCode, String out, String err) {}
}
