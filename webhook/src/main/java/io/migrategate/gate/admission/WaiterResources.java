package io.migrategate.gate.admission;

import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;

/**
 * CPU and memory requests and limits of the injected {@code migrate-wait} container. Both are
 * always set: namespaces with a ResourceQuota or a LimitRange reject containers without limits.
 * Values are Kubernetes quantities ({@code 10m}, {@code 48Mi}).
 */
public record WaiterResources(
    String requestsCpu, String requestsMemory, String limitsCpu, String limitsMemory) {

  public WaiterResources {
    BigDecimal reqCpu = parse("requests.cpu", requestsCpu);
    BigDecimal reqMem = parse("requests.memory", requestsMemory);
    BigDecimal limCpu = parse("limits.cpu", limitsCpu);
    BigDecimal limMem = parse("limits.memory", limitsMemory);
    requireNotAbove("cpu", reqCpu, requestsCpu, limCpu, limitsCpu);
    requireNotAbove("memory", reqMem, requestsMemory, limMem, limitsMemory);
  }

  private static BigDecimal parse(String field, String value) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("waiter " + field + " is required (e.g. 10m or 48Mi)");
    }
    BigDecimal amount;
    try {
      amount = Quantity.getAmountInBytes(new Quantity(value));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "waiter " + field + " '" + value + "' is not a Kubernetes quantity (e.g. 10m or 48Mi)");
    }
    if (amount.signum() <= 0) {
      throw new IllegalArgumentException("waiter " + field + " '" + value + "' must be positive");
    }
    return amount;
  }

  private static void requireNotAbove(
      String resource, BigDecimal request, String requestText, BigDecimal limit, String limitText) {
    if (request.compareTo(limit) > 0) {
      throw new IllegalArgumentException(
          "waiter "
              + resource
              + " request "
              + requestText
              + " is above its limit "
              + limitText
              + "; Kubernetes rejects such a container");
    }
  }
}
