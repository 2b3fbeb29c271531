package io.migrategate.wait;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading kubeconfig files and the in-cluster ServiceAccount, with errors that say what to fix. */
class ApiAccessTest {
  private static final String TOKEN =
      "eyJhbGciOiJSUzI1NiJ9."
          + Base64.getUrlEncoder()
              .withoutPadding()
              .encodeToString(
                  "{\"sub\":\"system:serviceaccount:shop:app\"}".getBytes(StandardCharsets.UTF_8))
          + ".sig";

  @Test
  void readsServerAndTokenOfTheCurrentContext(@TempDir Path dir) throws Exception {
    Path kubeconfig =
        write(
            dir,
            "clusters:\n"
                + "- name: other\n  cluster: {server: https://other:6443}\n"
                + "- name: local\n  cluster:\n    server: https://127.0.0.1:6443/\n"
                + "users:\n- name: waiter\n  user:\n    token: "
                + TOKEN
                + "\n"
                + "contexts:\n- name: local\n  context: {cluster: local, user: waiter}\n"
                + "current-context: local\n");
    ApiAccess access = ApiAccess.fromKubeconfig(kubeconfig);
    assertEquals("https://127.0.0.1:6443", access.server().toString());
    assertEquals(TOKEN, access.bearerToken().get());
    assertEquals("system:serviceaccount:shop:app", access.identity());
  }

  @Test
  void reReadsATokenFileSoRotatedTokensAreUsed(@TempDir Path dir) throws Exception {
    Path tokenFile = Files.writeString(dir.resolve("token"), "first\n");
    Path kubeconfig =
        write(
            dir,
            "clusters:\n- name: c\n  cluster: {server: https://k:6443}\n"
                + "users:\n- name: u\n  user: {tokenFile: token}\n"
                + "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
                + "current-context: x\n");
    ApiAccess access = ApiAccess.fromKubeconfig(kubeconfig);
    assertEquals("first", access.bearerToken().get());
    Files.writeString(tokenFile, "second\n");
    assertEquals("second", access.bearerToken().get());
    assertNull(access.identity());
  }

  @Test
  void refusesWhatTheWaiterDoesNotDoAndSaysWhy(@TempDir Path dir) throws Exception {
    assertProblem(
        dir,
        "clusters:\n- name: c\n  cluster: {server: http://k:8080}\n"
            + "contexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n",
        "needs an https:// server");
    assertProblem(
        dir,
        "clusters:\n- name: c\n  cluster: {server: https://k, insecure-skip-tls-verify: true}\n"
            + "contexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n",
        "sets insecure-skip-tls-verify, which the waiter refuses");
    assertProblem(
        dir,
        "clusters:\n- name: c\n  cluster: {server: https://k}\n"
            + "users:\n- name: u\n  user: {exec: {command: aws}}\n"
            + "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n",
        "uses exec credentials");
    assertProblem(dir, "clusters: []\n", "has no current-context");
    assertProblem(
        dir,
        "contexts:\n- name: x\n  context: {cluster: gone}\ncurrent-context: x\n",
        "has no cluster named \"gone\" under clusters");
    assertProblem(dir, "key: [unclosed\n", "is not valid YAML");
  }

  @Test
  void inClusterNeedsTheServiceAccountTokenAndTheServiceAddress(@TempDir Path dir) {
    ApiAccess.AccessException e =
        assertThrows(
            ApiAccess.AccessException.class,
            () ->
                ApiAccess.resolve(
                    Optional.empty(), Map.of("KUBERNETES_SERVICE_HOST", "10.96.0.1")));
    assertTrue(e.getMessage().contains("give a kubeconfig, or mount a token"), e.getMessage());
  }

  private static void assertProblem(Path dir, String yaml, String expected) throws Exception {
    Path file = write(dir, yaml);
    ApiAccess.AccessException e =
        assertThrows(ApiAccess.AccessException.class, () -> ApiAccess.fromKubeconfig(file));
    assertTrue(
        e.getMessage().contains(expected),
        () -> "expected \"" + expected + "\" in " + e.getMessage());
    assertTrue(e.getMessage().startsWith("kubeconfig " + file), e.getMessage());
  }

  private static Path write(Path dir, String yaml) throws Exception {
    return Files.writeString(dir.resolve("kubeconfig"), "apiVersion: v1\nkind: Config\n" + yaml);
  }
}
