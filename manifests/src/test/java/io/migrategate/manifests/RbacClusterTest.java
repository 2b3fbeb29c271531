package io.migrategate.manifests;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.migrategate.certs.ServingNames;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import io.migrategate.gate.admission.KubernetesOwnerLookup;
import io.migrategate.gate.admission.LookupResult;
import io.migrategate.gate.admission.OwnerRef;
import io.migrategate.gate.admission.UngatedPodAuditor;
import io.migrategate.gate.jobs.KubernetesJobTracking;
import io.migrategate.gate.ledger.ConfigMapSuccessLedger;
import io.migrategate.gate.ledger.LedgerPolicy;
import io.migrategate.gate.tls.SelfManagedTls;
import io.migrategate.gate.tls.SelfManagedTlsConfig;
import io.migrategate.gate.tls.TlsEventLog;
import io.migrategate.gate.waitapi.CachingTokenReviewer;
import io.migrategate.gate.waitapi.KubernetesTokenReviewer;
import io.migrategate.gate.waitapi.LocalTokenVerifier;
import io.migrategate.gate.waitapi.PendingPods;
import io.migrategate.gate.waitapi.PublishedKeys;
import io.migrategate.gate.waitapi.TokenReviewer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The gate's RBAC, from the kustomize base (the chart renders the same roles, RenderTest), is
 * exactly what the gate needs: the gate's real components (owner lookups, Job tracker and success
 * ledger, token reviews, self-managed TLS) work with it, every call of {@link GateOperations} works
 * with it, and without any single verb of any rule the call that needs it fails with 403 while all
 * others still work. All with a token of the gate's ServiceAccount, never admin.
 */
@LocalClusterTest
class RbacClusterTest {
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  /** One verb of one rule of one of the gate's roles. */
  record Grant(HasMetadata role, Permission permission, String resourceName) {
    String namespace() {
      return role instanceof Role ? role.getMetadata().getNamespace() : null;
    }
  }

  /**
   * The CA-bundle-only policy finds the gate's identity through its ServiceAccount parameter, also
   * in this namespace and with these names: a patch of anything but the caBundle is denied with the
   * policy's message (once the API server has loaded the policy), the caBundle patch of
   * self-managed TLS above went through.
   */
  private static void assertOnlyTheCaBundleMayChange(KubernetesClient gate, String name) {
    // Harmless if it went through before the policy is loaded: the entries are scoped to a label
    // no namespace carries.
    String patch = "[{\"op\":\"replace\",\"path\":\"/webhooks/0/timeoutSeconds\",\"value\":4}]";
    AtomicReference<String> denial = new AtomicReference<>();
    LocalCluster.await(
        "the CA-bundle-only policy to deny the gate's identity a change of its webhook",
        Duration.ofSeconds(30),
        () -> {
          try {
            gate.admissionRegistration()
                .v1()
                .mutatingWebhookConfigurations()
                .withName(name)
                .patch(PatchContext.of(PatchType.JSON), patch);
            return false;
          } catch (KubernetesClientException e) {
            denial.set(e.getCode() + " " + e.getMessage());
            return e.getCode() == 403 || e.getCode() == 422;
          }
        });
    assertTrue(
        denial.get().contains("may change only the CA bundle of its webhook configuration"),
        denial.get());
  }

