package io.migrategate.gate.observability;

import io.migrategate.gate.GateMain;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Locale;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.helpers.NOPMDCAdapter;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * Routes SLF4J (Vert.x, fabric8, the admission package) into the gate's own log so that every line
 * has the same format, text or JSON. Thresholds: {@code io.migrategate} at info (state
 * transitions), fabric8 at error (its informers log a stack trace on every retry; the gate reports
 * the API state itself), everything else at warn. Selected by the {@code slf4j.provider} system
 * property that {@link GateMain} sets.
 */
public final class GateLogProvider implements SLF4JServiceProvider {
  private final ILoggerFactory loggers = BridgeLogger::new;
  private final IMarkerFactory markers = new BasicMarkerFactory();
  private final MDCAdapter mdc = new NOPMDCAdapter();

  @Override
  public ILoggerFactory getLoggerFactory() {
    return loggers;
  }

  @Override
  public IMarkerFactory getMarkerFactory() {
    return markers;
  }

  @Override
  public MDCAdapter getMDCAdapter() {
    return mdc;
  }

  @Override
  public String getRequestedApiVersion() {
    return "2.0.99";
  }

  @Override
  public void initialize() {}

  static Level threshold(String loggerName) {
    if (loggerName.startsWith("io.migrategate")) {
      return Level.INFO;
    }
    if (loggerName.startsWith("io.fabric8")) {
      return Level.ERROR;
    }
    return Level.WARN;
  }

  /** One named logger writing through {@link GateLog#libraries()}. */
  static final class BridgeLogger extends LegacyAbstractLogger {
    private static final long serialVersionUID = 1L;
    private final int threshold;
    private final String shortName;

    BridgeLogger(String name) {
      this.name = name;
      this.threshold = threshold(name).toInt();
      this.shortName = name.substring(name.lastIndexOf('.') + 1);
    }

    @Override
    public boolean isTraceEnabled() {
      return Level.TRACE.toInt() >= threshold;
    }

    @Override
    public boolean isDebugEnabled() {
      return Level.DEBUG.toInt() >= threshold;
    }

    @Override
    public boolean isInfoEnabled() {
      return Level.INFO.toInt() >= threshold;
    }

    @Override
    public boolean isWarnEnabled() {
      return Level.WARN.toInt() >= threshold;
    }

    @Override
    public boolean isErrorEnabled() {
      return Level.ERROR.toInt() >= threshold;
    }

    @Override
    protected String getFullyQualifiedCallerName() {
      return null;
    }

    @Override
    protected void handleNormalizedLoggingCall(
        Level level, Marker marker, String pattern, Object[] arguments, Throwable throwable) {
      String message = MessageFormatter.basicArrayFormat(pattern, arguments);
      String levelName = level.name().toLowerCase(Locale.ROOT);
      if (throwable == null) {
        GateLog.libraries().write(levelName, message, "logger", shortName);
      } else if (level == Level.ERROR) {
        // An error is a bug to find: keep where it came from.
        StringWriter stack = new StringWriter();
        throwable.printStackTrace(new PrintWriter(stack));
        GateLog.libraries()
            .write(levelName, message, "logger", shortName, "error", throwable, "stack", stack);
      } else {
        GateLog.libraries().write(levelName, message, "logger", shortName, "error", throwable);
      }
    }
  }
}
