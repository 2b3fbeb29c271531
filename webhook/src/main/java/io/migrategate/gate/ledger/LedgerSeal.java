package io.migrategate.gate.ledger;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seals ledger entries: an HMAC-SHA256 over every field of an entry, with a key only the gate can
 * read ({@link LedgerKey}). Anyone who may write ConfigMaps in the gate's namespace could otherwise
 * write a success for any Job of any namespace into a shard and let pods start before their
 * migration; an entry whose seal does not verify is ignored (and written away).
 */
public final class LedgerSeal {
  private static final String ALGORITHM = "HmacSHA256";

  /** Bumped when the sealed fields change: an old seal then no longer verifies. */
  private static final String VERSION = "v1";

  private final SecretKeySpec key;

  private LedgerSeal(byte[] key) {
    if (key.length < 32) {
      throw new IllegalArgumentException("a ledger key has at least 32 bytes, got " + key.length);
    }
    this.key = new SecretKeySpec(key.clone(), ALGORITHM);
  }

  public static LedgerSeal of(byte[] key) {
    return new LedgerSeal(Objects.requireNonNull(key, "key"));
  }

  /** The entry's seal, URL-safe base64. */
  public String seal(LedgerEntry entry) {
    return sealOf(canonical(entry));
  }

  /** Whether {@code seal} is this key's seal of exactly this entry (constant time). */
  public boolean verifies(LedgerEntry entry, String seal) {
    return verifies(canonical(entry), seal);
  }

  /** The seal of a canonical text (each sealed kind puts its own tag first). */
  String sealOf(String canonical) {
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(key);
      return Base64.getUrlEncoder()
          .withoutPadding()
          .encodeToString(mac.doFinal(canonical.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }

  boolean verifies(String canonical, String seal) {
    if (seal == null) {
      return false;
    }
    return MessageDigest.isEqual(
        sealOf(canonical).getBytes(StandardCharsets.US_ASCII),
        seal.getBytes(StandardCharsets.US_ASCII));
  }

  /** Every field, in a fixed order, newline-separated (no field may hold a newline in meaning). */
  private static String canonical(LedgerEntry entry) {
    return String.join(
        "\n",
        VERSION,
        entry.namespace(),
        entry.job(),
        entry.uid(),
        nullToEmpty(entry.revision()),
        entry.createdAt().toString(),
        entry.succeededAt() == null ? "" : entry.succeededAt().toString(),
        entry.recordedAt().toString(),
        entry.referencedAt() == null ? "" : entry.referencedAt().toString(),
        entry.doubtedAt() == null ? "" : entry.doubtedAt().toString());
  }

  private static String nullToEmpty(String value) {
    return value == null ? "" : value;
  }
}
