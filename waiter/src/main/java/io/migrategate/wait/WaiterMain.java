package io.migrategate.wait;

import io.migrategate.core.UsageException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The {@code migrate-wait} init container: waits for the migration Job(s), then exits with the code
 * of {@link ExitCode}. Exits through {@link System#exit} as soon as the outcome is known, without
 * waiting for HTTP client threads.
 */
public final class WaiterMain {

  private WaiterMain() {}

  public static void main(String[] args) {
    List<String> arguments = Arrays.asList(args);
    int code;
    if (arguments.contains(CdsTraining.FLAG)) {
      code = CdsTraining.run();
    } else {
      code = run(arguments, System.getenv(), System.out, System.err);
    }
    System.out.flush();
    System.exit(code);
  }

  /**
   * Runs the waiter and returns the process exit code; never throws. Public for the gate's contract
   * tests, which run the real waiter against the real wait API in one JVM.
   */
  public static int run(
      List<String> args, Map<String, String> env, PrintStream out, PrintStream err) {
    return run(args, env, out, err, ApiAccess.SERVICE_ACCOUNT_DIR);
  }

  /** {@link #run(List, Map, PrintStream, PrintStream)} with the in-cluster files elsewhere. */
  static int run(
      List<String> args,
      Map<String, String> env,
      PrintStream out,
      PrintStream err,
      Path serviceAccountDir) {
    if (WaiterConfig.wantsHelp(args)) {
      out.println(WaiterConfig.USAGE);
      return ExitCode.SUCCEEDED.code();
    }
    WaiterConfig config;
    try {
      config = WaiterConfig.parse(args, env);
    } catch (UsageException e) {
      err.println("migrate-gate-waiter: " + e.getMessage());
      err.println("Run with --help for the flags.");
      Exit exit = Exit.of(ExitCode.USAGE, "usage error: " + e.getMessage());
      writeTerminationLog(terminationLogOf(args, env), exit, err);
      return exit.code().code();
    }
    Exit exit =
        waitFor(
            config,
            env,
            serviceAccountDir,
            new WaitLog(config.logFormat(), out, Clock.systemUTC()));
    if (exit.code() != ExitCode.SUCCEEDED) {
      writeTerminationLog(config.terminationLog(), exit, err);
    }
    return exit.code().code();
  }

  private static Exit waitFor(
      WaiterConfig config, Map<String, String> env, Path serviceAccountDir, WaitLog log) {
    JobSource source;
    try {
      source =
          config.gate().isPresent()
              ? GateJobSource.create(config.gate().get(), config.revision())
              : new KubernetesJobSource(
                  new KubeApi(ApiAccess.resolve(config.kubeconfig(), env, serviceAccountDir)));
    } catch (ApiAccess.AccessException e) {
      log.error(null, "config_error", e.getMessage());
      return Exit.of(ExitCode.USAGE, e.getMessage());
    } catch (RuntimeException e) {
      // e.g. the token file vanished between the check and the read
      String reason = "cannot set up access to the API server: " + e;
      log.error(null, "config_error", reason);
      return Exit.of(ExitCode.USAGE, reason);
    }
    try {
      return new Waiter(config, source, log, System::nanoTime).await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Exit.of(ExitCode.INTERNAL_ERROR, "interrupted while waiting");
    } catch (RuntimeException e) {
      String reason = "internal error: " + e;
      log.error(null, "internal_error", reason);
      return Exit.of(ExitCode.INTERNAL_ERROR, reason);
    } finally {
      // Does not wait for anything: it cuts the connections, so that no thread is left in a
      // native read, which would hold up the JVM's exit by 300 ms.
      source.close();
    }
  }

  /**
   * Writes the reason where the kubelet picks it up as the container's termination message. The
   * default path is only written when it exists (the kubelet creates it), so running the jar
   * outside a pod leaves /dev alone.
   */
  static void writeTerminationLog(Path path, Exit exit, PrintStream err) {
    if (path.equals(WaiterConfig.DEFAULT_TERMINATION_LOG) && !Files.exists(path)) {
      return;
    }
    try {
      Files.writeString(
          path,
          exit.oneLine() + "\n",
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.TRUNCATE_EXISTING,
          StandardOpenOption.WRITE);
    } catch (IOException | RuntimeException e) {
      err.println("migrate-gate-waiter: cannot write the termination log " + path + ": " + e);
    }
  }

  /** The termination log path even when the rest of the arguments is unusable. */
  private static Path terminationLogOf(List<String> args, Map<String, String> env) {
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (arg.startsWith("--termination-log=")) {
        return Path.of(arg.substring("--termination-log=".length()));
      }
      if (arg.equals("--termination-log") && i + 1 < args.size()) {
        return Path.of(args.get(i + 1));
      }
    }
    String fromEnv = env.get("MIGRATE_GATE_TERMINATION_LOG");
    return fromEnv == null || fromEnv.isBlank()
        ? WaiterConfig.DEFAULT_TERMINATION_LOG
        : Path.of(fromEnv.trim());
  }
}
