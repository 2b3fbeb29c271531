package io.migrategate.gate.waitapi;

import io.migrategate.core.Names;
import io.migrategate.gate.admission.JobReference;
import io.migrategate.gate.admission.WaitLimits;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * What one wait request asks, validated: {@code /wait/v1/namespaces/{namespace}/jobs?names=a,b
 * [&revision=r]}. A bad request is an {@link IllegalArgumentException} whose message is the 400
 * body: it names the parameter and the fix. The bounds are {@link WaitLimits}, shared with
 * admission, which denies a pod whose annotations exceed them.
 *
 * @param jobs distinct Job names, in the order asked
 * @param revision the {@code migrate.io/revision} the Jobs must carry, or null
 */
record WaitQuestion(String namespace, List<String> jobs, String revision) {

  static WaitQuestion parse(String namespace, List<String> names, List<String> revisions) {
    if (!Names.isDnsLabel(namespace)) {
      throw new IllegalArgumentException(
          "namespace '" + namespace + "' is not a namespace name (a DNS label)");
    }
    if (names.size() != 1 || names.get(0).isBlank()) {
      throw new IllegalArgumentException(
          "give the Jobs once as names=NAME[,NAME...], e.g. ?names=db-migrate");
    }
    LinkedHashSet<String> jobs = new LinkedHashSet<>();
    for (String element : names.get(0).split(",", -1)) {
      String job = element.strip();
      if (!Names.isJobName(job)) {
        throw new IllegalArgumentException(
            "names: '" + job + "' is not a valid Job name: " + JobReference.JOB_NAME_RULE);
      }
      jobs.add(job);
    }
    if (jobs.size() > WaitLimits.MAX_JOBS) {
      throw new IllegalArgumentException(
          "names: at most " + WaitLimits.MAX_JOBS + " Jobs per request");
    }
    String revision = null;
    if (revisions.size() > 1) {
      throw new IllegalArgumentException("give revision at most once");
    }
    if (revisions.size() == 1) {
      revision = revisions.get(0);
      if (revision.isBlank() || revision.length() > WaitLimits.MAX_REVISION_LENGTH) {
        throw new IllegalArgumentException(
            "revision must be 1-" + WaitLimits.MAX_REVISION_LENGTH + " characters when given");
      }
    }
    return new WaitQuestion(namespace, new ArrayList<>(jobs), revision);
  }
}
