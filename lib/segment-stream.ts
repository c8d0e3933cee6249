// The async iterator behind model.transcribeStream(): segments are queued as
// the native run reports them (its onSegment path) and handed to next() in
// order. The run starts at once (the samples are copied then, as by
// transcribe()); segments wait in the queue until asked for. return() (a
// `break` out of for-await) aborts it and resolves only once the native side has stopped;
// an error of the run rejects the pending or next next(), after which the
// stream is done.
import type { Segment } from './options.js';

/** Starts the run: resolves when it has finished (all segments delivered), rejects with its error. */
export type StartRun = (
  signal: AbortSignal,
  onSegment: (segment: Segment) => void,
) => Promise<void>;

interface Waiter {
  resolve: (result: IteratorResult<Segment, undefined>) => void;
  reject: (error: unknown) => void;
}

const DONE: IteratorResult<Segment, undefined> = Object.freeze({ done: true, value: undefined });

export class SegmentStream implements AsyncIterableIterator<Segment, undefined> {
  readonly #start: StartRun;
  readonly #signal: AbortSignal | undefined;
  readonly #controller = new AbortController();
  readonly #queue: Segment[] = [];
  readonly #waiters: Waiter[] = [];
  #run: Promise<void> | undefined;
  #finished = false; // the run ended, or the consumer stopped: nothing more will be queued
  #error: { error: unknown } | undefined; // to report once, then the stream is done

  constructor(start: StartRun, signal: AbortSignal | undefined) {
    this.#start = start;
    this.#signal = signal;
    this.#startOnce();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Segment, undefined>> {
    const segment = this.#queue.shift();
    if (segment !== undefined) return Promise.resolve({ done: false, value: segment });
    if (this.#error) {
      const { error } = this.#error;
      this.#error = undefined;
      return Promise.reject(error);
    }
    if (this.#finished) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Stops early: cancels the native run and waits until it has stopped. */
  async return(): Promise<IteratorResult<Segment, undefined>> {
    const run = this.#run;
    this.#stop();
    if (run) {
      this.#controller.abort();
      await run.catch(() => undefined);
    }
    return DONE;
  }

  #startOnce(): void {
    if (this.#run || this.#finished) return;
    const signal = this.#signal;
    if (signal?.aborted) {
      this.#fail(signal.reason);
      return;
    }
    // The run sees one signal: the caller's abort and return() both raise it.
    const forward = () => this.#controller.abort(signal!.reason);
    signal?.addEventListener('abort', forward, { once: true });
    let run: Promise<void>;
    try {
      run = this.#start(this.#controller.signal, (segment) => this.#push(segment));
    } catch (error) {
      signal?.removeEventListener('abort', forward);
      this.#fail(error);
      return;
    }
    this.#run = run.then(
      () => this.#end(),
      (error: unknown) => this.#fail(error),
    );
    void this.#run.finally(() => signal?.removeEventListener('abort', forward));
  }

  #push(segment: Segment): void {
    if (this.#finished) return;
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve({ done: false, value: segment });
    else this.#queue.push(segment);
  }

  // The run failed: the first waiting next() rejects (or the next one to come).
  #fail(error: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    const waiter = this.#waiters.shift();
    if (waiter) waiter.reject(error);
    else this.#error = { error };
    for (const w of this.#waiters.splice(0)) w.resolve(DONE);
  }

  // The run finished: what is queued is still delivered, then done.
  #end(): void {
    this.#finished = true;
    for (const w of this.#waiters.splice(0)) w.resolve(DONE);
  }

  // The consumer stopped: nothing more is delivered.
  #stop(): void {
    this.#finished = true;
    this.#queue.length = 0;
    this.#error = undefined; // an unreported failure is moot once the consumer has left
    for (const w of this.#waiters.splice(0)) w.resolve(DONE);
  }
}
