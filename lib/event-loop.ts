// Long JS-thread work (decoding and resampling a WAV file) runs in slices
// separated by this, so that timers, I/O and the UI of an Electron app keep
// running while it works.

/**
 * Resolves after the event loop has run once (setImmediate: pending timers
 * and I/O callbacks go first). Rejects with signal.reason when the signal has
 * aborted by then.
 */
export async function yieldToEventLoop(signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}
