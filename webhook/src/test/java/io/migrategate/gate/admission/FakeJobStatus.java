package io.migrategate.gate.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What the gate knows about Jobs, from a case's {@code jobs.json}: {@code {"succeeded": {"NAME":
 * "REVISION" or null}}} lists the Jobs of the pod's namespace that succeeded (live or in the
 * ledger) and their revision. Without the file nothing succeeded.
 */
final class FakeJobStatus implements JobStatusView {
  private final JsonNode succeeded;

  private FakeJobStatus(JsonNode succeeded) {
    this.succeeded = succeeded;
  }

  static JobStatusView fromFolder(Path folder) throws IOException {
    Path file = folder.resolve("jobs.json");
    if (!Files.exists(file)) {
      return JobStatusView.NONE;
    }
    return new FakeJobStatus(new ObjectMapper().readTree(file.toFile()).path("succeeded"));
  }

  @Override
  public boolean allSucceeded(String namespace, List<String> jobs, String revision) {
    for (String job : jobs) {
      JsonNode recorded = succeeded.get(job);
      if (recorded == null) {
        return false;
      }
      if (revision != null && !revision.equals(recorded.isNull() ? null : recorded.asText())) {
        return false;
      }
    }
    return true;
  }
}
