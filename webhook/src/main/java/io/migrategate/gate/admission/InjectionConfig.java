package io.migrategate.gate.admission;

import java.util.Collection;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Predicate;

/**
 * How the gate injects {@code migrate-wait} and where it never does.
 *
 * @param waiterImage image of the waiter ({@code --waiter-image})
 * @param resources requests and limits of the injected container
 * @param failurePolicy answer when a needed owner lookup cannot be made
 * @param gateNamespace the gate's own namespace: its pods are never touched
 * @param excludedNamespaces further namespaces whose pods are never touched
 * @param runAsUser numeric UID (and GID) of the waiter unless the pod sets a non-root one at pod
 *     level; empty: none, the platform assigns it (OpenShift's restricted-v2 gives each namespace a
 *     UID range and refuses a fixed UID outside it)
 * @param waitEndpoint the gate's wait API for injected waiters (gate mode, the default for every
 *     pod unless it says {@code migrate.io/source: api}); empty: waiters read the API directly
 */
public record InjectionConfig(
    String waiterImage,
    WaiterResources resources,
    FailurePolicy failurePolicy,
    String gateNamespace,
    Set<String> excludedNamespaces,
    OptionalLong runAsUser,
    Optional<WaitEndpoint> waitEndpoint) {

  /** Namespaces a gate never touches, whatever its configuration says. */
  public static final Set<String> SYSTEM_NAMESPACES =
      Set.of("kube-system", "kube-public", "kube-node-lease");

  /**
   * Requests and limits sized to the measured waiter (docs/benchmarks/waiter.md: peak RSS 55-58
   * MiB, a CPU burst of about 0.4 s at start, then an idle watch). The one place these numbers
   * live.
   */
  public static final String DEFAULT_CPU_REQUEST = "50m";

  public static final String DEFAULT_MEMORY_REQUEST = "64Mi";
  public static final String DEFAULT_CPU_LIMIT = "1";
  public static final String DEFAULT_MEMORY_LIMIT = "96Mi";

  public static final WaiterResources DEFAULT_RESOURCES =
      new WaiterResources(
          DEFAULT_CPU_REQUEST, DEFAULT_MEMORY_REQUEST, DEFAULT_CPU_LIMIT, DEFAULT_MEMORY_LIMIT);

  /** The conventional non-root UID of distroless images (and of the gate's own pods). */
  public static final long DEFAULT_UID = 65532L;

  public static final OptionalLong DEFAULT_RUN_AS_USER = OptionalLong.of(DEFAULT_UID);

  public InjectionConfig {
    if (waiterImage == null || waiterImage.isBlank()) {
      throw new IllegalArgumentException("the waiter image is required (--waiter-image)");
    }
    Objects.requireNonNull(resources, "resources");
    Objects.requireNonNull(failurePolicy, "failurePolicy");
    if (gateNamespace == null || gateNamespace.isBlank()) {
      throw new IllegalArgumentException("the gate's own namespace is required");
    }
    Objects.requireNonNull(runAsUser, "runAsUser");
    if (runAsUser.isPresent() && runAsUser.getAsLong() <= 0) {
      throw new IllegalArgumentException(
          "the waiter's runAsUser must be a non-root UID (> 0), got " + runAsUser.getAsLong());
    }
    excludedNamespaces = Set.copyOf(excludedNamespaces);
    Objects.requireNonNull(waitEndpoint, "waitEndpoint");
  }

  /** Without a wait API: injected waiters read the Jobs from the API server. */
  public InjectionConfig(
      String waiterImage,
      WaiterResources resources,
      FailurePolicy failurePolicy,
      String gateNamespace,
      Set<String> excludedNamespaces,
      OptionalLong runAsUser) {
    this(
        waiterImage,
        resources,
        failurePolicy,
        gateNamespace,
        excludedNamespaces,
        runAsUser,
        Optional.empty());
  }

  /** Defaults: fail-closed, {@link #DEFAULT_RESOURCES}, system namespaces excluded, UID 65532. */
  public static InjectionConfig defaults(String waiterImage, String gateNamespace) {
    return new InjectionConfig(
        waiterImage,
        DEFAULT_RESOURCES,
        FailurePolicy.FAIL_CLOSED,
        gateNamespace,
        SYSTEM_NAMESPACES,
        DEFAULT_RUN_AS_USER);
  }

  public InjectionConfig withResources(WaiterResources newResources) {
    return new InjectionConfig(
        waiterImage,
        newResources,
        failurePolicy,
        gateNamespace,
        excludedNamespaces,
        runAsUser,
        waitEndpoint);
  }

  public InjectionConfig withFailurePolicy(FailurePolicy newPolicy) {
    return new InjectionConfig(
        waiterImage,
        resources,
        newPolicy,
        gateNamespace,
        excludedNamespaces,
        runAsUser,
        waitEndpoint);
  }

  public InjectionConfig withWaitEndpoint(Optional<WaitEndpoint> endpoint) {
    return new InjectionConfig(
        waiterImage,
        resources,
        failurePolicy,
        gateNamespace,
        excludedNamespaces,
        runAsUser,
        endpoint);
  }

  /** Whether pods of {@code namespace} are never touched. */
  public boolean isExcluded(String namespace) {
    return isExcluded(gateNamespace, excludedNamespaces, namespace);
  }

  /** The namespaces whose pods the gate never touches: its own, the system's, the configured. */
  public static Predicate<String> exclusion(
      String gateNamespace, Collection<String> excludedNamespaces) {
    Set<String> excluded = Set.copyOf(excludedNamespaces);
    return namespace -> isExcluded(gateNamespace, excluded, namespace);
  }

  private static boolean isExcluded(String gateNamespace, Set<String> excluded, String namespace) {
    return gateNamespace.equals(namespace)
        || SYSTEM_NAMESPACES.contains(namespace)
        || excluded.contains(namespace);
  }
}
