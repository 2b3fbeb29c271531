package io.migrategate.gate.ledger;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * How far the gate's replicas have watched Jobs: a resourceVersion of the Job watch whose events a
 * replica had handled, and when. A replica that starts replays the Job events since the mark, so a
 * run created, failed and deleted while no replica watched still supersedes the success before it;
 * when those events are gone (the API server keeps a few minutes of history), the gap is real and
 * the successes recorded before it are doubted ({@link LedgerEntry#doubted}).
 *
 * <p>Stored sealed ({@link LedgerSeal}) in ConfigMap {@value #CONFIG_MAP} of the gate's namespace:
 * a forged mark could otherwise hide a gap.
 *
 * @param resourceVersion an etcd revision, as the API server gives it
 * @param at when a replica had handled the events up to it
 */
public record WatchMark(String resourceVersion, Instant at) {
  public static final String CONFIG_MAP = "migrate-gate-watch-mark";

  public WatchMark {
    Objects.requireNonNull(resourceVersion, "resourceVersion");
    Objects.requireNonNull(at, "at");
  }

  /** The mark as a number (etcd revisions, as every API server in practice gives them), or -1. */
  public long revision() {
    try {
      return Long.parseLong(resourceVersion);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** The later of two marks (the one further along the watch); either may be null. */
  public static WatchMark furthest(WatchMark a, WatchMark b) {
    if (a == null) {
      return b;
    }
    if (b == null) {
      return a;
    }
    return b.revision() > a.revision() ? b : a;
  }

  /** The ConfigMap data that stores this mark, sealed with {@code seal}. */
  public Map<String, String> encode(LedgerSeal seal) {
    Map<String, String> data = new TreeMap<>();
    data.put("resourceVersion", resourceVersion);
    data.put("at", at.toString());
    data.put("seal", seal.sealOf(canonical()));
    return data;
  }

  /** The stored mark, or empty when absent, malformed or not sealed with {@code seal}'s key. */
  static Optional<WatchMark> decode(Map<String, String> data, LedgerSeal seal) {
    if (data == null || data.get("resourceVersion") == null || data.get("at") == null) {
      return Optional.empty();
    }
    try {
      WatchMark mark = new WatchMark(data.get("resourceVersion"), Instant.parse(data.get("at")));
      return seal.verifies(mark.canonical(), data.get("seal"))
          ? Optional.of(mark)
          : Optional.empty();
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  private String canonical() {
    return String.join("\n", "watch-mark-v1", resourceVersion, at.toString());
  }
}
