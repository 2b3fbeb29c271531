package io.migrategate.wait;

import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.TokenKubeconfig;
import java.io.IOException;
import java.nio.file.Path;
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
    return TokenKubeconfig.write(
        dir.resolve(ns + "-" + name + ".kubeconfig"),
        admin.getConfiguration(),
        cluster.apiServerUrl(),
        name,
        token,
        ns);
  }
}
