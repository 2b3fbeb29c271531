package io.migrategate.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's failure modes: each names the component or tool at fault, points at the log, and
 * leaves no process behind. Runs the scripts with their own state and cache folders, so the shared
 * control plane is not touched.
 */
@ExtendWith(LocalClusterExtension.class)
class LauncherFaultsTest {

  @TempDir Path temp;

  @Test
  void missingGoToolchainIsNamed() throws Exception {
    String pathWithoutGo =
        Arrays.stream(System.getenv("PATH").split(File.pathSeparator))
            .filter(dir -> !Files.isExecutable(Path.of(dir, "go")))
            .collect(Collectors.joining(File.pathSeparator));
    Result up =
        up(
            Map.of(
                "PATH",
                pathWithoutGo,
                "MIGRATE_GATE_CACHE",
                temp.resolve("empty-cache").toString()));

    assertNotEquals(0, up.exitCode());
    assertTrue(up.output().contains("the Go toolchain is missing"), up.output());
  }

  @Test
  void unreachableModuleProxyIsNamed() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    Result up =
        up(
            Map.of(
                "MIGRATE_GATE_CACHE",
                temp.resolve("empty-cache").toString(),
                "GOMODCACHE",
                temp.resolve("empty-modcache").toString(),
                "GOPROXY",
                "http://127.0.0.1:" + closedPort,
                "GOFLAGS",
                "-mod=mod"));

    assertNotEquals(0, up.exitCode());
    assertTrue(up.output().contains("go build of kube-apiserver failed"), up.output());
    assertTrue(up.output().contains("is the Go module proxy reachable?"), up.output());
  }

  @Test
  void portInUseNamesTheComponentAndItsLogAndLeavesNoProcess() throws Exception {
    LocalCluster.shared(); // the binaries are built (cached) by the shared control plane
    Path state = temp.resolve("state");
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Result up =
          up(
              Map.of(
                  "MIGRATE_GATE_CLUSTER_DIR", state.toString(),
                  "MIGRATE_GATE_APISERVER_PORT", String.valueOf(taken.getLocalPort())));

      assertNotEquals(0, up.exitCode());
      assertTrue(up.output().contains("error: kube-apiserver exited"), up.output());
      assertTrue(
          up.output().contains(state.resolve("logs/kube-apiserver.log").toString()), up.output());
      assertTrue(
          up.output().contains("address already in use"),
          "the log's last lines are shown: " + up.output());
    }
    assertFalse(Files.exists(state), "the failed start cleaned up its state folder");
    assertEquals(0, processesMentioning(state), "no process of the failed start is left");
  }

  private static long processesMentioning(Path state) throws IOException {
    String needle = state.toString();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      return procs
          .filter(p -> p.getFileName().toString().matches("\\d+"))
          .filter(
              p -> {
                try {
                  return new String(
                          Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8)
                      .contains(needle);
                } catch (IOException e) {
                  return false; // the process ended while we looked
                }
              })
          .count();
    }
  }

  record Result(int exitCode, String output) {}

  private Result up(Map<String, String> env) throws Exception {
    ProcessBuilder builder =
        new ProcessBuilder(LocalCluster.scriptsDir().resolve("up").toString())
            .redirectErrorStream(true);
    builder.environment().put("MIGRATE_GATE_CLUSTER_DIR", temp.resolve("unused-state").toString());
    builder.environment().putAll(env);
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(5, TimeUnit.MINUTES), "local-cluster/up finished");
    return new Result(process.exitValue(), output);
  }
}
