package io.migrategate.gate.tls;

import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.ArrayList;
import java.util.List;

/**
 * The gate's ServiceAccount with exactly the RBAC self-managed TLS needs (docs/tls.md), and clients
 * authenticated with a token issued for it by TokenRequest: what a gate pod would get, not admin.
 */
final class GateIdentity implements AutoCloseable {
  static final String SERVICE_ACCOUNT = "migrate-gate";

  private final KubernetesClient admin;
  private final String namespace;
  private final String clusterRoleName;
  private final String token;
  private final List<KubernetesClient> clients = new ArrayList<>();

  /** The Role rules in the gate's namespace; {@code mayCreate} adds the optional create rule. */
  static List<PolicyRule> namespaceRules(String caSecretName, boolean mayCreate) {
    List<PolicyRule> rules = new ArrayList<>();
    rules.add(
        new PolicyRuleBuilder()
            .withApiGroups("")
            .withResources("secrets")
            .withResourceNames(caSecretName)
            .withVerbs("get", "list", "watch", "update")
            .build());
    if (mayCreate) {
      rules.add(
          new PolicyRuleBuilder()
              .withApiGroups("")
              .withResources("secrets")
              .withVerbs("create")
              .build());
    }
    return rules;
  }

  /** The ClusterRole rule on the gate's own MutatingWebhookConfiguration. */
  static PolicyRule webhookConfigurationRule(String webhookConfigurationName) {
    return new PolicyRuleBuilder()
        .withApiGroups("admissionregistration.k8s.io")
        .withResources("mutatingwebhookconfigurations")
        .withResourceNames(webhookConfigurationName)
        .withVerbs("get", "list", "watch", "patch")
        .build();
  }

  GateIdentity(
      KubernetesClient admin,
      String namespace,
      String caSecretName,
      String webhookConfigurationName,
      boolean mayCreateSecrets) {
    this.admin = admin;
    this.namespace = namespace;
    this.clusterRoleName = "migrate-gate-tls-" + namespace;
    admin
        .serviceAccounts()
        .inNamespace(namespace)
        .resource(
            new ServiceAccountBuilder()
                .withNewMetadata()
                .withName(SERVICE_ACCOUNT)
                .endMetadata()
                .build())
        .create();
    admin
        .rbac()
        .roles()
        .inNamespace(namespace)
        .resource(
            new RoleBuilder()
                .withNewMetadata()
                .withName("migrate-gate-tls")
                .endMetadata()
                .withRules(namespaceRules(caSecretName, mayCreateSecrets))
                .build())
        .create();
    admin
        .rbac()
        .roleBindings()
        .inNamespace(namespace)
        .resource(
            new RoleBindingBuilder()
                .withNewMetadata()
                .withName("migrate-gate-tls")
                .endMetadata()
                .withNewRoleRef("rbac.authorization.k8s.io", "Role", "migrate-gate-tls")
                .addNewSubject()
                .withKind("ServiceAccount")
                .withName(SERVICE_ACCOUNT)
                .withNamespace(namespace)
                .endSubject()
                .build())
        .create();
    admin
        .rbac()
        .clusterRoles()
        .resource(
            new ClusterRoleBuilder()
                .withNewMetadata()
                .withName(clusterRoleName)
                .endMetadata()
                .withRules(webhookConfigurationRule(webhookConfigurationName))
                .build())
        .create();
    admin
        .rbac()
        .clusterRoleBindings()
        .resource(
            new ClusterRoleBindingBuilder()
                .withNewMetadata()
                .withName(clusterRoleName)
                .endMetadata()
                .withNewRoleRef("rbac.authorization.k8s.io", "ClusterRole", clusterRoleName)
                .addNewSubject()
                .withKind("ServiceAccount")
                .withName(SERVICE_ACCOUNT)
                .withNamespace(namespace)
                .endSubject()
                .build())
        .create();
    token =
        admin
            .serviceAccounts()
            .inNamespace(namespace)
            .withName(SERVICE_ACCOUNT)
            .tokenRequest(
                new TokenRequestBuilder()
                    .withNewSpec()
                    .withExpirationSeconds(3600L)
                    .endSpec()
                    .build())
            .getStatus()
            .getToken();
  }

  /** A new client authenticated only by the ServiceAccount token (closed with this identity). */
  KubernetesClient newClient() {
    Config adminConfig = admin.getConfiguration();
    Config config =
        new ConfigBuilder(Config.empty())
            .withMasterUrl(adminConfig.getMasterUrl())
            .withCaCertData(adminConfig.getCaCertData())
            .withCaCertFile(adminConfig.getCaCertFile())
            .withOauthToken(token)
            .withRequestTimeout(15_000)
            .withConnectionTimeout(5_000)
            .build();
    KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
    clients.add(client);
    return client;
  }

  @Override
  public void close() {
    clients.forEach(KubernetesClient::close);
    admin.rbac().clusterRoleBindings().withName(clusterRoleName).delete();
    admin.rbac().clusterRoles().withName(clusterRoleName).delete();
  }

  String namespace() {
    return namespace;
  }
}
