package io.migrategate.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LedgerShardTest {
  static final Instant T0 = Instant.parse("2026-01-01T10:00:00Z");

  static LedgerEntry success(String job, String uid, Instant created, Instant recorded) {
    return new LedgerEntry("shop", job, uid, "42", created, created.plusSeconds(60), recorded);
  }

  static LedgerEntry newRun(String job, String uid, Instant created) {
    return new LedgerEntry("shop", job, uid, null, created, null, created);
  }

  @Test
  void aNewerRunReplacesAnOlderSuccessAndNeverTheOtherWayRound() {
    LedgerEntry run1 = success("migrate", "uid-1", T0, T0.plusSeconds(60));
    LedgerEntry run2 = newRun("migrate", "uid-2", T0.plusSeconds(600));
    assertSame(run2, LedgerEntry.keep(run1, run2));
    // A lagging replica reporting run 1 again does not bring it back.
    assertSame(run2, LedgerEntry.keep(run2, run1));
  }

  @Test
  void theSameRunsSuccessWinsOverItsSightingAndReRecordingChangesNothing() {
    LedgerEntry seen = newRun("migrate", "uid-1", T0);
    LedgerEntry succeeded = success("migrate", "uid-1", T0, T0.plusSeconds(60));
    assertSame(succeeded, LedgerEntry.keep(seen, succeeded));
    assertSame(succeeded, LedgerEntry.keep(succeeded, seen));
    LedgerEntry againLater = success("migrate", "uid-1", T0, T0.plusSeconds(120));
    assertSame(succeeded, LedgerEntry.keep(succeeded, againLater), "no rewrite for a known fact");
  }

  @Test
  void runsCreatedInTheSameSecondAreOrderedByUidOnEveryReplica() {
    LedgerEntry a = newRun("migrate", "uid-a", T0);
    LedgerEntry b = newRun("migrate", "uid-b", T0);
    assertSame(b, LedgerEntry.keep(a, b));
    assertSame(b, LedgerEntry.keep(b, a));
  }

  @Test
  void encodesAndDecodesEveryField() {
    LedgerEntry entry = success("db.migrate", "6f1c-uid", T0, T0.plusSeconds(61));
    LedgerEntry run = newRun("seed", "uid-9", T0);
    Map<String, String> data = LedgerShard.encode(List.of(entry, run));
    assertEquals(
        "{\"uid\":\"6f1c-uid\",\"revision\":\"42\",\"createdAt\":\"2026-01-01T10:00:00Z\","
            + "\"succeededAt\":\"2026-01-01T10:01:00Z\",\"recordedAt\":\"2026-01-01T10:01:01Z\"}",
        data.get("db.migrate"));
    assertEquals(Map.of("db.migrate", entry, "seed", run), LedgerShard.decode("shop", data));
  }

  @Test
  void skipsEntriesThatDoNotParse() {
    Map<String, String> data = new LinkedHashMap<>();
    data.put("ok", LedgerShard.encodeEntry(newRun("ok", "u", T0)));
    data.put("garbage", "not json");
    data.put("partial", "{\"uid\":\"u\"}");
    data.put("bad-time", "{\"uid\":\"u\",\"createdAt\":\"yesterday\",\"recordedAt\":\"now\"}");
    assertEquals(List.of("ok"), List.copyOf(LedgerShard.decode("shop", data).keySet()));
  }

  @Test
  void compactionDropsEntriesPastRetentionThenTheOldestBeyondTheBound() {
    LedgerPolicy policy = new LedgerPolicy(Duration.ofDays(30), 2);
    Instant now = T0.plus(Duration.ofDays(40));
    Map<String, LedgerEntry> entries = new LinkedHashMap<>();
    entries.put("expired", success("expired", "u1", T0, T0)); // recorded 40 days ago
    entries.put("old", success("old", "u2", T0, now.minus(Duration.ofDays(20))));
    entries.put("mid", success("mid", "u3", T0, now.minus(Duration.ofDays(10))));
    entries.put("new", success("new", "u4", T0, now.minus(Duration.ofDays(1))));
    Map<String, LedgerEntry> kept = LedgerShard.compact(entries, now, policy);
    assertEquals(List.of("mid", "new"), List.copyOf(kept.keySet()));
  }

  @Test
  void compactionKeepsTheDataUnderTheConfigMapLimit() {
    LedgerPolicy policy =
        new LedgerPolicy(Duration.ofDays(30), LedgerPolicy.MAX_ENTRIES_PER_NAMESPACE);
    Map<String, LedgerEntry> entries = new LinkedHashMap<>();
    String longRevision = "r".repeat(1000);
    for (int i = 0; i < 2000; i++) {
      String job = "job-" + i;
      entries.put(
          job, new LedgerEntry("shop", job, "uid-" + i, longRevision, T0, T0, T0.plusSeconds(i)));
    }
    Map<String, LedgerEntry> kept = LedgerShard.compact(entries, T0.plusSeconds(3000), policy);
    int bytes =
        LedgerShard.encode(kept.values()).entrySet().stream()
            .mapToInt(e -> e.getKey().length() + e.getValue().length())
            .sum();
    assertTrue(bytes <= LedgerShard.MAX_DATA_BYTES, "data bytes " + bytes);
    assertTrue(kept.size() < 2000 && kept.size() > 500, "kept " + kept.size());
    assertTrue(kept.containsKey("job-1999"), "the newest entries stay");
  }
}
