package io.migrategate.gate.admission;

import io.migrategate.gate.admission.PodView.InitContainer;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Where {@code migrate-wait} goes among the init containers, and the one layout where no place
 * works.
 *
 * <p>The rule: first, unless the pod has native sidecars (init containers with {@code
 * restartPolicy: Always}); then right after the last of them. Why:
 *
 * <ul>
 *   <li>Init containers before {@code migrate-wait} run before the migration succeeded, so the
 *       waiter goes as early as it can.
 *   <li>A mesh that redirects the pod's traffic with iptables ({@code istio-init}, {@code
 *       linkerd-init}) sends every outbound connection made after that point to a proxy that, when
 *       it is a regular container, only starts after all init containers: an init container placed
 *       after {@code istio-init} cannot reach the API server. Placed first, the waiter runs before
 *       the redirection exists.
 *   <li>With the mesh CNI plugin the redirection exists before any container starts, so first does
 *       not help; but when the proxy is a native sidecar it is started (and, for Istio, ready)
 *       before the next init container, so right after it the waiter's traffic flows through a
 *       running proxy. The same holds with {@code istio-init} and a native proxy.
 *   <li>A mesh CNI plugin with a proxy that is a regular container leaves no working place; {@link
 *       #meshWarning} names that layout and its fixes.
 * </ul>
 *
 * <p>The gate's webhook configuration must sort after the mesh injector's (webhooks are called in
 * name order: {@code migrate-gate} after {@code istio-sidecar-injector} and {@code
 * linkerd-proxy-injector...}) so the gate sees the mesh containers. Once {@code migrate-wait} is
 * present the pod is never changed again, so a reinvocation does not move it.
 */
final class InitContainerPlacement {
  /** Init containers a mesh uses to check that its CNI plugin set up the redirection. */
  private static final Set<String> MESH_CNI_VALIDATORS =
      Set.of("istio-validation", "linkerd-network-validator");

  private static final Set<String> MESH_PROXIES = Set.of("istio-proxy", "linkerd-proxy");

  private InitContainerPlacement() {}

  static int indexFor(List<InitContainer> initContainers) {
    for (int i = initContainers.size() - 1; i >= 0; i--) {
      if (initContainers.get(i).isNativeSidecar()) {
        return i + 1;
      }
    }
    return 0;
  }

  /**
   * A warning when the pod's traffic is redirected by a mesh CNI plugin to a proxy that only starts
   * after the init containers: the waiter cannot reach the API server from any position.
   */
  static Optional<String> meshWarning(PodView pod) {
    List<InitContainer> initContainers = pod.initContainers();
    boolean cniValidator =
        initContainers.stream().anyMatch(c -> MESH_CNI_VALIDATORS.contains(c.name()));
    boolean nativeProxy =
        initContainers.stream()
            .anyMatch(c -> c.isNativeSidecar() && MESH_PROXIES.contains(c.name()));
    boolean regularProxy = pod.containerNames().stream().anyMatch(MESH_PROXIES::contains);
    if (cniValidator && regularProxy && !nativeProxy) {
      return Optional.of(
          "migrate-wait runs before the mesh proxy starts while the mesh CNI plugin already"
              + " redirects the pod's traffic, so it cannot reach the API server; enable native"
              + " sidecars in the mesh or exclude the API server address from redirection"
              + " (docs/annotations.md#service-meshes)");
    }
    return Optional.empty();
  }
}
