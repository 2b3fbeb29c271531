package io.migrategate.wait;

import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.cluster.LocalCluster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

/**
 * ServiceAccounts with the waiter's documented Role (or less), and kubeconfigs holding their token.
 */
final class ServiceAccounts {
  private ServiceAccounts() {}

  /**
   * Creates ServiceAccount {@code name} in {@code ns} bound to a Role with {@code verbs} on the
   * Jobs {@code jobs} (no Role at all when {@code verbs} is empty), gets a token from the
   * TokenRequest API, as a pod's projected token, and writes a kubeconfig with it into {@code dir}.
   */
  static Path kubeconfig(
      LocalCluster cluster, Path dir, String ns, String name, List<String> verbs, List<String> jobs)
      throws IOException {
    KubernetesClient admin = cluster.client();
    admin
        .serviceAccounts()
        .inNamespace(ns)
        .resource(
            new ServiceAccountBuilder().withNewMetadata().withName(name).endMetadata().build())
        .create();
    if (!verbs.isEmpty()) {
      admin
          .rbac()
          .roles()
          .inNamespace(ns)
          .resource(
              new RoleBuilder()
                  .withNewMetadata()
                  .withName("migrate-gate-waiter")
                  .endMetadata()
                  .withRules(
                      new PolicyRuleBuilder()
                          .withApiGroups("batch")
                          .withResources("jobs")
                          .withResourceNames(jobs)
                          .withVerbs(verbs)
                          .build())
                  .build())
          .create();
      admin
          .rbac()
          .roleBindings()
          .inNamespace(ns)
          .resource(
              new RoleBindingBuilder()
                  .withNewMetadata()
                  .withName("migrate-gate-waiter")
                  .endMetadata()
                  .withNewRoleRef("rbac.authorization.k8s.io", "Role", "migrate-gate-waiter")
                  .addNewSubject()
                  .withKind("ServiceAccount")
                  .withName(name)
                  .withNamespace(ns)
                  .endSubject()
                  .build())
          .create();
    }
    String token =
        admin
            .serviceAccounts()
            .inNamespace(ns)
            .withName(name)
            .tokenRequest(
                new TokenRequestBuilder()
                    .withNewSpec()
                    .withExpirationSeconds(3600L)
                    .endSpec()
                    .build())
            .getStatus()
            .getToken();
    Config adminConfig = admin.getConfiguration();
    String caData = adminConfig.getCaCertData();
    if (caData == null) {
      caData =
          Base64.getEncoder()
              .encodeToString(Files.readAllBytes(Path.of(adminConfig.getCaCertFile())));
    }
    Path kubeconfig = dir.resolve(ns + "-" + name + ".kubeconfig");
    Files.writeString(
        kubeconfig,
        String.join(
            "\n",
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            "- name: local",
            "  cluster:",
            "    server: " + cluster.apiServerUrl(),
            "    certificate-authority-data: " + caData,
            "users:",
            "- name: " + name,
            "  user:",
            "    token: " + token,
            "contexts:",
            "- name: local",
            "  context: {cluster: local, user: " + name + ", namespace: " + ns + "}",
            "current-context: local",
            ""),
        StandardCharsets.UTF_8);
    return kubeconfig;
  }
}
