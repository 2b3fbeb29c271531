package io.migrategate.gate.tls;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.migrategate.certs.CaBundle;
import io.migrategate.gate.kube.FatalErrors;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@link WebhookCaBundle} on one MutatingWebhookConfiguration, watched by a name-scoped informer
 * and changed only by JSON patches under a dedicated field manager.
 */
final class MutatingWebhookCaBundle implements WebhookCaBundle {
  /** Shows in managedFields which component owns the caBundle values. */
  static final String FIELD_MANAGER = "migrate-gate-tls";

  private static final int MAX_ATTEMPTS = 3;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final KubernetesClient client;
  private final String name;
  private final TlsEventLog log;
  private final AtomicReference<String> lastWatchError = new AtomicReference<>();
  private volatile SharedIndexInformer<MutatingWebhookConfiguration> informer;

  MutatingWebhookCaBundle(KubernetesClient client, String name, TlsEventLog log) {
    this.client = client;
    this.name = name;
    this.log = log;
  }

  private Resource<MutatingWebhookConfiguration> resource() {
    return client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(name);
  }

  @Override
  public void start(Runnable onChange) {
    SharedIndexInformer<MutatingWebhookConfiguration> watch =
        client
            .admissionRegistration()
            .v1()
            .mutatingWebhookConfigurations()
            // A field selector on the name is what lets RBAC resourceNames allow list/watch.
            .withField("metadata.name", name)
            .runnableInformer(0);
    watch.exceptionHandler(
        (started, error) -> {
          FatalErrors.exitIfFatal("tls webhook configuration watch", error);
          String message = String.valueOf(error.getMessage());
          if (!message.equals(lastWatchError.getAndSet(message))) {
            log.warn(
                "tls webhook configuration watch failing, retrying",
                "webhook_configuration",
                name,
                "error",
                message,
                "hint",
                "grant get, list and watch on mutatingwebhookconfigurations with resourceNames ["
                    + name
                    + "]");
          }
          return true;
        });
    watch.addEventHandler(
        new ResourceEventHandler<MutatingWebhookConfiguration>() {
          @Override
          public void onAdd(MutatingWebhookConfiguration configuration) {
            onChange.run();
          }

          @Override
          public void onUpdate(
              MutatingWebhookConfiguration before, MutatingWebhookConfiguration after) {
            onChange.run();
          }

          @Override
          public void onDelete(MutatingWebhookConfiguration configuration, boolean unknown) {
            onChange.run();
          }
        });
    informer = watch;
    watch.start();
  }

  @Override
  public ObservedBundle read() {
    SharedIndexInformer<MutatingWebhookConfiguration> watch = informer;
    if (watch != null && watch.hasSynced()) {
      return ObservedBundle.of(name, watch.getStore().getByKey(name));
    }
    return ObservedBundle.of(name, get());
  }

  private MutatingWebhookConfiguration get() {
    try {
      return resource().get();
    } catch (RuntimeException e) {
      throw ApiFailures.describe(
          e,
          "get",
          "MutatingWebhookConfiguration " + name,
          "get on mutatingwebhookconfigurations with resourceNames [" + name + "]");
    }
  }

  @Override
  public Update ensureTrusts(List<X509Certificate> trusted, Instant now, Duration grace) {
    ObservedBundle observed = read();
    for (int attempt = 1; ; attempt++) {
      if (!observed.exists()) {
        return new Update(observed, false, List.of(), List.of());
      }
      ArrayNode patch = JsonNodeFactory.instance.arrayNode();
      // The resourceVersion in the patched object makes the API server reject the patch with 409
      // if the object changed since it was read, so a concurrent writer's CA is never dropped.
      patch
          .addObject()
          .put("op", "replace")
          .put("path", "/metadata/resourceVersion")
          .put("value", observed.resourceVersion());
      Set<String> added = new LinkedHashSet<>();
      Set<String> pruned = new LinkedHashSet<>();
      for (ObservedBundle.Entry entry : observed.webhooks()) {
        List<X509Certificate> desired = CaBundleMerge.merge(entry.cas(), trusted, now, grace);
        if (entry.problem() == null && CaBundleMerge.sameCas(entry.cas(), desired)) {
          continue;
        }
        String base = "/webhooks/" + entry.index();
        patch.addObject().put("op", "test").put("path", base + "/name").put("value", entry.name());
        patch
            .addObject()
            .put("op", "add")
            .put("path", base + "/clientConfig/caBundle")
            .put("value", CaBundle.encode(desired));
        added.addAll(CaBundleMerge.serialsAdded(entry.cas(), desired));
        pruned.addAll(CaBundleMerge.serialsAdded(desired, entry.cas()));
      }
      if (patch.size() == 1) {
        return new Update(observed, false, List.of(), List.of());
      }
      try {
        MutatingWebhookConfiguration patched =
            resource()
                .patch(
                    new PatchContext.Builder()
                        .withPatchType(PatchType.JSON)
                        .withFieldManager(FIELD_MANAGER)
                        .build(),
                    JSON.writeValueAsString(patch));
        return new Update(
            ObservedBundle.of(name, patched),
            true,
            new ArrayList<>(added),
            new ArrayList<>(pruned));
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException("cannot encode caBundle patch: " + e, e);
      } catch (RuntimeException e) {
        int code = ApiFailures.code(e);
        // 409: changed since read; 422: a failed "test" (entries reordered). Both: re-read.
        boolean stale = code == ApiFailures.CONFLICT || code == ApiFailures.UNPROCESSABLE;
        if (!stale || attempt >= MAX_ATTEMPTS) {
          throw ApiFailures.describe(
              e,
              "patch",
              "the caBundle of MutatingWebhookConfiguration " + name,
              "patch on mutatingwebhookconfigurations with resourceNames [" + name + "]");
        }
      }
      observed = ObservedBundle.of(name, get());
    }
  }

  @Override
  public void close() {
    SharedIndexInformer<MutatingWebhookConfiguration> watch = informer;
    if (watch != null) {
      watch.stop();
    }
  }
}
