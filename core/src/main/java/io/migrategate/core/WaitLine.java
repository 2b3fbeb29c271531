package io.migrategate.core;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.Map;

/**
 * One line of the wait API's NDJSON stream ({@code GET /wait/v1/...}), and its error body: the wire
 * format of the gate and the waiter, written once. The gate {@link #encode}s, the waiter {@link
 * #decode}s; fields are written in the order shown in docs/gate-wait-api.md.
 *
 * <p>Decoding is lenient the way a client of a newer server must be: an unknown {@code type}
 * becomes {@link Other}, an unknown phase a {@link Job} without a {@link Job#verdict}.
 */
public sealed interface WaitLine {

  /**
   * What the gate knows about one Job.
   *
   * @param source where the answer comes from ({@code tracker}, {@code ledger}, ...)
   * @param uid the judged run's uid, or null
   * @param phase a {@link JobVerdict.Phase} name, or null when not found
   * @param line the human summary the waiter logs
   */
  record Job(
      String job,
      boolean found,
      String source,
      String uid,
      String phase,
      String reason,
      String message,
      String line)
      implements WaitLine {

    /** The line of a Job the gate judged (or did not find: {@code verdict} null). */
    public static Job of(
        String job, boolean found, String source, String uid, JobVerdict verdict, String line) {
      return new Job(
          job,
          found,
          source,
          uid,
          verdict == null ? null : verdict.phase().name(),
          verdict == null ? null : verdict.reason(),
          verdict == null ? null : verdict.message(),
          line);
    }

    /** The verdict, or null when not found or judged with a phase this build does not know. */
    public JobVerdict verdict() {
      if (!found || phase == null) {
        return null;
      }
      JobVerdict.Phase known;
      try {
        known = JobVerdict.Phase.valueOf(phase);
      } catch (IllegalArgumentException newerGate) {
        return null;
      }
      return new JobVerdict(
          known, line == null ? phase.toLowerCase(Locale.ROOT) : line, reason, message);
    }
  }

  /** The stream's last line: every Job succeeded, or one decided the pod's fate. */
  record Verdict(String outcome, String job, String line) implements WaitLine {}

  /** Something the waiter should log (syncing, confirming, reauthenticate, stopping). */
  record Notice(String event, String message) implements WaitLine {}

  /** Keeps an idle stream's connection visibly alive. */
  record Heartbeat() implements WaitLine {}

  /** The body of a non-200 answer. */
  record Error(int code, String reason, String message) implements WaitLine {}

  /** A line type this build does not know (a newer gate): ignored. */
  record Other(String type) implements WaitLine {}

  JsonFactory FACTORY = new JsonFactory();

  /** The line as one JSON object, without the newline. */
  static String encode(WaitLine line) {
    StringWriter out = new StringWriter(128);
    try (JsonGenerator json = FACTORY.createGenerator(out)) {
      json.writeStartObject();
      // Java 17: no pattern switch; the sealed interface keeps this list complete.
      if (line instanceof Job j) {
        json.writeStringField("type", "job");
        json.writeStringField("job", j.job());
        json.writeBooleanField("found", j.found());
        json.writeStringField("source", j.source());
        optional(json, "uid", j.uid());
        optional(json, "phase", j.phase());
        optional(json, "reason", j.reason());
        optional(json, "message", j.message());
        json.writeStringField("line", j.line());
      } else if (line instanceof Verdict v) {
        json.writeStringField("type", "verdict");
        json.writeStringField("outcome", v.outcome());
        optional(json, "job", v.job());
        json.writeStringField("line", v.line());
      } else if (line instanceof Notice n) {
        json.writeStringField("type", "notice");
        json.writeStringField("event", n.event());
        json.writeStringField("message", n.message());
      } else if (line instanceof Error e) {
        json.writeStringField("type", "error");
        json.writeNumberField("code", e.code());
        json.writeStringField("reason", e.reason());
        json.writeStringField("message", e.message());
      } else if (line instanceof Heartbeat) {
        json.writeStringField("type", "heartbeat");
      } else if (line instanceof Other o) {
        json.writeStringField("type", o.type());
      }
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringWriter does not fail
    }
    return out.toString();
  }

  /**
   * Reads one line.
   *
   * @throws IllegalArgumentException when it is not JSON (a proxy's error page); JSON that is not
   *     an object is an {@link Other}
   */
  static WaitLine decode(String text) {
    Map<String, Object> line = Json.object(text);
    String type = String.valueOf(line.get("type"));
    return switch (type) {
      case "job" ->
          new Job(
              Json.text(line, "job"),
              Boolean.TRUE.equals(line.get("found")),
              Json.text(line, "source"),
              Json.text(line, "uid"),
              Json.text(line, "phase"),
              Json.text(line, "reason"),
              Json.text(line, "message"),
              Json.text(line, "line"));
      case "verdict" ->
          new Verdict(Json.text(line, "outcome"), Json.text(line, "job"), Json.text(line, "line"));
      case "notice" -> new Notice(Json.text(line, "event"), Json.text(line, "message"));
      case "heartbeat" -> new Heartbeat();
      case "error" -> {
        Integer code = Json.intValue(line, "code");
        yield new Error(
            code == null ? 0 : code, Json.text(line, "reason"), Json.text(line, "message"));
      }
      default -> new Other(type);
    };
  }

  private static void optional(JsonGenerator json, String field, String value) throws IOException {
    if (value != null) {
      json.writeStringField(field, value);
    }
  }
}
