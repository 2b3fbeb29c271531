package io.migrategate.gate.tls;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/** Keeps every TLS log line (for assertions) and echoes it to stderr with the replica's name. */
final class RecordingLog implements TlsEventLog {
  private final String replica;
  private final Queue<String> lines;

  RecordingLog(String replica) {
    this(replica, new ConcurrentLinkedQueue<>());
  }

  private RecordingLog(String replica, Queue<String> lines) {
    this.replica = replica;
    this.lines = lines;
  }

  /** Another replica writing into the same record, to count events across replicas. */
  RecordingLog replica(String name) {
    return new RecordingLog(name, lines);
  }

  @Override
  public void info(String message, Object... keyValues) {
    write(false, message, keyValues);
  }

  @Override
  public void warn(String message, Object... keyValues) {
    write(true, message, keyValues);
  }

  private void write(boolean warn, String message, Object... keyValues) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    TlsEventLog format = TlsEventLog.keyValue(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    Object[] withReplica = new Object[keyValues.length + 2];
    withReplica[0] = "replica";
    withReplica[1] = replica;
    System.arraycopy(keyValues, 0, withReplica, 2, keyValues.length);
    if (warn) {
      format.warn(message, withReplica);
    } else {
      format.info(message, withReplica);
    }
    String line = bytes.toString(StandardCharsets.UTF_8).strip();
    lines.add(line);
    System.err.println(line);
  }

  List<String> lines() {
    return List.copyOf(lines);
  }

  long count(String message) {
    String needle = "msg=\"" + message + "\" ";
    return lines.stream().filter(line -> line.contains(needle)).count();
  }
}
