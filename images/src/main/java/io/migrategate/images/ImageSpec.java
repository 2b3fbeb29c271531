package io.migrategate.images;

import com.google.cloud.tools.jib.api.buildplan.Port;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One image: what goes into {@code /app}, which runtime it needs, how it starts.
 *
 * @param name the repository name under the registry ({@code webhook}, {@code waiter})
 * @param appFiles file name in {@code /app} → its source in the build
 * @param runtime the modules a local base links for it
 * @param jvmOptions the Java argument file in {@code /app}: the one place for JVM options
 * @param jar the application jar in {@code /app}
 * @param cdsArchive the CDS archive to dump in {@code /app}, or null for none
 */
record ImageSpec(
    String name,
    String title,
    String description,
    Map<String, Path> appFiles,
    LocalRuntime.Spec runtime,
    String jvmOptions,
    String jar,
    String cdsArchive,
    Set<Port> ports) {

  static List<ImageSpec> all(BuildOptions options) {
    Path root = options.projectRoot();
    Map<String, Path> gateFiles = new LinkedHashMap<>();
    gateFiles.put(
        "migrate-gate-webhook.jar", root.resolve("webhook/target/migrate-gate-webhook.jar"));
    gateFiles.put("gate.jvmopts", root.resolve("webhook/src/main/jvm/gate.jvmopts"));
    Map<String, Path> waiterFiles = new LinkedHashMap<>();
    waiterFiles.put(
        "migrate-gate-waiter.jar", root.resolve("waiter/target/migrate-gate-waiter.jar"));
    waiterFiles.put("waiter.jvmopts", root.resolve("waiter/src/main/jvm/waiter.jvmopts"));
    return List.of(
        new ImageSpec(
            "webhook",
            "migrate-gate-webhook",
            "migrate-gate: the mutating admission webhook, Job tracker and wait API",
            gateFiles,
            new LocalRuntime.Spec(
                "webhook",
                // java.naming: Netty's and Vert.x's certificate name parsing (LdapName);
                // java.net.http: fabric8's JDK HTTP client; jdk.crypto.ec: EC keys in TLS;
                // jdk.unsupported: Netty's Unsafe access; java.management: JVM metrics.
                List.of(
                    "java.base",
                    "java.logging",
                    "java.management",
                    "java.naming",
                    "java.net.http",
                    "jdk.crypto.ec",
                    "jdk.unsupported"),
                true),
            "gate.jvmopts",
            "migrate-gate-webhook.jar",
            null,
            ImageBuild.ports(8443, 8080)),
        new ImageSpec(
            "waiter",
            "migrate-gate-waiter",
            "migrate-gate: the migrate-wait init container",
            waiterFiles,
            new LocalRuntime.Spec(
                "waiter",
                // jdk.crypto.ec: EC keys in TLS (cluster and gate CAs); jdk.httpserver: the
                // stub API server of the CDS training run, dumped inside the image.
                List.of("java.base", "jdk.crypto.ec", "jdk.httpserver"),
                false),
            "waiter.jvmopts",
            "migrate-gate-waiter.jar",
            "waiter.jsa",
            Set.of()));
  }

  String archiveName() {
    return "migrate-gate-" + name + ".tar";
  }

  /** {@code java @/app/<opts> [-XX:SharedArchiveFile=/app/<jsa>] -jar /app/<jar>}. */
  List<String> entrypoint(String java) {
    List<String> command = new ArrayList<>(List.of(java, "@" + ImageBuild.APP + "/" + jvmOptions));
    if (cdsArchive != null) {
      command.add("-XX:SharedArchiveFile=" + ImageBuild.APP + "/" + cdsArchive);
    }
    command.add("-jar");
    command.add(ImageBuild.APP + "/" + jar);
    return command;
  }
}
