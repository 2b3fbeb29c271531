package io.migrategate.ledger;

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
 * name, each value a small JSON object. Also the retention and size rules, applied the same way in
 * memory and in storage.
 *
 * <pre>
 * data:
 *   db-migrate: '{"uid":"6f1c…","revision":"42","createdAt":"2026-01-01T10:00:00Z",
 *                 "succeededAt":"2026-01-01T10:01:10Z","recordedAt":"2026-01-01T10:01:11Z"}'
 * </pre>
 */
public final class LedgerShard {
  /** Stored data stays below this (the API rejects objects over 1 MiB; leave room for metadata). */
  public static final int MAX_DATA_BYTES = 900 * 1024;

  private static final ObjectMapper JSON = new ObjectMapper();

  private LedgerShard() {}

  /** Decodes a ConfigMap's data; entries that do not parse are skipped (and rewritten away). */
  public static Map<String, LedgerEntry> decode(String namespace, Map<String, String> data) {
    Map<String, LedgerEntry> entries = new TreeMap<>();
    if (data == null) {
      return entries;
    }
    data.forEach(
        (job, value) -> {
          LedgerEntry entry = decodeEntry(namespace, job, value);
          if (entry != null) {
            entries.put(job, entry);
          }
        });
    return entries;
  }

  /** Encodes entries as ConfigMap data, sorted by Job name (stable, diff-friendly). */
  public static Map<String, String> encode(Iterable<LedgerEntry> entries) {
    Map<String, String> data = new TreeMap<>();
    for (LedgerEntry entry : entries) {
      data.put(entry.job(), encodeEntry(entry));
    }
    return data;
  }

  /**
   * Applies retention and the size bounds: drops entries recorded before {@code now - retention},
   * then the oldest recorded beyond {@code maxEntries}, then the oldest until the data fits {@link
   * #MAX_DATA_BYTES}.
   */
  public static Map<String, LedgerEntry> compact(
      Map<String, LedgerEntry> entries, Instant now, LedgerPolicy policy) {
    Instant cutoff = now.minus(policy.retention());
    List<LedgerEntry> kept = new ArrayList<>();
    for (LedgerEntry entry : entries.values()) {
      if (!entry.recordedAt().isBefore(cutoff)) {
        kept.add(entry);
      }
    }
    // Newest first; the tail is what goes when a bound is hit.
    kept.sort(
        Comparator.comparing(LedgerEntry::recordedAt).reversed().thenComparing(LedgerEntry::job));
    if (kept.size() > policy.maxEntriesPerNamespace()) {
      kept = new ArrayList<>(kept.subList(0, policy.maxEntriesPerNamespace()));
    }
    long bytes = 0;
    int fits = 0;
    for (LedgerEntry entry : kept) {
      long size =
          entry.job().getBytes(StandardCharsets.UTF_8).length
              + encodeEntry(entry).getBytes(StandardCharsets.UTF_8).length
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

  /** Whether an entry is within retention at {@code now}. */
  public static boolean isRetained(LedgerEntry entry, Instant now, Duration retention) {
    return !entry.recordedAt().isBefore(now.minus(retention));
  }

  static String encodeEntry(LedgerEntry entry) {
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
    return node.toString();
  }

  private static LedgerEntry decodeEntry(String namespace, String job, String value) {
    try {
      JsonNode node = JSON.readTree(value);
      String uid = node.path("uid").asText(null);
      String createdAt = node.path("createdAt").asText(null);
      String recordedAt = node.path("recordedAt").asText(null);
      if (uid == null || createdAt == null || recordedAt == null) {
        return null;
      }
      String succeededAt = node.path("succeededAt").asText(null);
      return new LedgerEntry(
          namespace,
          job,
          uid,
          node.path("revision").asText(null),
          Instant.parse(createdAt),
          succeededAt == null ? null : Instant.parse(succeededAt),
          Instant.parse(recordedAt));
    } catch (JsonProcessingException | DateTimeParseException | IllegalArgumentException e) {
      return null;
    }
  }
}
