package io.migrategate.certs;

import io.migrategate.core.Durations;
import io.migrategate.core.UsageException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.TypeConversionException;

/**
 * Command line for teams that manage the gate's TLS Secret themselves: {@code generate} writes a CA
 * and a serving certificate as files ready for {@code kubectl create secret}, {@code inspect} shows
 * what a PEM file holds. Results go to stdout (so they can be piped), messages to stderr.
 */
public final class CertsCli {
  static final int OK = 0;
  static final int FAILED = 1;

  /** sysexits.h EX_USAGE: the command line was wrong; the message says which flag and the fix. */
  static final int USAGE = 64;

  static final String CA_CERT = "ca.crt";
  static final String CA_KEY = "ca.key";
  static final String TLS_CERT = "tls.crt";
  static final String TLS_KEY = "tls.key";

  static final String DEFAULT_CA_NAME = "migrate-gate-ca";
  static final Duration DEFAULT_CA_VALIDITY = Duration.ofDays(3650);
  static final Duration DEFAULT_VALIDITY = Duration.ofDays(365);

  private static final Set<PosixFilePermission> SECRET_FILE =
      PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> PUBLIC_FILE =
      PosixFilePermissions.fromString("rw-r--r--");
  private static final Set<PosixFilePermission> PRIVATE_DIRECTORY =
      PosixFilePermissions.fromString("rwx------");

  private final PrintStream out;
  private final PrintStream err;
  private final InputStream in;

  CertsCli(PrintStream out, PrintStream err, InputStream in) {
    this.out = out;
    this.err = err;
    this.in = in;
  }

  public static void main(String[] args) {
    System.exit(new CertsCli(System.out, System.err, System.in).run(args));
  }

  @Command(
      name = "java -jar migrate-gate-certs.jar",
      synopsisSubcommandLabel = "COMMAND",
      usageHelpWidth = 100,
      description =
          "Certificates for teams that manage the gate's TLS Secret themselves. Results go to"
              + " stdout, messages to stderr.",
      footer = {
        "",
        "Examples:",
        "  java -jar migrate-gate-certs.jar generate --service migrate-gate \\",
        "      --namespace migrate-gate --out ./tls > cabundle.txt",
        "  java -jar migrate-gate-certs.jar generate --service migrate-gate \\",
        "      --namespace migrate-gate --ca-dir ./tls --out ./tls   # renew tls.crt/tls.key",
        "  java -jar migrate-gate-certs.jar inspect ./tls/tls.crt",
        "",
        "Exit codes: 0 success, 1 failure (message on stderr), 64 usage error."
      })
  static final class Root {
    @Option(
        names = {"-h", "--help"},
        usageHelp = true,
        description = "Print this text.")
    boolean help;
  }

  /** Parses {@code args}, runs the command and returns the exit code; never throws. */
  int run(String... args) {
    CommandLine cli =
        new CommandLine(new Root())
            .addSubcommand(new Generate())
            .addSubcommand(new Inspect())
            .addSubcommand("help", new CommandLine.HelpCommand())
            .registerConverter(Duration.class, CertsCli::positiveDuration)
            .setOut(new PrintWriter(out, true))
            .setErr(new PrintWriter(err, true));
    cli.setParameterExceptionHandler(
        (e, arguments) ->
            usageError(
                e instanceof CommandLine.UnmatchedArgumentException && e.getCommandLine() == cli
                    ? "unknown command '" + arguments[0] + "'; use 'generate' or 'inspect'"
                    : e.getMessage()));
    cli.setExecutionExceptionHandler(
        (e, command, parsed) -> {
          if (e instanceof UsageException) {
            return usageError(e.getMessage());
          }
          err.println("migrate-gate-certs: " + describe(e));
          return FAILED;
        });
    if (args.length == 0) {
      return usageError("missing command; use 'generate' or 'inspect'");
    }
    return cli.execute(args);
  }

  /** A command-line mistake on stderr (the message names the flag and the fix); exit 64. */
  private int usageError(String message) {
    err.println("migrate-gate-certs: " + message);
    err.println("Run with --help for usage.");
    return USAGE;
  }

  @Command(
      name = "generate",
      sortOptions = false,
      usageHelpWidth = 100,
      description = {
        "Create a CA (or reuse one) and a serving certificate for a Service. Writes ca.crt,"
            + " ca.key, tls.crt, tls.key (keys with mode 0600) and prints the caBundle (base64 of"
            + " ca.crt) on stdout."
      },
      footer = {"", "DURATION: " + Durations.GRAMMAR + "."})
  final class Generate implements Callable<Integer> {
    @Option(
        names = "--service",
        required = true,
        paramLabel = "NAME",
        description = "Service name of the gate.")
    String service;

