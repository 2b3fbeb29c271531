package io.migrategate.gate.observability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrategate.gate.GateConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

class GateLogTest {
  private static String write(GateConfig.LogFormat format, String message, Object... keyValues) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    new GateLog(format, new PrintStream(bytes, true, StandardCharsets.UTF_8))
        .info(message, keyValues);
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void textLinesAreKeyValueWithQuotedValuesWhereNeeded() {
    String line =
        write(
            GateConfig.LogFormat.TEXT,
            "tls reloaded",
            "serial",
            "ab12",
            "reason",
            "key \"x\"\nmismatch",
            "delay",
            Duration.ofMillis(500));

    assertTrue(line.startsWith("time="), line);
    assertTrue(
        line.contains(
            " level=info msg=\"tls reloaded\" serial=ab12 reason=\"key \\\"x\\\"\\nmismatch\" delay=500ms"),
        line);
    assertEquals(1, line.lines().count());
  }

  @Test
  void jsonLinesParseAndKeepNumbersAsNumbers() throws Exception {
    String line =
        write(
            GateConfig.LogFormat.JSON,
            "started",
            "port",
            8443,
            "ready",
            true,
            "drain_delay",
            Duration.ofSeconds(5),
            "odd",
            "\u0001\t\"");

    JsonNode json = new ObjectMapper().readTree(line);
    assertEquals("started", json.path("msg").asText());
    assertEquals("info", json.path("level").asText());
    assertEquals(8443, json.path("port").asInt());
    assertTrue(json.path("port").isNumber());
    assertTrue(json.path("ready").isBoolean());
    assertEquals("5s", json.path("drain_delay").asText());
    assertEquals("\u0001\t\"", json.path("odd").asText());
  }

  @Test
  void librariesLogStateChangesOnlyFromOurPackages() {
    assertEquals(
        Level.INFO,
        GateLogProvider.threshold("io.migrategate.gate.admission.KubernetesOwnerLookup"));
    assertEquals(
        Level.ERROR,
        GateLogProvider.threshold("io.fabric8.kubernetes.client.informers.impl.cache.Reflector"));
    assertEquals(Level.WARN, GateLogProvider.threshold("io.vertx.core.impl.BlockedThreadChecker"));
    GateLogProvider.BridgeLogger fabric8 =
        new GateLogProvider.BridgeLogger("io.fabric8.x.Reflector");
    assertFalse(fabric8.isWarnEnabled());
    assertTrue(fabric8.isErrorEnabled());
  }
}
