package io.migrategate.cluster;

import io.fabric8.kubernetes.client.KubernetesClient;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Resolves {@link LocalCluster} (the kwok one, or the real-node one for
 * {@code @LocalClusterTest(realNode = true)}) and its admin {@link KubernetesClient} for test
 * parameters, and disables cluster tests (saying why) when {@code -DskipClusterTests=true} was
 * given.
 */
public final class LocalClusterExtension implements ParameterResolver, ExecutionCondition {

  static final String SKIP_PROPERTY = "migrategate.skipClusterTests";

  @Override
  public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
    if (Boolean.getBoolean(SKIP_PROPERTY)) {
      return ConditionEvaluationResult.disabled(
          "cluster tests skipped: -DskipClusterTests=true was given (they need local-cluster/up)");
    }
    return ConditionEvaluationResult.enabled("the local control plane is used");
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    return type == LocalCluster.class || type == KubernetesClient.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    LocalClusterTest settings =
        context.getRequiredTestClass().getAnnotation(LocalClusterTest.class);
    LocalCluster cluster =
        settings != null && settings.realNode() ? LocalCluster.realNode() : LocalCluster.shared();
    return parameter.getParameter().getType() == LocalCluster.class ? cluster : cluster.client();
  }
}
