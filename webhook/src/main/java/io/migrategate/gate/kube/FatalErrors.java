package io.migrategate.gate.kube;

import io.fabric8.kubernetes.client.informers.ExceptionHandler;
import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Errors after which the gate must not go on: an {@link OutOfMemoryError} (or any {@link
 * VirtualMachineError}) leaves caches half-filled and threads dead, and a gate that keeps its port
 * but no longer tracks Jobs is worse than one the kubelet restarts. Informers report such errors to
 * their exception handler, which would retry them forever (issue 13: a tracker OOM logged as {@code
 * state=retrying}, a shutdown thread dying the same way and the process never exiting), so every
 * handler and the default uncaught-exception handler end the process here, at once, with one line
 * that says why.
 */
public final class FatalErrors {
  /** The process's exit code after a fatal error (EX_SOFTWARE). */
  public static final int EXIT_FATAL = 70;

  private FatalErrors() {}

  /** Whether {@code error} or one of its causes is a {@link VirtualMachineError}. */
  public static boolean isFatal(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof VirtualMachineError) {
        return true;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return false;
  }

  /** Ends the process if {@code error} is fatal; returns otherwise. */
  public static void exitIfFatal(String where, Throwable error) {
    if (isFatal(error)) {
      exit(where, error, System.err);
    }
  }

  /** What {@link #exitIfFatal} writes before the process ends. */
  static String line(String where, Throwable error) {
    return "migrate-gate: fatal error in "
        + where
        + ": "
        + error
        + "; exiting (code "
        + EXIT_FATAL
        + ") so that the kubelet restarts the gate"
        + (error instanceof OutOfMemoryError || error.getCause() instanceof OutOfMemoryError
            ? " (raise the memory limit: docs/install.md, the Deployment)"
            : "");
  }

  /**
   * An informer's exception handler: a fatal error ends the process ({@link #exitIfFatal}); any
   * other is retried, and reported once per run of failures — {@code firstFailure} is called when
   * {@code failing} turns true (its owner sets it false again once the informer has synced).
   */
  public static ExceptionHandler retryOthers(
      String where, AtomicBoolean failing, Consumer<Throwable> firstFailure) {
    return (started, error) -> {
      exitIfFatal(where, error);
      if (failing.compareAndSet(false, true)) {
        firstFailure.accept(error);
      }
      return true;
    };
  }

  private static void exit(String where, Throwable error, PrintStream err) {
    // No logging framework, no allocation beyond the line: the heap may be full.
    try {
      err.println(line(where, error));
      err.flush();
    } finally {
      // halt, not exit: shutdown hooks (the drain) could hit the same error and hang.
      Runtime.getRuntime().halt(EXIT_FATAL);
    }
  }
}
