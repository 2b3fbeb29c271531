package io.migrategate.manifests;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.migrategate.gate.admission.UngatedPodAuditor;
import io.migrategate.gate.ledger.ConfigMapSuccessLedger;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Every Kubernetes API call the gate makes, as the same verb on the same resource with the same
 * scope and selectors as the component that makes it, each with the permissions it needs. The RBAC
 * test runs them with the gate's ServiceAccount token: all of them with the shipped roles, and each
 * again without each single verb. (The real components also run there, with the shipped roles; this
 * table is what lets the test take one verb away and see exactly which call breaks.)
 *
 * <p>When a component changes the calls it makes, change its rows here; the RBAC test then says
 * which rule to add or remove.
 */
final class GateOperations {
  /** One API call of one component. */
  record Operation(String component, String description, Set<Permission> needs, Call call) {
    Operation(String component, String description, Permission needs, Call call) {
      this(component, description, Set.of(needs), call);
    }

    @Override
    public String toString() {
      return component + ": " + description;
    }
  }

  @FunctionalInterface
  interface Call {
    void run(KubernetesClient gate) throws Exception;
  }

  private static final String OWNER_LOOKUP = "owner lookup (admission.KubernetesOwnerLookup)";
  private static final String JOB_TRACKER = "job tracker (jobs.KubernetesJobTracking)";
  private static final String LEDGER = "success ledger (ledger.ConfigMapSuccessLedger)";
  private static final String WAIT_API = "wait API (waitapi.KubernetesTokenReviewer)";
  private static final String WAIT_PODS = "wait API (waitapi.PendingPods)";
  private static final String AUDIT = "un-gated pod audit (admission.UngatedPodAuditor)";
  private static final String TLS_SECRET = "self-managed TLS (tls.SecretCaStore)";
  private static final String TLS_WEBHOOK = "self-managed TLS (tls.MutatingWebhookCaBundle)";

  private GateOperations() {}

