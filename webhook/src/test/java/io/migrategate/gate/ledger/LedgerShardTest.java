package io.migrategate.gate.ledger;

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
  static final LedgerSeal SEAL = LedgerSeal.of("0123456789abcdef0123456789abcdef".getBytes());
  static final LedgerSeal OTHER_KEY = LedgerSeal.of("fedcba9876543210fedcba9876543210".getBytes());

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
  void aGapsDoubtOutranksWhatWasRecordedBeforeAndSeeingTheRunAgainOutranksTheDoubt() {
    LedgerEntry recorded = success("migrate", "uid-1", T0, T0.plusSeconds(60));
    Instant gapEnd = T0.plusSeconds(3600);
    LedgerEntry doubted = recorded.doubted(gapEnd);
    assertTrue(doubted.isDoubted());
    assertSame(recorded, recorded.doubted(T0), "recorded after that gap: not doubted");
    assertSame(doubted, doubted.doubted(gapEnd.plusSeconds(1)), "the first doubt stays");
    // A replica that did not see the gap still holds the undoubted copy: the doubt wins, in
    // either order, so replicas converge.
    assertSame(doubted, LedgerEntry.keep(recorded, doubted));
    assertSame(doubted, LedgerEntry.keep(doubted, recorded));
    // The run seen again after the gap (re-recorded now) wins over the doubt.
    LedgerEntry seenAgain = success("migrate", "uid-1", T0, gapEnd.plusSeconds(5));
    assertSame(seenAgain, LedgerEntry.keep(doubted, seenAgain));
    assertSame(seenAgain, LedgerEntry.keep(seenAgain, doubted));
    // A newer run still replaces a doubted success.
    LedgerEntry run2 = newRun("migrate", "uid-2", gapEnd.plusSeconds(10));
    assertSame(run2, LedgerEntry.keep(doubted, run2));
  }

  @Test
  void aDoubtIsStoredAndSealed() {
    LedgerEntry doubted =
        success("migrate", "uid-1", T0, T0.plusSeconds(60)).doubted(T0.plusSeconds(3600));
    Map<String, String> data = LedgerShard.encode(List.of(doubted), SEAL);
    assertTrue(data.get("migrate").contains("\"doubtedAt\":\"2026-01-01T11:00:00Z\""));
    assertEquals(Map.of("migrate", doubted), LedgerShard.decode("shop", data, SEAL).entries());
    // Removing the doubt by hand breaks the seal: the entry is ignored, never trusted.
    Map<String, String> edited =
        Map.of(
            "migrate", data.get("migrate").replace(",\"doubtedAt\":\"2026-01-01T11:00:00Z\"", ""));
    LedgerShard.Decoded decoded = LedgerShard.decode("shop", edited, SEAL);
    assertEquals(Map.of(), decoded.entries());
    assertEquals(1, decoded.rejected());
  }

  @Test
  void aWatchMarkVerifiesOnlyWithTheGatesKey() {
    WatchMark mark = new WatchMark("12345", T0);
    assertEquals(java.util.Optional.of(mark), WatchMark.decode(mark.encode(SEAL), SEAL));
    assertEquals(java.util.Optional.empty(), WatchMark.decode(mark.encode(OTHER_KEY), SEAL));
    Map<String, String> moved = new LinkedHashMap<>(mark.encode(SEAL));
    moved.put("resourceVersion", "99999999");
    assertEquals(java.util.Optional.empty(), WatchMark.decode(moved, SEAL), "a forged mark");
    assertSame(
        mark, WatchMark.furthest(mark, new WatchMark("999", T0.plusSeconds(9))), "by revision");
  }

  @Test
  void encodesAndDecodesEveryField() {
    LedgerEntry entry = success("db.migrate", "6f1c-uid", T0, T0.plusSeconds(61));
    LedgerEntry run = newRun("seed", "uid-9", T0);
    LedgerEntry referenced = success("app", "uid-3", T0, T0).referenced(T0.plusSeconds(5));
    Map<String, String> data = LedgerShard.encode(List.of(entry, run, referenced), SEAL);
    assertEquals(
        "{\"uid\":\"6f1c-uid\",\"revision\":\"42\",\"createdAt\":\"2026-01-01T10:00:00Z\","
            + "\"succeededAt\":\"2026-01-01T10:01:00Z\",\"recordedAt\":\"2026-01-01T10:01:01Z\","
            + "\"seal\":\""
            + SEAL.seal(entry)
            + "\"}",
        data.get("db.migrate"));
    assertEquals(
        Map.of("db.migrate", entry, "seed", run, "app", referenced),
        LedgerShard.decode("shop", data, SEAL).entries());
  }

  @Test
  void entriesNotSealedByTheGatesKeyAreRejected() {
    LedgerEntry real = success("migrate", "uid-1", T0, T0);
    Map<String, String> data = new LinkedHashMap<>(LedgerShard.encode(List.of(real), SEAL));
    // A ConfigMap writer forges a success for another Job, and one with a future createdAt that
    // would outrank every real run of its name.
    LedgerEntry forged = success("payments-migrate", "uid-x", T0.plusSeconds(86_400 * 365), T0);
    data.put("payments-migrate", LedgerShard.encodeEntry(forged, null));
    data.put(
        "signed-elsewhere",
        LedgerShard.encodeEntry(success("signed-elsewhere", "u", T0, T0), OTHER_KEY));
    // An edit of a real entry (another uid) breaks its seal.
    data.put(
        "edited",
        LedgerShard.encodeEntry(success("edited", "uid-1", T0, T0), SEAL)
            .replace("uid-1", "uid-2"));
    LedgerShard.Decoded decoded = LedgerShard.decode("shop", data, SEAL);
    assertEquals(Map.of("migrate", real), decoded.entries());
    assertEquals(3, decoded.rejected());
    // The same entry sealed for another namespace does not verify in this one.
    assertEquals(
        Map.of(),
        LedgerShard.decode("bank", LedgerShard.encode(List.of(real), SEAL), SEAL).entries());
  }

  @Test
  void skipsEntriesThatDoNotParse() {
    Map<String, String> data = new LinkedHashMap<>();
    data.put("ok", LedgerShard.encodeEntry(newRun("ok", "u", T0), SEAL));
    data.put("garbage", "not json");
    data.put("partial", "{\"uid\":\"u\"}");
    data.put("bad-time", "{\"uid\":\"u\",\"createdAt\":\"yesterday\",\"recordedAt\":\"now\"}");
    LedgerShard.Decoded decoded = LedgerShard.decode("shop", data, SEAL);
    assertEquals(List.of("ok"), List.copyOf(decoded.entries().keySet()));
    assertEquals(3, decoded.rejected());
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
  void entriesPodsAskAboutOutliveAFloodOfUnrelatedSuccesses() {
    LedgerPolicy policy = new LedgerPolicy(Duration.ofDays(30), 1000);
    Instant now = T0.plus(Duration.ofDays(1));
    Map<String, LedgerEntry> entries = new LinkedHashMap<>();
    // The app's migration: recorded first, then its pods asked about it.
    entries.put(
        "shop-migrate", success("shop-migrate", "uid-app", T0, T0).referenced(T0.plusSeconds(30)));
    // 10,000 batch Jobs of the same namespace succeed afterwards.
    for (int i = 0; i < 10_000; i++) {
      String job = "batch-" + i;
      entries.put(job, success(job, "uid-" + i, T0, T0.plusSeconds(60 + i)));
    }
    Map<String, LedgerEntry> kept = LedgerShard.compact(entries, now, policy);
    assertEquals(1000, kept.size());
    assertTrue(kept.containsKey("shop-migrate"), "the entry pods wait on stays");
    assertTrue(kept.containsKey("batch-9999"), "then the newest unrelated ones");
    assertTrue(!kept.containsKey("batch-0"));
    // A reference also keeps an entry past its recording's retention.
    Instant later = T0.plus(Duration.ofDays(45));
    LedgerEntry askedLately =
        success("shop-migrate", "uid-app", T0, T0).referenced(later.minus(Duration.ofDays(2)));
    assertEquals(
        Map.of("shop-migrate", askedLately),
        LedgerShard.compact(Map.of("shop-migrate", askedLately), later, policy));
  }

  @Test
  void aReferenceCarriesOverToTheNamesNewerRun() {
    LedgerEntry run1 = success("migrate", "uid-1", T0, T0).referenced(T0.plusSeconds(10));
    LedgerEntry run2 = newRun("migrate", "uid-2", T0.plusSeconds(600));
    LedgerEntry kept = LedgerEntry.keep(run1, run2);
    assertEquals("uid-2", kept.uid());
    assertEquals(T0.plusSeconds(10), kept.referencedAt());
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
        LedgerShard.encode(kept.values(), SEAL).entrySet().stream()
            .mapToInt(e -> e.getKey().length() + e.getValue().length())
            .sum();
    assertTrue(bytes <= LedgerShard.MAX_DATA_BYTES, "data bytes " + bytes);
    assertTrue(kept.size() < 2000 && kept.size() > 500, "kept " + kept.size());
    assertTrue(kept.containsKey("job-1999"), "the newest entries stay");
  }
}
