package io.migrategate.gate.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** Which errors end the gate: what an informer's exception handler must not retry. */
class FatalErrorsTest {
  @Test
  void anOutOfMemoryErrorIsFatalAlsoWhenAnInformerWrapsIt() {
    OutOfMemoryError oom = new OutOfMemoryError("Java heap space");
    assertTrue(FatalErrors.isFatal(oom));
    // fabric8's list thread hands the handler its own exception with the OOM as the cause.
    assertTrue(FatalErrors.isFatal(new KubernetesClientException("list failed", oom)));
    assertTrue(FatalErrors.isFatal(new StackOverflowError()));
  }

  @Test
  void whatAnInformerRetriesIsNot() {
    assertFalse(FatalErrors.isFatal(new KubernetesClientException("HTTP 410 Gone")));
    assertFalse(FatalErrors.isFatal(new IOException("connection reset")));
    assertFalse(FatalErrors.isFatal(new IllegalStateException(new IOException("refused"))));
  }

  @Test
  void theLineSaysWhereWhatAndWhatToDo() {
    assertEquals(
        "migrate-gate: fatal error in job tracker: java.lang.OutOfMemoryError: Java heap space;"
            + " exiting (code 70) so that the kubelet restarts the gate (raise the memory limit:"
            + " docs/install.md, the Deployment)",
        FatalErrors.line("job tracker", new OutOfMemoryError("Java heap space")));
  }
}
