package io.migrategate.gate;

import io.migrategate.certs.CertificateAuthority;
import io.migrategate.certs.IssuedCertificate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of the packaged gate started as a process of its own (benchmarks, and tests that
 * bound its heap): files TLS, a kubeconfig, no drain delay.
 *
 * @param jvmOptions JVM options before {@code -jar}
 * @param extraFlags gate flags after the common ones
 */
record GateCommand(
    Path jar,
    List<String> jvmOptions,
    Path cert,
    Path key,
    String namespace,
    Path kubeconfig,
    List<String> extraFlags) {

  /** A serving certificate for 127.0.0.1 and its key, written to {@code dir}, and its CA. */
  record Tls(Path cert, Path key, String caPem) {
    static Tls writeTo(Path dir) throws IOException {
      CertificateAuthority ca = CertificateAuthority.generate("bench-ca", Duration.ofDays(1));
      IssuedCertificate leaf =
          ca.issueServing(List.of("localhost"), List.of("127.0.0.1"), Duration.ofDays(1));
      return new Tls(
          Files.writeString(dir.resolve("tls.crt"), leaf.certificatePem()),
          Files.writeString(dir.resolve("tls.key"), leaf.privateKeyPem()),
          ca.certificatePem());
    }
  }

  List<String> build(int port, int waitPort, int probePort) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
    command.addAll(
        List.of(
            "-jar",
            jar.toString(),
            "--port",
            Integer.toString(port),
            "--wait-port",
            Integer.toString(waitPort),
            "--probe-port",
            Integer.toString(probePort),
            "--tls-cert-file",
            cert.toString(),
            "--tls-key-file",
            key.toString(),
            "--waiter-image",
            "registry.example/waiter:bench",
            "--namespace",
            namespace,
            "--kubeconfig",
            kubeconfig.toString(),
            "--drain-delay",
            "0s",
            "--shutdown-timeout",
            "2s"));
    command.addAll(extraFlags);
    return command;
  }
}