  /**
   * @param admin reads what a call needs beforehand (as the component had it from its cache)
   * @param appNamespace a namespace with workloads, for the owner lookups' direct GETs
   * @param gateNamespace the gate's namespace, home of the CA Secret and the ledger
   * @param caSecret the CA Secret's name
   * @param ledgerKeySecret the ledger key Secret's name
   * @param webhookConfiguration the gate's MutatingWebhookConfiguration
   */
  static List<Operation> all(
      KubernetesClient admin,
      String appNamespace,
      String gateNamespace,
      String caSecret,
      String ledgerKeySecret,
      String webhookConfiguration) {
    List<Operation> operations = new ArrayList<>();
    ownerLookup(operations, ReplicaSet.class, appNamespace);
    ownerLookup(operations, Deployment.class, appNamespace);
    ownerLookup(operations, StatefulSet.class, appNamespace);
    ownerLookup(operations, DaemonSet.class, appNamespace);

    operations.add(
        new Operation(
            JOB_TRACKER,
            "list jobs in all namespaces (informer)",
            new Permission("batch", "jobs", "list"),
            gate ->
                gate.batch()
                    .v1()
                    .jobs()
                    .inAnyNamespace()
                    .list(new ListOptionsBuilder().withLimit(1L).build())));
    operations.add(
        new Operation(
            JOB_TRACKER,
            "watch jobs in all namespaces (informer)",
            new Permission("batch", "jobs", "watch"),
            gate -> watchOnce(() -> gate.batch().v1().jobs().inAnyNamespace().watch(ignore()))));
    // The ledger: a label-selected informer on its ConfigMaps, then read-merge-write per shard.
    String shard = ConfigMapSuccessLedger.shardName(appNamespace);
    operations.add(
        new Operation(
            LEDGER,
            "list ledger ConfigMaps (informer, label selector)",
            new Permission("", "configmaps", "list"),
            gate ->
                gate.configMaps()
                    .inNamespace(gateNamespace)
                    .withLabel(
                        ConfigMapSuccessLedger.LEDGER_LABEL,
                        ConfigMapSuccessLedger.LEDGER_LABEL_VALUE)
                    .list()));
    operations.add(
        new Operation(
            LEDGER,
            "watch ledger ConfigMaps (informer, label selector)",
            new Permission("", "configmaps", "watch"),
            gate ->
                watchOnce(
                    () ->
                        gate.configMaps()
                            .inNamespace(gateNamespace)
                            .withLabel(
                                ConfigMapSuccessLedger.LEDGER_LABEL,
                                ConfigMapSuccessLedger.LEDGER_LABEL_VALUE)
                            .watch(ignore()))));
    operations.add(
        new Operation(
            LEDGER,
            "get a ledger shard (or the watch mark) before writing it",
            new Permission("", "configmaps", "get"),
            gate -> gate.configMaps().inNamespace(gateNamespace).withName(shard).get()));
    operations.add(
        new Operation(
            LEDGER,
            "create a ledger shard (or the watch mark)",
            new Permission("", "configmaps", "create"),
            gate -> {
              // The shard the ledger would create, made absent first (by admin).
              admin.configMaps().inNamespace(gateNamespace).withName(shard).delete();
              gate.configMaps().inNamespace(gateNamespace).resource(ledgerShard(shard)).create();
            }));
    operations.add(
        new Operation(
            LEDGER,
            "update a ledger shard or the watch mark (at the resourceVersion read)",
            new Permission("", "configmaps", "update"),
            gate -> {
              // The shard as read (by admin, and made present if the create above was refused).
              ConfigMap current =
                  admin.configMaps().inNamespace(gateNamespace).withName(shard).get();
              if (current == null) {
                current =
                    admin
                        .configMaps()
                        .inNamespace(gateNamespace)
                        .resource(ledgerShard(shard))
                        .create();
              }
              ConfigMap next =
                  new ConfigMapBuilder(current)
                      .editMetadata()
                      .addToAnnotations("migrate-gate.test/touched", "true")
                      .endMetadata()
                      .build();
              next.getMetadata().setManagedFields(null);
              gate.configMaps().inNamespace(gateNamespace).resource(next).update();
            }));

    // The ledger's sealing key: a GET, and an update when the pre-created Secret is still empty.
    operations.add(
        new Operation(
            LEDGER,
            "get the ledger key Secret",
            new Permission("", "secrets", "get"),
            gate -> gate.secrets().inNamespace(gateNamespace).withName(ledgerKeySecret).get()));
    operations.add(
        new Operation(
            LEDGER,
            "update the ledger key Secret (store a key)",
            new Permission("", "secrets", "update"),
            gate -> {
              // A PUT of the Secret as read, as LedgerKey makes it.
              Secret secret =
                  admin.secrets().inNamespace(gateNamespace).withName(ledgerKeySecret).get();
              Secret next =
                  new SecretBuilder(secret)
                      .editMetadata()
                      .addToAnnotations("migrate-gate.test/touched", "true")
                      .endMetadata()
                      .build();
              next.getMetadata().setManagedFields(null);
              gate.secrets().inNamespace(gateNamespace).resource(next).update();
            }));

    operations.add(
        new Operation(
            WAIT_API,
            "create a TokenReview of a waiter's token",
            new Permission("authentication.k8s.io", "tokenreviews", "create"),
            gate ->
                gate.authentication()
                    .v1()
                    .tokenReviews()
                    .create(
                        new TokenReviewBuilder()
                            .withNewSpec()
                            .withToken("not-a-token")
                            .withAudiences("migrate-gate")
                            .endSpec()
                            .build())));

    // Local token verification: the pending pods of all namespaces (a token's pod binding), and
    // the API server's published keys (the default discovery binding grants those to everyone).
    operations.add(
        new Operation(
            WAIT_PODS,
            "list pending pods in all namespaces (informer, field selector status.phase=Pending)",
            new Permission("", "pods", "list"),
            gate ->
                gate.pods()
                    .inAnyNamespace()
                    .withField("status.phase", "Pending")
                    .list(new ListOptionsBuilder().withLimit(500L).build())));
    operations.add(
        new Operation(
            WAIT_PODS,
            "watch pending pods in all namespaces (informer, field selector status.phase=Pending)",
            new Permission("", "pods", "watch"),
            gate ->
                watchOnce(
                    () ->
                        gate.pods()
                            .inAnyNamespace()
                            .withField("status.phase", "Pending")
                            .watch(ignore()))));

    // The un-gated pod audit: a paged pod list per namespace with annotated workloads, and one
    // Warning Event per set of un-gated pods (create only; AlreadyExists means reported).
    operations.add(
        new Operation(
            AUDIT,
            "list pods of a namespace (paged)",
            new Permission("", "pods", "list"),
            gate ->
                gate.pods()
                    .inNamespace(appNamespace)
                    .list(new ListOptionsBuilder().withLimit(500L).build())));
    operations.add(
        new Operation(
            AUDIT,
            "create a Warning Event on a workload",
            new Permission("", "events", "create"),
            gate ->
                gate.v1()
                    .events()
                    .inNamespace(appNamespace)
                    .resource(
                        new EventBuilder()
                            .withNewMetadata()
                            .withGenerateName("web.migrate-gate-")
                            .endMetadata()
                            .withNewInvolvedObject()
                            .withApiVersion("apps/v1")
                            .withKind("Deployment")
                            .withName("web")
                            .withNamespace(appNamespace)
                            .endInvolvedObject()
                            .withType("Warning")
                            .withReason(UngatedPodAuditor.EVENT_REASON)
                            .withMessage("RBAC test")
                            .build())
                    .create()));

    // Self-managed TLS: a name-scoped informer on the CA Secret, a GET before it synced, an update
    // (the manifests pre-create the Secret empty, so no create).
    operations.add(
        new Operation(
            TLS_SECRET,
            "get the CA Secret",
            new Permission("", "secrets", "get"),
            gate ->
                requireNonNull(
                    gate.secrets().inNamespace(gateNamespace).withName(caSecret).get())));
    operations.add(
        new Operation(
            TLS_SECRET,
            "list the CA Secret (informer, field selector metadata.name)",
            new Permission("", "secrets", "list"),
            gate ->
                gate.secrets()
                    .inNamespace(gateNamespace)
                    .withField("metadata.name", caSecret)
                    .list()));
    operations.add(
        new Operation(
            TLS_SECRET,
            "watch the CA Secret (informer, field selector metadata.name)",
            new Permission("", "secrets", "watch"),
            gate ->
                watchOnce(
                    () ->
                        gate.secrets()
                            .inNamespace(gateNamespace)
                            .withField("metadata.name", caSecret)
                            .watch(ignore()))));
    operations.add(
        new Operation(
            TLS_SECRET,
            "update the CA Secret (store a CA)",
            new Permission("", "secrets", "update"),
            gate -> {
              // A PUT of the Secret as read (SecretCaStore reads it from its informer's cache).
              Secret secret = admin.secrets().inNamespace(gateNamespace).withName(caSecret).get();
              Secret next =
                  new SecretBuilder(secret)
                      .editMetadata()
                      .addToAnnotations("migrate-gate.test/touched", "true")
                      .endMetadata()
                      .build();
              next.getMetadata().setManagedFields(null);
              gate.secrets().inNamespace(gateNamespace).resource(next).update();
            }));
    operations.add(
        new Operation(
            TLS_WEBHOOK,
            "get the webhook configuration",
            new Permission("admissionregistration.k8s.io", "mutatingwebhookconfigurations", "get"),
            gate ->
                requireNonNull(
                    gate.admissionRegistration()
                        .v1()
                        .mutatingWebhookConfigurations()
                        .withName(webhookConfiguration)
                        .get())));
    operations.add(
        new Operation(
            TLS_WEBHOOK,
            "list the webhook configuration (informer, field selector metadata.name)",
            new Permission("admissionregistration.k8s.io", "mutatingwebhookconfigurations", "list"),
            gate ->
                gate.admissionRegistration()
                    .v1()
                    .mutatingWebhookConfigurations()
                    .withField("metadata.name", webhookConfiguration)
                    .list()));
    operations.add(
        new Operation(
            TLS_WEBHOOK,
            "watch the webhook configuration (informer, field selector metadata.name)",
            new Permission(
                "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "watch"),
            gate ->
                watchOnce(
                    () ->
                        gate.admissionRegistration()
                            .v1()
                            .mutatingWebhookConfigurations()
                            .withField("metadata.name", webhookConfiguration)
                            .watch(ignore()))));
    operations.add(
        new Operation(
            TLS_WEBHOOK,
            "patch the caBundle (JSON patch, field manager migrate-gate-tls)",
            // fabric8 reads the object before it sends a patch to a named resource.
            Set.of(
                new Permission(
                    "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "get"),
                new Permission(
                    "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "patch")),
            gate ->
                gate.admissionRegistration()
                    .v1()
                    .mutatingWebhookConfigurations()
                    .withName(webhookConfiguration)
                    .patch(
                        new PatchContext.Builder()
                            .withPatchType(PatchType.JSON)
                            .withFieldManager("migrate-gate-tls")
                            .build(),
                        "[{\"op\":\"test\",\"path\":\"/metadata/name\",\"value\":\""
                            + webhookConfiguration
                            + "\"}]")));
    return operations;
  }

  /** The informer's cluster-wide list and watch, and the direct GET on a cache miss. */
  private static <T extends HasMetadata> void ownerLookup(
      List<Operation> operations, Class<T> type, String appNamespace) {
    String resource = HasMetadata.getPlural(type);
    operations.add(
        new Operation(
            OWNER_LOOKUP,
            "list " + resource + " in all namespaces (informer)",
            new Permission("apps", resource, "list"),
            gate ->
                gate.resources(type)
                    .inAnyNamespace()
                    .list(new ListOptionsBuilder().withLimit(1L).build())));
    operations.add(
        new Operation(
            OWNER_LOOKUP,
            "watch " + resource + " in all namespaces (informer)",
            new Permission("apps", resource, "watch"),
            gate -> watchOnce(() -> gate.resources(type).inAnyNamespace().watch(ignore()))));
    operations.add(
        new Operation(
            OWNER_LOOKUP,
            "get " + resource + " by name (cache miss)",
            new Permission("apps", resource, "get"),
            gate -> gate.resources(type).inNamespace(appNamespace).withName("absent").get()));
  }

  private static ConfigMap ledgerShard(String name) {
    return new ConfigMapBuilder()
        .withNewMetadata()
        .withName(name)
        .addToLabels(ConfigMapSuccessLedger.LEDGER_LABEL, ConfigMapSuccessLedger.LEDGER_LABEL_VALUE)
        .endMetadata()
        .build();
  }

  private static Object requireNonNull(Object found) {
    if (found == null) {
      throw new IllegalStateException("expected the object to exist");
    }
    return found;
  }

  private static void watchOnce(java.util.function.Supplier<Watch> open) {
    try (Watch watch = open.get()) {
      // Opening succeeded: the API server accepted the watch request.
    }
  }

  private static <T> Watcher<T> ignore() {
    return new Watcher<>() {
      @Override
      public void eventReceived(Action action, T resource) {}

      @Override
      public void onClose(WatcherException cause) {}
    };
  }
}
