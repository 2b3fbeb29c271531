package io.migrategate.gate;

import io.migrategate.core.UsageException;
import io.migrategate.gate.kube.FatalErrors;
import io.migrategate.gate.observability.GateLog;
import io.migrategate.gate.observability.GateLogProvider;
import io.migrategate.gate.status.GateStatus;
import java.io.PrintStream;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import sun.misc.Signal;

/**
 * {@code java -jar migrate-gate-webhook.jar}: parses flags and env, starts the {@link Gate}, and on
 * SIGTERM (or SIGINT) drains it and exits 0. {@code ... uninstall} runs {@link GateUninstall}
 * instead (the chart's pre-delete hook), {@code ... check} {@link GateCheck} (its {@code helm
 * test}), {@code ... status} {@link GateStatus} (the kubectl plugin's view).
 */
public final class GateMain {
  static final int EXIT_STOPPED = 0;
  static final int EXIT_START_FAILED = 1;
  static final int EXIT_USAGE = 64;

  private GateMain() {}

  public static void main(String[] args) {
    // Library logging (Vert.x, fabric8, admission) goes through the gate's own log format.
    System.setProperty("slf4j.provider", GateLogProvider.class.getName());
    System.setProperty("slf4j.internal.verbosity", "WARN");
    // A thread that dies of an OutOfMemoryError ends the process (FatalErrors); others are
    // reported as the JVM reports them.
    Thread.setDefaultUncaughtExceptionHandler(
        (thread, error) -> {
          FatalErrors.exitIfFatal("thread " + thread.getName(), error);
          System.err.print("Exception in thread \"" + thread.getName() + "\" ");
          error.printStackTrace();
        });
    System.exit(run(args, System.getenv(), System.out, System.err, Gate::defaultReviewer));
  }

  static int run(
      String[] args,
      Map<String, String> env,
      PrintStream out,
      PrintStream err,
      ReviewerFactory reviewers) {
    List<String> arguments = Arrays.asList(args);
    if (!arguments.isEmpty() && arguments.get(0).equals(GateUninstall.COMMAND)) {
      return GateUninstall.run(arguments.subList(1, arguments.size()), env, err);
    }
    if (!arguments.isEmpty() && arguments.get(0).equals(GateCheck.COMMAND)) {
      return GateCheck.run(arguments.subList(1, arguments.size()), out, err);
    }
    if (!arguments.isEmpty() && arguments.get(0).equals(GateStatus.COMMAND)) {
      return GateStatus.run(arguments.subList(1, arguments.size()), out, err, Clock.systemUTC());
    }
    if (arguments.contains("--help") || arguments.contains("-h")) {
      out.print(GateConfig.usage());
      return EXIT_STOPPED;
    }
    GateConfig config;
    try {
      config = GateConfig.parse(arguments, env);
    } catch (UsageException e) {
      err.println("migrate-gate: " + e.getMessage());
      return EXIT_USAGE;
    }
    GateLog log = new GateLog(config.logFormat(), err);
    GateLog.useForLibraries(log);
    Gate gate;
    try {
      gate = Gate.start(config, reviewers, log);
    } catch (Gate.StartException e) {
      log.error("start failed", "error", e.getMessage());
      return EXIT_START_FAILED;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runnable drain =
        () -> {
          StopDeadline.arm(
              config.drainDelay().plus(config.shutdownTimeout()).plus(StopDeadline.MARGIN),
              err,
              Runtime.getRuntime()::halt);
          gate.drainAndStop();
          stopped.countDown();
        };
    // A handled SIGTERM lets the drain finish and the process exit 0; a plain shutdown hook
    // would exit 143. The hook stays as the fallback for other ways the JVM is told to stop.
    Runtime.getRuntime().addShutdownHook(new Thread(gate::drainAndStop, "migrate-gate-shutdown"));
    for (String name : List.of("TERM", "INT")) {
      try {
        Signal.handle(
            new Signal(name), signal -> new Thread(drain, "migrate-gate-sig" + name).start());
      } catch (IllegalArgumentException e) {
        log.warn("cannot handle signal, relying on the shutdown hook", "signal", name);
      }
    }
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return EXIT_STOPPED;
  }
}
