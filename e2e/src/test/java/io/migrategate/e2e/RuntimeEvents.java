package io.migrategate.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The node's container runtime's own clock for each container: containerd's {@code /tasks/start}
 * and {@code /tasks/exit} events (nanoseconds), from {@code ctr events} on the real node's socket.
 * The pod status's timestamps have whole seconds, too coarse for a process that lives 0.3 s.
 */
final class RuntimeEvents implements AutoCloseable {
  private static final Pattern EVENT =
      Pattern.compile(
          "^(\\S+ \\S+) \\+0000 UTC k8s\\.io /tasks/(start|exit) \\{\"container_id\":\"([0-9a-f]+)\"");

  private final Process ctr;
  private final Map<String, Instant> starts = new ConcurrentHashMap<>();
  private final Map<String, Instant> exits = new ConcurrentHashMap<>();

  RuntimeEvents(Path containerdSocket) {
    try {
      ctr =
          new ProcessBuilder("ctr", "--address", containerdSocket.toString(), "events")
              .redirectErrorStream(true)
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run ctr events (Debian package containerd)", e);
    }
    Thread reader = new Thread(this::read, "ctr-events");
    reader.setDaemon(true);
    reader.start();
  }

  private void read() {
    try (BufferedReader lines =
        new BufferedReader(new InputStreamReader(ctr.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        Matcher m = EVENT.matcher(line);
        if (m.find()) {
          Instant at = Instant.parse(m.group(1).replace(' ', 'T') + "Z");
          (m.group(2).equals("start") ? starts : exits).put(m.group(3), at);
        }
      }
    } catch (IOException e) {
      // ctr ended: no more events
    }
  }

  /** When the runtime started the container's process. */
  Optional<Instant> started(String containerId) {
    return Optional.ofNullable(starts.get(id(containerId)));
  }

  /** When the container's process exited. */
  Optional<Instant> exited(String containerId) {
    return Optional.ofNullable(exits.get(id(containerId)));
  }

  private static String id(String containerId) {
    return containerId.substring(containerId.indexOf("://") + 3);
  }

  @Override
  public void close() {
    ctr.destroy();
  }
}
