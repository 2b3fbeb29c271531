package io.migrategate.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The demo command, end to end: {@code demo/run} as a user runs it, on the local cluster's real
 * node, in a namespace of its own; afterwards the gate it installed is gone again.
 */
@LocalClusterTest(realNode = true)
class DemoTest {
  private static final Duration DEADLINE = Duration.ofMinutes(8);

  @Test
  void demoRunPlaysTheThreeReleasesAndExitsZero(LocalCluster cluster) throws Exception {
    Project project = Project.locate();
    assumeTrue(
        project.missingBuildOutputs().isEmpty()
            && Files.isRegularFile(project.root().resolve("demo/target/migrate-gate-demo.jar")),
        "the demo runs the packaged jars: run mvn verify (or package) rather than mvn test");
    String namespace =
        "shop-" + Long.toString(ThreadLocalRandom.current().nextLong(36L * 36 * 36 * 36 * 36), 36);

    Path output = Files.createTempFile("demo-", ".out");
    Process demo =
        new ProcessBuilder(project.root().resolve("demo/run").toString(), "--namespace", namespace)
            .directory(project.root().toFile())
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .start();
    demo.getOutputStream().close();
    boolean finished = demo.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    String printed = Files.readString(output, StandardCharsets.UTF_8);
    System.out.println(printed);
    if (!finished) {
      demo.destroyForcibly();
    }
    assertTrue(finished, "demo/run did not finish within " + DEADLINE + ":\n" + printed);
    assertEquals(0, demo.exitValue(), "demo/run exit code; its output:\n" + printed);

    for (String line :
        List.of(
            "install the gate as a platform team would: kubectl apply --server-side -k",
            "gate serving: Deployment migrate-gate/migrate-gate 2/2 available",
            "Warning: Validation failed for ValidatingAdmissionPolicy"
                + " 'migrate-gate-annotation-warnings' with binding"
                + " 'migrate-gate-annotation-warnings': migrate.io/job on Deployment default/shop"
                + " (metadata.annotations) has no effect in namespace default",
            "the gate answered migrate.io/status: injected (init container migrate-wait added)",
            namespace + "/shop-migrate-v2 not found, waiting for it to be created",
            "kubectl migrate-gate status -n " + namespace + " (the kubectl plugin) prints:",
            "Running, Ready: released by migrate-wait",
            "job " + namespace + "/shop-migrate-v3 failed: BackoffLimitExceeded",
            "Init:Error, migrate-wait exit code 2",
            "the v2 pods keep serving",
            "the v4 pods' migrate-wait passed at once on the gate's word",
            "every expected outcome was observed")) {
      assertTrue(printed.contains(line), "demo output lacks '" + line + "':\n" + printed);
    }
    assertTrue(
        printed.lines().allMatch(l -> l.indexOf('\u001b') < 0),
        "no colours when the output is not a terminal");

    // It cleans up after itself: no webhook of the demo's gate stays with the API server.
    KubernetesClient admin = cluster.client();
    LocalCluster.await(
        "webhook configuration migrate-gate removed",
        Duration.ofSeconds(60),
        () ->
            admin
                    .admissionRegistration()
                    .v1()
                    .mutatingWebhookConfigurations()
                    .withName("migrate-gate")
                    .get()
                == null);
  }
}
