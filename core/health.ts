/** What a part of the pipeline says about itself on `/ready` and in `status`. */
export interface PartHealth {
  part: string;
  ready: boolean;
  /** Why it is not ready. */
  detail?: string;
}

/**
 * How long the same work has kept failing. Short outages are normal (a broker restarting, a store
 * failing over); past `stuckAfterMs` the part reports itself not ready and `onStuck` counts it once.
 */
export class FailureStreak {
  private since: number | undefined;
  private lastError = '';
  private reported = false;

  constructor(
    private readonly stuckAfterMs: number,
    private readonly onStuck: () => void = () => {},
  ) {}

  failed(message: string, now = Date.now()): void {
    this.since ??= now;
    this.lastError = message;
    if (!this.reported && now - this.since >= this.stuckAfterMs) {
      this.reported = true;
      this.onStuck();
    }
  }

  succeeded(): void {
    this.since = undefined;
    this.reported = false;
  }

  /** The last error while the work is failing (however briefly), else undefined. */
  currentError(): string | undefined {
    return this.since === undefined ? undefined : this.lastError;
  }

  /** Undefined while healthy; else how long it has failed and the last error. */
  problem(now = Date.now()): string | undefined {
    if (this.since === undefined || now - this.since < this.stuckAfterMs) return undefined;
    return `failing for ${Math.round((now - this.since) / 1000)} s: ${this.lastError}`;
  }
}
