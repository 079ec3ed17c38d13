import { backoffDelay, type Backoff } from '../../core/backoff.ts';
import type { Logger } from '../../core/logger.ts';
import { discoveryFailure } from './errors.ts';

export interface PeriodicOptions {
  /** Wait between rounds that succeeded. */
  intervalMs: number;
  /** Wait after a round that failed and may succeed later (throttled, unavailable). */
  backoff: Backoff;
  logger: Logger;
  /** One discovery round. */
  round: () => Promise<void>;
}

/**
 * Runs a discovery round now and every interval until stopped. A round that fails for a reason that may
 * pass is run again after a backoff; one that cannot succeed ends the runner, and `failed` rejects with it.
 */
export class PeriodicDiscovery {
  private timer: NodeJS.Timeout | undefined;
  private inProgress: Promise<void> = Promise.resolve();
  private stopped = false;
  private failures = 0;
  private rejectFailed: (error: Error) => void = () => undefined;
  /** Rejects when a round fails for good; never resolves. */
  readonly failed = new Promise<never>((_resolve, reject) => {
    this.rejectFailed = reject;
  });

  constructor(private readonly options: PeriodicOptions) {
    this.failed.catch(() => undefined);
  }

  /** Runs the first round (waiting it out, retries included), then schedules the next ones. */
  async start(): Promise<void> {
    await this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inProgress;
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      this.inProgress = this.options.round();
      try {
        await this.inProgress;
        this.failures = 0;
        this.schedule(this.options.intervalMs);
        return;
      } catch (error) {
        const failure = discoveryFailure(error);
        if (failure.kind === 'fatal') {
          this.options.logger.error({ err: failure.error }, 'table discovery stopped');
          this.rejectFailed(failure.error);
          return;
        }
        const wait = Math.max(1, backoffDelay(this.options.backoff, this.failures++));
        this.options.logger.warn({ err: error, attempt: this.failures }, 'table discovery failed; retrying');
        // The first round is waited for by start(); later ones retry on the timer.
        if (this.timer === undefined) await new Promise((resolve) => setTimeout(resolve, wait));
        else return this.schedule(wait);
      } finally {
        this.inProgress = Promise.resolve();
      }
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.run(), delayMs);
    this.timer.unref();
  }
}
