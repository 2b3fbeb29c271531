package io.migrategate.gate.ledger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The stored form of one namespace's entries: the {@code data} of one ConfigMap, one key per Job
 * name, each value a small JSON object sealed by the gate ({@link LedgerSeal}). Also the retention
 * and size rules, applied the same way in memory and in storage.
 *
 * <pre>
 * data:
 *   db-migrate: '{"uid":"6f1c…","revision":"42","createdAt":"2026-01-01T10:00:00Z",
 *                 "succeededAt":"2026-01-01T10:01:10Z","recordedAt":"2026-01-01T10:01:11Z",
 *                 "referencedAt":"2026-01-01T10:02:00Z","seal":"Q2x…"}'
 * </pre>
 */
public final class LedgerShard {
  /** Stored data stays below this (the API rejects objects over 1 MiB; leave room for metadata). */
  public static final int MAX_DATA_BYTES = 900 * 1024;

  private static final ObjectMapper JSON = new ObjectMapper();

  private LedgerShard() {}

  /**
   * A shard as read.
   *
   * @param entries the entries that parse and carry this gate's seal
   * @param rejected how many did not: malformed, or not written by a gate holding the key
   */
  public record Decoded(Map<String, LedgerEntry> entries, int rejected) {}

  /**
   * Decodes a ConfigMap's data. Entries that do not parse or whose seal does not verify are skipped
   * (and written away by the next write): they were not written by a gate.
   */
  public static Decoded decode(String namespace, Map<String, String> data, LedgerSeal seal) {
    Map<String, LedgerEntry> entries = new TreeMap<>();
    int[] rejected = {0};
    if (data != null) {
      data.forEach(
          (job, value) -> {
            LedgerEntry entry = decodeEntry(namespace, job, value, seal);
            if (entry != null) {
              entries.put(job, entry);
            } else {
              rejected[0]++;
            }
          });
    }
    return new Decoded(entries, rejected[0]);
  }

  /** Encodes entries as sealed ConfigMap data, sorted by Job name (stable, diff-friendly). */
  public static Map<String, String> encode(Iterable<LedgerEntry> entries, LedgerSeal seal) {
    Map<String, String> data = new TreeMap<>();
    for (LedgerEntry entry : entries) {
      data.put(entry.job(), encodeEntry(entry, seal));
    }
    return data;
  }

  /**
   * Applies retention and the size bounds: drops entries neither recorded nor asked about since
   * {@code now - retention}; then, beyond {@code maxEntries} or {@link #MAX_DATA_BYTES}, the
   * entries no pod ever asked about go first (oldest recorded first), and only then those pods
   * asked about (longest unasked first). So a flood of unrelated Jobs succeeding in the namespace
   * (batch work, not migrations) cannot push out the entry an app's pods wait on.
   */
  public static Map<String, LedgerEntry> compact(
      Map<String, LedgerEntry> entries, Instant now, LedgerPolicy policy) {
    List<LedgerEntry> kept = new ArrayList<>();
    for (LedgerEntry entry : entries.values()) {
      if (isRetained(entry, now, policy.retention())) {
        kept.add(entry);
      }
    }
    // What stays first; the tail is what goes when a bound is hit.
    kept.sort(
        Comparator.comparing((LedgerEntry e) -> e.referencedAt() == null)
            .thenComparing(
                e -> e.referencedAt() == null ? e.recordedAt() : e.referencedAt(),
                Comparator.reverseOrder())
            .thenComparing(LedgerEntry::job));
    if (kept.size() > policy.maxEntriesPerNamespace()) {
      kept = new ArrayList<>(kept.subList(0, policy.maxEntriesPerNamespace()));
    }
    long bytes = 0;
    int fits = 0;
    for (LedgerEntry entry : kept) {
      long size =
          entry.job().getBytes(StandardCharsets.UTF_8).length
              + ENCODED_SEAL_BYTES
              + encodeEntry(entry, null).getBytes(StandardCharsets.UTF_8).length
              + 8;
      if (bytes + size > MAX_DATA_BYTES) {
        break;
      }
      bytes += size;
      fits++;
    }
    Map<String, LedgerEntry> result = new TreeMap<>();
    for (LedgerEntry entry : kept.subList(0, fits)) {
      result.put(entry.job(), entry);
    }
    return result;
  }

  /** Whether an entry is within retention at {@code now}: recorded or asked about since. */
  public static boolean isRetained(LedgerEntry entry, Instant now, Duration retention) {
    Instant cutoff = now.minus(retention);
    return !entry.recordedAt().isBefore(cutoff)
        || (entry.referencedAt() != null && !entry.referencedAt().isBefore(cutoff));
  }

  /** {@code ,"seal":"<43 characters>"}. */
  private static final int ENCODED_SEAL_BYTES = 53;

  /** The entry as stored; {@code seal} null leaves the seal out (for size estimates only). */
  static String encodeEntry(LedgerEntry entry, LedgerSeal seal) {
    ObjectNode node = JSON.createObjectNode();
    node.put("uid", entry.uid());
    if (entry.revision() != null) {
      node.put("revision", entry.revision());
    }
    node.put("createdAt", entry.createdAt().toString());
    if (entry.succeededAt() != null) {
      node.put("succeededAt", entry.succeededAt().toString());
    }
    node.put("recordedAt", entry.recordedAt().toString());
    if (entry.referencedAt() != null) {
      node.put("referencedAt", entry.referencedAt().toString());
    }
    if (entry.doubtedAt() != null) {
      node.put("doubtedAt", entry.doubtedAt().toString());
    }
    if (seal != null) {
      node.put("seal", seal.seal(entry));
    }
    return node.toString();
  }

  private static LedgerEntry decodeEntry(
      String namespace, String job, String value, LedgerSeal seal) {
    try {
      JsonNode node = JSON.readTree(value);
      String uid = node.path("uid").asText(null);
      String createdAt = node.path("createdAt").asText(null);
      String recordedAt = node.path("recordedAt").asText(null);
      if (uid == null || createdAt == null || recordedAt == null) {
        return null;
      }
      String succeededAt = node.path("succeededAt").asText(null);
      String referencedAt = node.path("referencedAt").asText(null);
      String doubtedAt = node.path("doubtedAt").asText(null);
      LedgerEntry entry =
          new LedgerEntry(
              namespace,
              job,
              uid,
              node.path("revision").asText(null),
              Instant.parse(createdAt),
              succeededAt == null ? null : Instant.parse(succeededAt),
              Instant.parse(recordedAt),
              referencedAt == null ? null : Instant.parse(referencedAt),
              doubtedAt == null ? null : Instant.parse(doubtedAt));
      return seal.verifies(entry, node.path("seal").asText(null)) ? entry : null;
    } catch (JsonProcessingException | DateTimeParseException | IllegalArgumentException e) {
      return null;
    }
  }
}