  @Test
  void everyVerbOfTheGatesRolesIsNeededAndTheRolesAreEnough(LocalCluster cluster) throws Exception {
    try (ClusterScene scene = new ClusterScene(cluster)) {
      // The base's ServiceAccount, roles, bindings, CA Secret and webhook configuration, with
      // names of this test's own. The webhook configuration is never called (its entries are
      // limited to this test's scope label, which no namespace carries).
      String gateNamespace = "mg-rbac-" + scene.id;
      String webhookConfiguration = "migrate-gate-" + scene.id;
      scene.overlay(
          "rbac",
          String.join(
              "\n",
              "resources: [../../../base]",
              "namespace: " + gateNamespace,
              "nameSuffix: -" + scene.id,
              "patches:",
              "  - target: {kind: MutatingWebhookConfiguration}",
              "    patch: |-",
              scene.scopePatch(3),
              ""));
      Rendered rendered =
          Rendered.kustomize(scene.tools, "target/kustomize-test/rbac-" + scene.id)
              .filter(
                  o ->
                      !Set.of("Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy")
                          .contains(Rendered.kind(o)));
      String yaml = rendered.toYaml();
      scene.onClose(() -> scene.kubectl(yaml, "delete", "-f", "-", "--wait=false"));
      scene.kubectl(yaml, "apply", "--server-side", "-f", "-").requireSuccess();

      String serviceAccount = Rendered.name(rendered.one("ServiceAccount"));
      String caSecret = rendered.secretNamed("migrate-gate-ca");
      String ledgerKeySecret = rendered.secretNamed("migrate-gate-ledger-key");
      List<HasMetadata> roles = roles(rendered);
      List<Grant> grants = grants(roles);

      String appNamespace = scene.namespace("mg-rbac-app", Map.of());
      scene
          .admin
          .apps()
          .deployments()
          .inNamespace(appNamespace)
          // Annotated on its metadata, in a namespace no webhook entry covers: its pod is un-gated.
          .resource(
              ClusterScene.deployment("web", Map.of("migrate.io/job", "web-migrate"), Map.of()))
          .create();
      List<GateOperations.Operation> operations =
          GateOperations.all(
              scene.admin,
              appNamespace,
              gateNamespace,
              caSecret,
              ledgerKeySecret,
              webhookConfiguration);

      // 1. What the roles grant is what the gate's calls need, verb by verb.
      Set<Permission> granted =
          grants.stream().map(Grant::permission).collect(Collectors.toCollection(TreeSet::new));
      Set<Permission> needed =
          operations.stream()
              .flatMap(o -> o.needs().stream())
              .collect(Collectors.toCollection(TreeSet::new));
      assertEquals(
          needed,
          granted,
          "granted but used by no call of the gate (remove): "
              + difference(granted, needed)
              + "; needed but not granted (add): "
              + difference(needed, granted));

      Config gateConfig = gateConfig(scene, gateNamespace, serviceAccount);
      try (KubernetesClient gate = new KubernetesClientBuilder().withConfig(gateConfig).build()) {
        // 2. The real components work with the gate's token and the roles as shipped.
        awaitAuthorization(scene, gateNamespace, serviceAccount, grants, null);
        assertOwnerLookupWorks(scene, gateConfig, appNamespace);
        assertJobTrackingAndLedgerWork(
            scene, gateConfig, gateNamespace, ledgerKeySecret, appNamespace);
        assertTokenReviewWorks(scene, gate, appNamespace);
        assertUngatedPodAuditWorks(scene, gateConfig, gate, appNamespace);
        Set<Permission> tlsUsed =
            assertSelfManagedTlsWorks(
                scene, gateConfig, gateNamespace, serviceAccount, caSecret, webhookConfiguration);
        Set<Permission> tlsGranted =
            grants.stream()
                .filter(g -> g.role().getMetadata().getName().contains("-tls"))
                .map(Grant::permission)
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(
            Set.of(),
            difference(tlsUsed, tlsGranted),
            "self-managed TLS needs no more than its roles");
        // A get is made only when a read comes before the watch's first list or after a write
        // conflict, which this run does not control; the table's calls below make it anyway.
        Set<Permission> unusedTls = difference(tlsGranted, tlsUsed);
        assertTrue(
            unusedTls.stream().allMatch(p -> p.verb().equals("get")),
            "self-managed TLS uses every verb of its roles (but a timing-dependent get): unused "
                + unusedTls);

        // 3. So does every call of the table.
        for (GateOperations.Operation operation : operations) {
          operation.call().run(gate);
        }
        assertOnlyTheCaBundleMayChange(gate, webhookConfiguration);

        // 4. Without any single verb: the call that needs it gets 403, every other call works.
        List<Executable> checks = new ArrayList<>();
        for (Grant removed : grants) {
          applyRoles(scene, without(roles, removed.permission()));
          awaitAuthorization(scene, gateNamespace, serviceAccount, grants, removed.permission());
          for (GateOperations.Operation operation : operations) {
            boolean needsIt = operation.needs().contains(removed.permission());
            String outcome = outcome(operation, gate);
            String expected = needsIt ? "forbidden" : "ok";
            checks.add(
                () ->
                    assertEquals(
                        expected,
                        outcome,
                        "without '"
                            + removed.permission()
                            + "' in "
                            + removed.role().getKind()
                            + " "
                            + removed.role().getMetadata().getName()
                            + ": "
                            + operation));
          }
        }
        applyRoles(scene, roles);
        assertAll("each verb is needed by its call and only by it", checks);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static void assertUngatedPodAuditWorks(
      ClusterScene scene, Config gateConfig, KubernetesClient gate, String appNamespace) {
    LocalCluster.await(
        "the pod of " + appNamespace + "/web",
        ClusterScene.WAIT,
        () -> !scene.podsOf(appNamespace, "web").isEmpty());
    try (KubernetesOwnerLookup lookup =
        KubernetesOwnerLookup.start(gateConfig, Duration.ofSeconds(2))) {
      LocalCluster.await(
          "owner caches synced with the gate's token", ClusterScene.WAIT, lookup::hasSynced);
      UngatedPodAuditor auditor =
          new UngatedPodAuditor(gate, lookup, namespace -> !namespace.equals(appNamespace));
      assertEquals(1, auditor.auditOnce(), "the un-gated pod of Deployment web is found");
      List<Event> events =
          scene.admin.v1().events().inNamespace(appNamespace).list().getItems().stream()
              .filter(e -> UngatedPodAuditor.EVENT_REASON.equals(e.getReason()))
              .toList();
      assertEquals(1, events.size(), "one Warning Event on Deployment web: " + events);
      assertEquals("web", events.get(0).getInvolvedObject().getName());
    }
  }

  private static void assertOwnerLookupWorks(
      ClusterScene scene, Config gateConfig, String appNamespace) {
    LocalCluster.await(
        "the ReplicaSet of " + appNamespace + "/web",
        ClusterScene.WAIT,
        () ->
            !scene
                .admin
                .apps()
                .replicaSets()
                .inNamespace(appNamespace)
                .list()
                .getItems()
                .isEmpty());
    ReplicaSet replicaSet =
        scene.admin.apps().replicaSets().inNamespace(appNamespace).list().getItems().get(0);
    try (KubernetesOwnerLookup lookup =
        KubernetesOwnerLookup.start(gateConfig, Duration.ofSeconds(2))) {
      LocalCluster.await(
          "owner caches synced with the gate's token", ClusterScene.WAIT, lookup::hasSynced);
      LookupResult found =
          lookup.lookup(
              appNamespace,
              new OwnerRef(
                  "apps/v1",
                  "ReplicaSet",
                  replicaSet.getMetadata().getName(),
                  replicaSet.getMetadata().getUid(),
                  true));
      LookupResult.Found owner = assertInstanceOf(LookupResult.Found.class, found);
      assertEquals(
          "Deployment", owner.ownerReferences().get(0).kind(), "the ReplicaSet's owner is read");
      // Not in the cache: a direct GET, answered 404 (allowed), not 403.
      assertInstanceOf(
          LookupResult.NotFound.class,
          lookup.lookup(appNamespace, new OwnerRef("apps/v1", "StatefulSet", "absent", "", true)));
    }
  }

  /**
   * The Job tracker sees a Job succeed and the success ledger records it: creates its shard for the
   * namespace, then updates it for a second Job.
   */
  private static void assertJobTrackingAndLedgerWork(
      ClusterScene scene,
      Config gateConfig,
      String gateNamespace,
      String ledgerKeySecret,
      String appNamespace) {
    String shard = ConfigMapSuccessLedger.shardName(appNamespace);
    try (KubernetesJobTracking tracking =
        KubernetesJobTracking.start(
            gateConfig, gateNamespace, ledgerKeySecret, LedgerPolicy.defaults())) {
      LocalCluster.await(
          "Job tracker and ledger loaded with the gate's token",
          ClusterScene.WAIT,
          tracking.tracker()::isReady);
      for (String job : List.of("migrate", "seed")) {
        String uid =
            scene
                .admin
                .batch()
                .v1()
                .jobs()
                .inNamespace(appNamespace)
                .resource(job(job))
                .create()
                .getMetadata()
                .getUid();
        LocalCluster.await(
            "the tracker sees Job " + job + " succeed",
            ClusterScene.WAIT,
            () -> tracking.tracker().allSucceeded(appNamespace, List.of(job), null));
        assertEquals(
            Optional.of(uid),
            tracking.currentRun(appNamespace, job),
            "the gate's token confirms a success with a list by name");
        LocalCluster.await(
            "the ledger shard records Job " + job,
            ClusterScene.WAIT,
            () -> {
              ConfigMap stored =
                  scene.admin.configMaps().inNamespace(gateNamespace).withName(shard).get();
              return stored != null
                  && stored.getData() != null
                  && stored.getData().containsKey(job);
            });
      }
    }
  }

  /** A token of an app pod's ServiceAccount, for the gate's audience, passes the review. */
  private static void assertTokenReviewWorks(
      ClusterScene scene, KubernetesClient gate, String appNamespace) {
    // The gate takes only tokens bound to a pod, as the projected token of a waiter is.
    io.fabric8.kubernetes.api.model.Pod pod =
        scene
            .admin
            .pods()
            .inNamespace(appNamespace)
            .resource(
                new io.fabric8.kubernetes.api.model.PodBuilder()
                    .withNewMetadata()
                    .withGenerateName("token-holder-")
                    .endMetadata()
                    .withNewSpec()
                    .addNewContainer()
                    .withName("app")
                    .withImage("registry.example/app:1")
                    .endContainer()
                    // Pending, as a pod whose migrate-wait runs is.
                    .addNewSchedulingGate()
                    .withName("migrate.io/test")
                    .endSchedulingGate()
                    .endSpec()
                    .build())
            .create();
    String token =
        scene
            .admin
            .serviceAccounts()
            .inNamespace(appNamespace)
            .withName("default")
            .tokenRequest(
                new TokenRequestBuilder()
                    .withNewSpec()
                    .withAudiences(TokenReviewer.DEFAULT_AUDIENCE)
                    .withExpirationSeconds(600L)
                    .withNewBoundObjectRef()
                    .withApiVersion("v1")
                    .withKind("Pod")
                    .withName(pod.getMetadata().getName())
                    .withUid(pod.getMetadata().getUid())
                    .endBoundObjectRef()
                    .endSpec()
                    .build())
            .getStatus()
            .getToken();
    assertInstanceOf(
        TokenReviewer.Result.Authenticated.class,
        new KubernetesTokenReviewer(gate, TokenReviewer.DEFAULT_AUDIENCE).review(token));
    // And without TokenReview: the published keys (default discovery binding) and the pending
    // pods (the role's list and watch on pods), read with the gate's token.
    try (PendingPods pending = PendingPods.start(gate);
        PublishedKeys keys = PublishedKeys.start(gate);
        CachingTokenReviewer reviewer =
            CachingTokenReviewer.withOwnThreads(
                ignored -> new TokenReviewer.Result.Unavailable("not asked in this check"),
                new LocalTokenVerifier(
                    TokenReviewer.DEFAULT_AUDIENCE,
                    keys,
                    pending,
                    () -> System.currentTimeMillis() / 1000),
                CachingTokenReviewer.Settings.defaults(TokenReviewer.DEFAULT_AUDIENCE))) {
      LocalCluster.await(
          "the pending pod's token verified by the gate itself",
          ClusterScene.WAIT,
          // Only the local check can say yes: this reviewer's TokenReview never does.
          () -> reviewer.review(token) instanceof TokenReviewer.Result.Authenticated);
    }
  }

  private static Job job(String name) {
    return new JobBuilder()
        .withNewMetadata()
        .withName(name)
        .endMetadata()
        .withNewSpec()
        .withBackoffLimit(0)
        .withNewTemplate()
        .withSpec(
            new PodSpecBuilder(ClusterScene.restrictedSpec()).withRestartPolicy("Never").build())
        .endTemplate()
        .endSpec()
        .build();
  }

  /** Runs self-managed TLS until the CA is stored and the caBundle written; returns its calls. */
  private static Set<Permission> assertSelfManagedTlsWorks(
      ClusterScene scene,
      Config gateConfig,
      String gateNamespace,
      String service,
      String caSecret,
      String webhookConfiguration)
      throws Exception {
    Set<Permission> used = new ConcurrentSkipListSet<>();
    Interceptor recorder =
        new Interceptor() {
          @Override
          public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
            try {
              used.add(Permission.of(request.method(), request.uri()));
            } catch (IllegalArgumentException e) {
              used.add(new Permission("non-resource", request.uri().getPath(), request.method()));
            }
          }
        };
    SelfManagedTlsConfig config =
        SelfManagedTlsConfig.defaults(
                gateNamespace, ServingNames.forService(service, gateNamespace), List.of())
            .withCaSecretName(caSecret)
            .withWebhookConfigurationName(webhookConfiguration)
            .withTiming(
                Duration.ofHours(1),
                Duration.ofMinutes(10),
                Duration.ofSeconds(1),
                Duration.ZERO,
                Duration.ofSeconds(5));
    try (KubernetesClient client =
            new KubernetesClientBuilder()
                .withConfig(gateConfig)
                .withHttpClientBuilderConsumer(b -> b.addOrReplaceInterceptor("record", recorder))
                .build();
        SelfManagedTls tls =
            SelfManagedTls.start(client, config, TlsEventLog.keyValue(System.out))) {
      tls.awaitServingCertificate(ClusterScene.WAIT);
      LocalCluster.await(
          "caBundle written with the gate's token",
          ClusterScene.WAIT,
          () -> tls.status().caBundleInSync());
      scene
          .admin
          .admissionRegistration()
          .v1()
          .mutatingWebhookConfigurations()
          .withName(webhookConfiguration)
          .get()
          .getWebhooks()
          .forEach(w -> assertFalse(w.getClientConfig().getCaBundle().isEmpty(), w.getName()));
      assertTrue(
          scene
              .admin
              .secrets()
              .inNamespace(gateNamespace)
              .withName(caSecret)
              .get()
              .getData()
              .containsKey("ca.crt"),
          "the CA is stored in the pre-created Secret");
    }
    return new TreeSet<>(used);
  }

  // ---------------------------------------------------------------------------------------------

  private static List<HasMetadata> roles(Rendered rendered) {
    List<HasMetadata> roles = new ArrayList<>();
    for (ObjectNode node : rendered.objects) {
      switch (Rendered.kind(node)) {
        case "ClusterRole" -> roles.add(SERIALIZATION.convertValue(node, ClusterRole.class));
        case "Role" -> roles.add(SERIALIZATION.convertValue(node, Role.class));
        default -> {}
      }
    }
    return roles;
  }

  private static List<PolicyRule> rules(HasMetadata role) {
    return role instanceof ClusterRole cluster ? cluster.getRules() : ((Role) role).getRules();
  }

  private static List<Grant> grants(List<HasMetadata> roles) {
    List<Grant> grants = new ArrayList<>();
    for (HasMetadata role : roles) {
      for (PolicyRule rule : rules(role)) {
        String name = rule.getResourceNames().isEmpty() ? null : rule.getResourceNames().get(0);
        for (String group : rule.getApiGroups()) {
          for (String resource : rule.getResources()) {
            for (String verb : rule.getVerbs()) {
              grants.add(new Grant(role, new Permission(group, resource, verb), name));
            }
          }
        }
      }
    }
    return grants;
  }

  /** The roles with one verb on one resource taken out of whichever rule grants it. */
  private static List<HasMetadata> without(List<HasMetadata> roles, Permission removed) {
    List<HasMetadata> result = new ArrayList<>();
    for (HasMetadata role : roles) {
      List<PolicyRule> kept = new ArrayList<>();
      for (PolicyRule rule : rules(role)) {
        boolean covers =
            rule.getApiGroups().contains(removed.group())
                && rule.getResources().contains(removed.resource())
                && rule.getVerbs().contains(removed.verb());
        if (!covers) {
          kept.add(rule);
          continue;
        }
        // The same rule for the other groups and resources, and for this one without the verb.
        List<String> otherGroups = minus(rule.getApiGroups(), removed.group());
        if (!otherGroups.isEmpty()) {
          kept.add(new PolicyRuleBuilder(rule).withApiGroups(otherGroups).build());
        }
        List<String> otherResources = minus(rule.getResources(), removed.resource());
        if (!otherResources.isEmpty()) {
          kept.add(
              new PolicyRuleBuilder(rule)
                  .withApiGroups(removed.group())
                  .withResources(otherResources)
                  .build());
        }
        List<String> otherVerbs = minus(rule.getVerbs(), removed.verb());
        if (!otherVerbs.isEmpty()) {
          kept.add(
              new PolicyRuleBuilder(rule)
                  .withApiGroups(removed.group())
                  .withResources(removed.resource())
                  .withVerbs(otherVerbs)
                  .build());
        }
      }
      result.add(
          role instanceof ClusterRole cluster
              ? new ClusterRoleBuilder(cluster).withRules(kept).build()
              : new RoleBuilder((Role) role).withRules(kept).build());
    }
    return result;
  }

  private static List<String> minus(List<String> values, String value) {
    return values.stream().filter(v -> !v.equals(value)).toList();
  }

  private static void applyRoles(ClusterScene scene, List<HasMetadata> roles) {
    for (HasMetadata role : roles) {
      if (role instanceof ClusterRole cluster) {
        scene
            .admin
            .rbac()
            .clusterRoles()
            .withName(cluster.getMetadata().getName())
            .edit(r -> new ClusterRoleBuilder(r).withRules(cluster.getRules()).build());
      } else {
        Role namespaced = (Role) role;
        scene
            .admin
            .rbac()
            .roles()
            .inNamespace(namespaced.getMetadata().getNamespace())
            .withName(namespaced.getMetadata().getName())
            .edit(r -> new RoleBuilder(r).withRules(namespaced.getRules()).build());
      }
    }
  }

  /**
   * Waits until the authorizer has the roles as changed: every granted verb allowed, except the
   * removed one (null: none removed). The API server's RBAC cache follows role changes
   * asynchronously.
   */
  private static void awaitAuthorization(
      ClusterScene scene,
      String namespace,
      String serviceAccount,
      List<Grant> grants,
      Permission removed) {
    LocalCluster.await(
        "authorization of " + serviceAccount + (removed == null ? "" : " without " + removed),
        ClusterScene.WAIT,
        () -> {
          for (Grant grant : grants) {
            boolean allowed =
                scene
                    .admin
                    .authorization()
                    .v1()
                    .subjectAccessReview()
                    .create(
                        new SubjectAccessReviewBuilder()
                            .withNewSpec()
                            .withUser("system:serviceaccount:" + namespace + ":" + serviceAccount)
                            .withGroups(
                                "system:serviceaccounts",
                                "system:serviceaccounts:" + namespace,
                                "system:authenticated")
                            .withNewResourceAttributes()
                            .withGroup(grant.permission().group())
                            .withResource(grant.permission().resource())
                            .withVerb(grant.permission().verb())
                            .withNamespace(grant.namespace())
                            .withName(grant.resourceName())
                            .endResourceAttributes()
                            .endSpec()
                            .build())
                    .getStatus()
                    .getAllowed();
            if (allowed == grant.permission().equals(removed)) {
              return false;
            }
          }
          return true;
        });
  }

  /** "ok", "forbidden", or what else went wrong. */
  private static String outcome(GateOperations.Operation operation, KubernetesClient gate) {
    try {
      operation.call().run(gate);
      return "ok";
    } catch (KubernetesClientException e) {
      return e.getCode() == 403 ? "forbidden" : "HTTP " + e.getCode() + ": " + e.getMessage();
    } catch (Exception e) {
      return e.toString();
    }
  }

  /** The gate's view: a token from TokenRequest for its ServiceAccount, nothing of admin's. */
  private static Config gateConfig(ClusterScene scene, String namespace, String serviceAccount) {
    String token =
        scene
            .admin
            .serviceAccounts()
            .inNamespace(namespace)
            .withName(serviceAccount)
            .tokenRequest(
                new TokenRequestBuilder()
                    .withNewSpec()
                    .withExpirationSeconds(3600L)
                    .endSpec()
                    .build())
            .getStatus()
            .getToken();
    Config admin = scene.admin.getConfiguration();
    return new ConfigBuilder(Config.empty())
        .withMasterUrl(admin.getMasterUrl())
        .withCaCertData(admin.getCaCertData())
        .withCaCertFile(admin.getCaCertFile())
        .withOauthToken(token)
        .withRequestTimeout(15_000)
        .withConnectionTimeout(5_000)
        .build();
  }

  private static Set<Permission> difference(Set<Permission> a, Set<Permission> b) {
    Set<Permission> result = new TreeSet<>(a);
    result.removeAll(b);
    return result;
  }
}
