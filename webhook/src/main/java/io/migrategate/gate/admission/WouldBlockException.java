package io.migrategate.gate.admission;

/**
 * A review started on an event loop reached a step that would block (an owner lookup that missed
 * the informer cache and must ask the API server). The caller runs the whole review again on a
 * worker thread. Carries no stack trace: it is control flow, not an error.
 */
public final class WouldBlockException extends RuntimeException {
  public WouldBlockException(String step) {
    super(step, null, false, false);
  }
}
