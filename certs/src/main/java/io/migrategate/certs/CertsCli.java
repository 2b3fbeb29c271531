package io.migrategate.certs;

import io.migrategate.core.Durations;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

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

  static final String USAGE_TEXT =
      """
      Usage: java -jar migrate-gate-certs.jar <command> [flags]

      Commands:
        generate   Create a CA (or reuse one) and a serving certificate for a Service.
                   Writes ca.crt, ca.key, tls.crt, tls.key (keys with mode 0600) and prints
                   the caBundle (base64 of ca.crt) on stdout.
        inspect    Print subject, issuer, names and validity of each certificate in a PEM file
                   ('-' reads standard input).

      generate flags:
        --service NAME            Service name of the gate (required)
        --namespace NAME          Namespace of that Service (required)
        --out DIR                 Directory for the files; created with mode 0700 if missing (required)
        --ip ADDRESS              Extra IP address SAN; repeat or comma-separate for several
        --dns NAME                Extra DNS name SAN; repeat or comma-separate for several
        --cluster-domain DOMAIN   Cluster DNS domain (default: cluster.local)
        --ca-dir DIR              Reuse the CA in DIR/ca.crt and DIR/ca.key instead of creating one
        --ca-validity DURATION    Validity of a new CA (default: 3650d)
        --validity DURATION       Validity of the serving certificate (default: 365d; never
                                  beyond the CA's own expiry)
        DURATION is a whole number with a unit: d (days), h, m or s, e.g. 365d or 12h.

      Examples:
        java -jar migrate-gate-certs.jar generate --service migrate-gate --namespace migrate-gate \\
            --out ./tls > cabundle.txt
        java -jar migrate-gate-certs.jar generate --service migrate-gate --namespace migrate-gate \\
            --ca-dir ./tls --out ./tls          # renew tls.crt/tls.key with the same CA
        java -jar migrate-gate-certs.jar inspect ./tls/tls.crt

      Exit codes: 0 success, 1 failure (message on stderr), 64 usage error.
      """;

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

  int run(String... args) {
    try {
      if (args.length == 0) {
        throw new UsageException("missing command; use 'generate' or 'inspect'");
      }
      List<String> rest = List.of(args).subList(1, args.length);
      return switch (args[0]) {
        case "generate" -> generate(GenerateRequest.parse(rest));
        case "inspect" -> inspect(rest);
        case "help", "--help", "-h" -> {
          out.print(USAGE_TEXT);
          yield OK;
        }
        default ->
            throw new UsageException(
                "unknown command '" + args[0] + "'; use 'generate' or 'inspect'");
      };
    } catch (HelpRequested e) {
      out.print(USAGE_TEXT);
      return OK;
    } catch (UsageException e) {
      err.println("migrate-gate-certs: " + e.getMessage());
      err.println("Run with --help for usage.");
      return USAGE;
    } catch (RuntimeException | IOException e) {
      err.println("migrate-gate-certs: " + describe(e));
      return FAILED;
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

  private int inspect(List<String> args) throws IOException {
    if (args.contains("--help") || args.contains("-h")) {
      throw new HelpRequested();
    }
    if (args.size() != 1 || (args.get(0).startsWith("-") && !args.get(0).equals("-"))) {
      throw new UsageException(
          "inspect takes exactly one FILE (a PEM file, or '-' for standard input), got "
              + (args.isEmpty() ? "none" : String.join(" ", args)));
    }
    String file = args.get(0);
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

  /** Parses {@code 365d}, {@code 12h}, {@code 30m}, {@code 90s} (the shared grammar). */
  static Duration parseDuration(String flag, String value) {
    try {
      return Durations.parsePositive(value.trim().toLowerCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new UsageException(
          flag
              + " '"
              + value
              + "' is not a positive duration; use a whole number with a unit"
              + " d, h, m or s, e.g. 365d or 12h");
    }
  }

  /** The validated flags of {@code generate}. */
  record GenerateRequest(
      List<String> dnsNames,
      List<String> ipAddresses,
      Path out,
      Path caDir,
      Duration caValidity,
      Duration validity) {

    private static final List<String> FLAGS =
        List.of(
            "--service",
            "--namespace",
            "--out",
            "--ip",
            "--dns",
            "--cluster-domain",
            "--ca-dir",
            "--ca-validity",
            "--validity");
    private static final Set<String> REPEATABLE = Set.of("--ip", "--dns");

    static GenerateRequest parse(List<String> args) {
      Map<String, List<String>> flags = new LinkedHashMap<>();
      for (int i = 0; i < args.size(); i++) {
        String arg = args.get(i);
        if (arg.equals("--help") || arg.equals("-h")) {
          throw new HelpRequested();
        }
        String name = arg;
        String value = null;
        int equals = arg.indexOf('=');
        if (arg.startsWith("--") && equals > 0) {
          name = arg.substring(0, equals);
          value = arg.substring(equals + 1);
        }
        if (!FLAGS.contains(name)) {
          throw new UsageException(
              arg.startsWith("-")
                  ? "unknown flag '"
                      + name
                      + "' for generate; known flags: "
                      + String.join(", ", FLAGS)
                  : "unexpected argument '"
                      + arg
                      + "'; generate takes only flags, e.g. --service NAME");
        }
        if (value == null) {
          if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
            throw new UsageException(name + " needs a value, e.g. " + name + " " + example(name));
          }
          value = args.get(++i);
        }
        if (flags.containsKey(name) && !REPEATABLE.contains(name)) {
          throw new UsageException(name + " given more than once; pass it once");
        }
        flags.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
      }

      String service = required(flags, "--service");
      String namespace = required(flags, "--namespace");
      Path out = Path.of(required(flags, "--out"));
      if (Files.exists(out) && !Files.isDirectory(out)) {
        throw new UsageException(
            "--out " + out + " exists and is not a directory; pass a directory");
      }
      List<String> dnsNames;
      try {
        dnsNames =
            new ArrayList<>(
                ServingNames.forService(
                    service,
                    namespace,
                    single(flags, "--cluster-domain", ServingNames.DEFAULT_CLUSTER_DOMAIN)));
      } catch (IllegalArgumentException e) {
        throw new UsageException(flagFor(e.getMessage()) + ": " + e.getMessage());
      }
      dnsNames.addAll(commaSeparated(flags.get("--dns")));
      List<String> ipAddresses = commaSeparated(flags.get("--ip"));
      for (String ip : ipAddresses) {
        if (!DnsNames.isIpAddress(ip)) {
          throw new UsageException(
              "--ip '" + ip + "' is not an IPv4 or IPv6 address; pass e.g. --ip 10.96.0.10");
        }
      }
      for (String dns : commaSeparated(flags.get("--dns"))) {
        if (!DnsNames.isValid(dns) || DnsNames.isIpAddress(dns)) {
          throw new UsageException(
              "--dns '"
                  + dns
                  + "' is not a DNS name; pass host names like gate.example.org"
                  + " (addresses go in --ip)");
        }
      }
      String caDir = single(flags, "--ca-dir", null);
      if (caDir != null && flags.containsKey("--ca-validity")) {
        throw new UsageException(
            "--ca-validity applies only to a new CA, but --ca-dir reuses one; drop one of the two");
      }
      return new GenerateRequest(
          List.copyOf(dnsNames),
          List.copyOf(ipAddresses),
          out,
          caDir == null ? null : Path.of(caDir),
          durationFlag(flags, "--ca-validity", DEFAULT_CA_VALIDITY),
          durationFlag(flags, "--validity", DEFAULT_VALIDITY));
    }

    private static String flagFor(String message) {
      if (message.startsWith("service")) {
        return "--service";
      }
      return message.startsWith("namespace") ? "--namespace" : "--cluster-domain";
    }

    private static String required(Map<String, List<String>> flags, String name) {
      String value = single(flags, name, null);
      if (value == null || value.isBlank()) {
        throw new UsageException("missing " + name + "; pass e.g. " + name + " " + example(name));
      }
      return value;
    }

    private static String single(Map<String, List<String>> flags, String name, String fallback) {
      List<String> values = flags.get(name);
      return values == null ? fallback : values.get(0);
    }

    private static Duration durationFlag(
        Map<String, List<String>> flags, String name, Duration fallback) {
      String value = single(flags, name, null);
      return value == null ? fallback : parseDuration(name, value);
    }

    private static List<String> commaSeparated(List<String> values) {
      List<String> all = new ArrayList<>();
      if (values != null) {
        for (String value : values) {
          for (String part : value.split(",")) {
            if (!part.isBlank()) {
              all.add(part.trim());
            }
          }
        }
      }
      return all;
    }

    private static String example(String flag) {
      return switch (flag) {
        case "--service" -> "migrate-gate";
        case "--namespace" -> "migrate-gate";
        case "--out", "--ca-dir" -> "./tls";
        case "--ip" -> "10.96.0.10";
        case "--dns" -> "gate.example.org";
        case "--cluster-domain" -> "cluster.local";
        case "--ca-validity" -> "3650d";
        default -> "365d";
      };
    }
  }

  /** A command-line mistake; the message names the flag and the fix. */
  static final class UsageException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }

  private static final class HelpRequested extends RuntimeException {
    private static final long serialVersionUID = 1L;

    HelpRequested() {
      super(null, null, false, false);
    }
  }
}
