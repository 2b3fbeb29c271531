package io.migrategate.gate.tls;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.migrategate.gate.kube.FatalErrors;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/** {@link CaStore} on a Secret in the gate's namespace, watched by a name-scoped informer. */
final class SecretCaStore implements CaStore {
  /** A conflict means someone else wrote; after this many in a row, give up until next time. */
  private static final int MAX_ATTEMPTS = 3;

  private static final Map<String, String> LABELS =
      Map.of(
          "app.kubernetes.io/name", "migrate-gate",
          "app.kubernetes.io/component", "webhook-ca");

  private final KubernetesClient client;
  private final String namespace;
  private final String name;
  private final TlsEventLog log;
  private final AtomicReference<String> lastWatchError = new AtomicReference<>();
  private volatile SharedIndexInformer<Secret> informer;

  SecretCaStore(KubernetesClient client, String namespace, String name, TlsEventLog log) {
    this.client = client;
    this.namespace = namespace;
    this.name = name;
    this.log = log;
  }

  @Override
  public String describe() {
    return namespace + "/" + name;
  }

  @Override
  public void start(Runnable onChange) {
    SharedIndexInformer<Secret> watch =
        client
            .secrets()
            .inNamespace(namespace)
            // A field selector on the name is what lets RBAC resourceNames allow list/watch.
            .withField("metadata.name", name)
            .runnableInformer(0);
    watch.exceptionHandler(
        (started, error) -> {
          FatalErrors.exitIfFatal("tls ca secret watch", error);
          String message = String.valueOf(error.getMessage());
          if (!message.equals(lastWatchError.getAndSet(message))) {
            log.warn(
                "tls ca secret watch failing, retrying",
                "secret",
                describe(),
                "error",
                message,
                "hint",
                "grant get, list and watch on secrets with resourceNames [" + name + "]");
          }
          return true; // keep retrying with back-off: RBAC may be fixed while we run
        });
    watch.addEventHandler(
        new ResourceEventHandler<Secret>() {
          @Override
          public void onAdd(Secret secret) {
            onChange.run();
          }

          @Override
          public void onUpdate(Secret before, Secret after) {
            onChange.run();
          }

          @Override
          public void onDelete(Secret secret, boolean finalStateUnknown) {
            onChange.run();
          }
        });
    informer = watch;
    watch.start();
  }

  @Override
  public CaSecretState read() {
    SharedIndexInformer<Secret> watch = informer;
    Secret secret;
    if (watch != null && watch.hasSynced()) {
      secret = watch.getStore().getByKey(namespace + "/" + name);
    } else {
      secret = get();
    }
    return state(secret);
  }

  private Secret get() {
    try {
      return client.secrets().inNamespace(namespace).withName(name).get();
    } catch (RuntimeException e) {
      throw ApiFailures.describe(
          e, "get", "Secret " + describe(), "get on secrets with resourceNames [" + name + "]");
    }
  }

  private static CaSecretState state(Secret secret) {
    return new CaSecretState(secret, secret == null ? null : CaSecretFormat.decode(secret));
  }

  @Override
  public CaWrite write(CaSecretState basis, CaContent proposal) {
    CaSecretState current = basis;
    for (int attempt = 1; ; attempt++) {
      try {
        Secret written = current.exists() ? update(current.secret(), proposal) : create(proposal);
        return new CaWrite(state(written), true);
      } catch (RuntimeException e) {
        if (ApiFailures.code(e) != ApiFailures.CONFLICT) {
          throw current.exists()
              ? ApiFailures.describe(
                  e,
                  "update",
                  "Secret " + describe(),
                  "update on secrets with resourceNames [" + name + "]")
              : ApiFailures.describe(
                  e,
                  "create",
                  "Secret " + describe(),
                  "create on secrets in namespace "
                      + namespace
                      + ", or apply the manifests, which create the Secret empty");
        }
      }
      // Someone else wrote first (AlreadyExists or a newer resourceVersion): read theirs.
      current = state(get());
      if (current.content().isPresent()) {
        return new CaWrite(current, false);
      }
      if (attempt >= MAX_ATTEMPTS) {
        throw new IllegalStateException(
            "Secret "
                + describe()
                + " kept changing while the gate tried to store its CA ("
                + attempt
                + " conflicts); will retry");
      }
    }
  }

  private Secret create(CaContent proposal) {
    Secret secret =
        new SecretBuilder()
            .withNewMetadata()
            .withNamespace(namespace)
            .withName(name)
            .withLabels(LABELS)
            .endMetadata()
            .withType("Opaque")
            .withData(CaSecretFormat.encode(proposal))
            .build();
    return client.secrets().inNamespace(namespace).resource(secret).create();
  }

  /**
   * A PUT of the Secret as read, with only its data replaced: its resourceVersion makes the write
   * conditional, and labels or annotations added by others (e.g. GitOps tracking) are kept.
   */
  private Secret update(Secret basis, CaContent proposal) {
    Secret next = new SecretBuilder(basis).withData(CaSecretFormat.encode(proposal)).build();
    next.getMetadata().setManagedFields(null);
    return client.secrets().inNamespace(namespace).resource(next).update();
  }

  @Override
  public void close() {
    SharedIndexInformer<Secret> watch = informer;
    if (watch != null) {
      watch.stop();
    }
  }
}