    @Option(
        names = "--namespace",
        required = true,
        paramLabel = "NAME",
        description = "Namespace of that Service.")
    String namespace;

    @Option(
        names = "--out",
        required = true,
        paramLabel = "DIR",
        description = "Directory for the files; created with mode 0700 if missing.")
    Path outDir;

    @Option(
        names = "--ip",
        split = ",",
        paramLabel = "ADDRESS",
        description = "Extra IP address SAN; repeat or comma-separate for several.")
    List<String> ipAddresses = new ArrayList<>();

    @Option(
        names = "--dns",
        split = ",",
        paramLabel = "NAME",
        description = "Extra DNS name SAN; repeat or comma-separate for several.")
    List<String> extraDnsNames = new ArrayList<>();

    @Option(
        names = "--cluster-domain",
        paramLabel = "DOMAIN",
        defaultValue = ServingNames.DEFAULT_CLUSTER_DOMAIN,
        description = "Cluster DNS domain. Default: ${DEFAULT-VALUE}.")
    String clusterDomain;

    @Option(
        names = "--ca-dir",
        paramLabel = "DIR",
        description = "Reuse the CA in DIR/ca.crt and DIR/ca.key instead of creating one.")
    Path caDir;

    @Option(
        names = "--ca-validity",
        paramLabel = "DURATION",
        description = "Validity of a new CA. Default: 3650d.")
    Duration caValidity;

    @Option(
        names = "--validity",
        paramLabel = "DURATION",
        defaultValue = "365d",
        description =
            "Validity of the serving certificate (never beyond the CA's own expiry)."
                + " Default: ${DEFAULT-VALUE}.")
    Duration validity;

    @Option(
        names = {"-h", "--help"},
        usageHelp = true,
        description = "Print this text.")
    boolean help;

    @Override
    public Integer call() throws IOException {
      return generate(request());
    }

    GenerateRequest request() {
      if (Files.exists(outDir) && !Files.isDirectory(outDir)) {
        throw new UsageException(
            "--out " + outDir + " exists and is not a directory; pass a directory");
      }
      List<String> dnsNames;
      try {
        dnsNames = new ArrayList<>(ServingNames.forService(service, namespace, clusterDomain));
      } catch (IllegalArgumentException e) {
        throw new UsageException(flagFor(e.getMessage()) + ": " + e.getMessage());
      }
      List<String> extra = trimmed(extraDnsNames);
      for (String dns : extra) {
        if (!DnsNames.isValid(dns) || DnsNames.isIpAddress(dns)) {
          throw new UsageException(
              "--dns '"
                  + dns
                  + "' is not a DNS name; pass host names like gate.example.org"
                  + " (addresses go in --ip)");
        }
      }
      dnsNames.addAll(extra);
      List<String> ips = trimmed(ipAddresses);
      for (String ip : ips) {
        if (!DnsNames.isIpAddress(ip)) {
          throw new UsageException(
              "--ip '" + ip + "' is not an IPv4 or IPv6 address; pass e.g. --ip 10.96.0.10");
        }
      }
      if (caDir != null && caValidity != null) {
        throw new UsageException(
            "--ca-validity applies only to a new CA, but --ca-dir reuses one; drop one of the two");
      }
      return new GenerateRequest(
          List.copyOf(dnsNames),
          List.copyOf(ips),
          outDir,
          caDir,
          caValidity == null ? DEFAULT_CA_VALIDITY : caValidity,
          validity);
    }
  }

