import type { PartHealth } from './health.ts';

/**
 * A long-running part of the pipeline: the connector (one instance, or one instance of a scaled-out
 * connector) and each consumer group. Every part is started, watched and stopped the same way:
 * - `start()` resolves once the part runs (the connector has fenced older instances and loaded its
 *   checkpoints; a scaled-out instance has joined its group; a consumer group has opened its sink and
 *   joined). Services that do not answer yet are waited for meanwhile. It rejects with the error that
 *   stops the part before it runs, and resolves when `stop()` comes first.
 * - `failed` rejects with the error that stops the part on its own, before it runs or later; it never
 *   resolves. Whoever runs the part races it (with a signal, with the other parts).
 * - `stop()` resolves once the part has stopped, its work in progress finished (a connector waits for its round
 *   at most its stop timeout).
 */
export interface Part {
  start(): Promise<void>;
  readonly failed: Promise<never>;
  stop(): Promise<void>;
  health(): PartHealth;
}

/** A part's `failed` and the function that rejects it (the first error counts, as a promise settles once). */
export function failureSignal(): { failed: Promise<never>; fail: (error: Error) => void } {
  let fail: (error: Error) => void = () => undefined;
  const failed = new Promise<never>((_resolve, reject) => {
    fail = reject;
  });
  // A rejection nobody awaits must not end the process by itself: the part's health says it too.
  failed.catch(() => undefined);
  return { failed, fail };
}