  @Command(
      name = "inspect",
      usageHelpWidth = 100,
      description = "Print subject, issuer, names and validity of each certificate in a PEM file.")
  final class Inspect implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "A PEM file; '-' reads standard input.")
    String file;

    @Option(
        names = {"-h", "--help"},
        usageHelp = true,
        description = "Print this text.")
    boolean help;

    @Override
    public Integer call() throws IOException {
      return inspect(file);
    }
  }

  private int generate(GenerateRequest request) throws IOException {
    boolean reusingCa = request.caDir() != null;
    if (!reusingCa) {
      refuseToReplaceCa(request.out());
    }
    CertificateAuthority ca = reusingCa ? loadCa(request.caDir()) : newCa(request.caValidity());
    IssuedCertificate serving =
        ca.issueServing(request.dnsNames(), request.ipAddresses(), request.validity());
    if (serving.notAfter().isBefore(Instant.now().plus(request.validity()).minusSeconds(60))) {
      err.println(
          "warning: the serving certificate expires with its CA at "
              + serving.notAfter()
              + ", earlier than --validity asks; renew the CA before then");
    }

    List<String> written = write(request.out(), ca, reusingCa, serving);

    CertificateSummary summary = CertificateInspector.describe(serving.certificate());
    err.println("wrote " + String.join(", ", written) + " to " + request.out());
    err.println(
        "serving certificate for "
            + String.join(", ", concat(summary.dnsNames(), summary.ipAddresses()))
            + ", valid until "
            + summary.notAfter());
    err.println("caBundle (base64 of " + CA_CERT + ") follows on stdout");
    out.println(CaBundle.encode(ca.certificatePem()));
    out.flush();
    return OK;
  }

  private CertificateAuthority newCa(Duration validity) {
    CertificateAuthority ca = CertificateAuthority.generate(DEFAULT_CA_NAME, validity);
    err.println("created CA '" + DEFAULT_CA_NAME + "', valid until " + ca.notAfter());
    return ca;
  }

  private CertificateAuthority loadCa(Path caDir) throws IOException {
    Path certificate = caDir.resolve(CA_CERT);
    Path key = caDir.resolve(CA_KEY);
    for (Path file : List.of(certificate, key)) {
      if (!Files.isRegularFile(file)) {
        throw new UsageException(
            "--ca-dir "
                + caDir
                + " has no "
                + file.getFileName()
                + "; point --ca-dir at a directory written by 'generate' (it holds "
                + CA_CERT
                + " and "
                + CA_KEY
                + ")");
      }
    }
    CertificateAuthority ca;
    try {
      ca =
          CertificateAuthority.fromPem(
              Files.readString(certificate, StandardCharsets.US_ASCII),
              Files.readString(key, StandardCharsets.US_ASCII));
    } catch (PemException e) {
      throw new PemException("--ca-dir " + caDir + ": " + e.getMessage(), e);
    }
    err.println(
        "reusing CA '"
            + ca.certificate().getSubjectX500Principal().getName()
            + "' from "
            + caDir
            + ", valid until "
            + ca.notAfter());
    return ca;
  }

  /**
   * Writes the files and returns their names. A reused CA's key stays where it is: one copy of a CA
   * key is enough. Its certificate is copied, because it belongs in the Secret.
   */
  private static List<String> write(
      Path outDir, CertificateAuthority ca, boolean reusingCa, IssuedCertificate serving)
      throws IOException {
    createPrivateDirectory(outDir);
    List<String> written = new ArrayList<>();
    Path caCert = outDir.resolve(CA_CERT);
    if (!reusingCa) {
      writeFile(caCert, ca.certificatePem(), PUBLIC_FILE);
      writeFile(outDir.resolve(CA_KEY), ca.privateKeyPem(), SECRET_FILE);
      written.add(CA_CERT);
      written.add(CA_KEY + " (0600)");
    } else if (!Files.exists(caCert)) {
      writeFile(caCert, ca.certificatePem(), PUBLIC_FILE);
      written.add(CA_CERT);
    } else if (!Files.readString(caCert, StandardCharsets.US_ASCII).equals(ca.certificatePem())) {
      throw new UsageException(
          "--out "
              + outDir
              + " already holds a different CA certificate ("
              + CA_CERT
              + "); choose another --out directory, or pass --ca-dir "
              + outDir
              + " to reuse that CA");
    }
    writeFile(outDir.resolve(TLS_CERT), serving.certificatePem(), PUBLIC_FILE);
    writeFile(outDir.resolve(TLS_KEY), serving.privateKeyPem(), SECRET_FILE);
    written.add(TLS_CERT);
    written.add(TLS_KEY + " (0600)");
    return written;
  }

  private int inspect(String file) throws IOException {
    String pem;
    if (file.equals("-")) {
      pem = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
    } else {
      try {
        pem = Files.readString(Path.of(file), StandardCharsets.US_ASCII);
      } catch (NoSuchFileException e) {
        throw new UsageException("inspect: file not found: " + file);
      }
    }
    List<CertificateSummary> certificates;
    try {
      certificates = CertificateInspector.describeAll(pem);
    } catch (PemException e) {
      throw new PemException(file + ": " + e.getMessage(), e);
    }
    Instant now = Instant.now();
    for (int i = 0; i < certificates.size(); i++) {
      CertificateSummary c = certificates.get(i);
      if (certificates.size() > 1) {
        out.println("certificate " + (i + 1) + " of " + certificates.size());
      }
      out.println("  subject:      " + c.subject());
      out.println("  issuer:       " + c.issuer());
      out.println("  serial:       " + c.serialNumber());
      out.println("  CA:           " + c.certificateAuthority());
      out.println("  DNS names:    " + String.join(", ", c.dnsNames()));
      out.println("  IP addresses: " + String.join(", ", c.ipAddresses()));
      out.println("  notBefore:    " + c.notBefore());
      out.println("  notAfter:     " + c.notAfter() + " (" + remaining(c, now) + ")");
    }
    out.flush();
    return OK;
  }

  private static String remaining(CertificateSummary certificate, Instant now) {
    Duration left = certificate.remainingValidity(now);
    if (left.isNegative()) {
      return "EXPIRED " + human(left.negated()) + " ago";
    }
    if (now.isBefore(certificate.notBefore())) {
      return "NOT YET VALID, expires in " + human(left);
    }
    return "expires in " + human(left);
  }

  private static String human(Duration duration) {
    long days = duration.toDays();
    return days > 0
        ? days + "d " + duration.toHoursPart() + "h"
        : duration.toHours() + "h " + duration.toMinutesPart() + "m";
  }

  // A new CA silently replacing an existing one would break every caBundle that trusts the old.
  private static void refuseToReplaceCa(Path out) {
    for (String name : List.of(CA_CERT, CA_KEY)) {
      if (Files.exists(out.resolve(name))) {
        throw new UsageException(
            "--out "
                + out
                + " already holds a CA ("
                + name
                + "); pass --ca-dir "
                + out
                + " to reuse it, or choose an empty --out directory");
      }
    }
  }

  private static void createPrivateDirectory(Path directory) throws IOException {
    if (Files.isDirectory(directory)) {
      return;
    }
    if (isPosix()) {
      Files.createDirectories(directory, PosixFilePermissions.asFileAttribute(PRIVATE_DIRECTORY));
    } else {
      Files.createDirectories(directory);
    }
  }

  /**
   * Writes via a temporary file in the same directory, created owner-only, given its final mode and
   * then renamed into place: a key is never readable by others, not even briefly, and a crash never
   * leaves a half-written file under the final name.
   */
  private static void writeFile(Path target, String content, Set<PosixFilePermission> permissions)
      throws IOException {
    Path directory = target.toAbsolutePath().getParent();
    Path temporary =
        isPosix()
            ? Files.createTempFile(
                directory,
                "." + target.getFileName(),
                ".tmp",
                PosixFilePermissions.asFileAttribute(SECRET_FILE))
            : Files.createTempFile(directory, "." + target.getFileName(), ".tmp");
    try {
      Files.writeString(temporary, content, StandardCharsets.US_ASCII);
      if (isPosix()) {
        Files.setPosixFilePermissions(temporary, permissions);
      }
      try {
        Files.move(
            temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  private static boolean isPosix() {
    return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
  }

  private static List<String> concat(List<String> first, List<String> second) {
    List<String> all = new ArrayList<>(first);
    all.addAll(second);
    return all;
  }

  private static String describe(Exception e) {
    if (e instanceof NoSuchFileException) {
      return "file not found: " + e.getMessage();
    }
    if (e instanceof java.nio.file.AccessDeniedException) {
      return "permission denied: " + e.getMessage();
    }
    return e.getMessage() == null ? e.toString() : e.getMessage();
  }

  /** {@code --validity} and {@code --ca-validity}: the shared grammar, positive. */
  private static Duration positiveDuration(String value) {
    try {
      return Durations.parsePositive(value.trim().toLowerCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new TypeConversionException(
          "'" + value + "' is not a positive duration; use e.g. 365d, 12h or 90m");
    }
  }

  private static String flagFor(String message) {
    if (message.startsWith("service")) {
      return "--service";
    }
    return message.startsWith("namespace") ? "--namespace" : "--cluster-domain";
  }

  private static List<String> trimmed(List<String> values) {
    List<String> all = new ArrayList<>();
    for (String value : values) {
      if (!value.isBlank()) {
        all.add(value.trim());
      }
    }
    return all;
  }

  /** What {@code generate} was asked for, validated. */
  record GenerateRequest(
      List<String> dnsNames,
      List<String> ipAddresses,
      Path out,
      Path caDir,
      Duration caValidity,
      Duration validity) {}
}
