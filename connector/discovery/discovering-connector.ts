import { describeError } from '../../core/errors.ts';
import type { PartHealth } from '../../core/health.ts';
import { logger } from '../../core/logger.ts';
import { failureSignal, type Part } from '../../core/part.ts';
import type { ShardSource } from '../shards/source.ts';
import type { PeriodicDiscovery } from './periodic.ts';

/** What discovery needs of a connector, scaled out or not: to run, and to take new sources while it runs. */
export interface GrowingConnector extends Part {
  addSources(sources: ShardSource[]): void;
}

/**
 * A connector whose tables are also found by discovery: the first round runs before the connector starts
 * (so the tables found then are read from the first round on), later ones while it runs. A discovery that
 * cannot succeed (refused credentials) stops the connector with its cause. It starts and stops as every
 * part does (core/part.ts).
 */
export class DiscoveringConnector implements Part {
  private fatal: Error | undefined;
  private readonly fail: (error: Error) => void;
  readonly failed: Promise<never>;

  constructor(
    private readonly connector: GrowingConnector,
    private readonly discovery: PeriodicDiscovery,
  ) {
    ({ failed: this.failed, fail: this.fail } = failureSignal());
  }

  async start(): Promise<void> {
    await this.discovery.start();
    this.discovery.failed.catch(async (error: unknown) => {
      this.fatal = error as Error;
      this.fail(this.fatal);
      // The discovery's failure ends the process: the stop's own failure is only logged.
      await this.connector.stop().catch((stopError: unknown) => {
        logger.warn({ err: stopError }, 'the connector did not stop cleanly after the discovery failed');
      });
    });
    this.connector.failed.catch((error: unknown) => this.fail(error as Error));
    await Promise.race([this.connector.start(), this.failed]);
  }

  async stop(): Promise<void> {
    await this.discovery.stop();
    await this.connector.stop();
  }

  health(): PartHealth {
    const health = this.connector.health();
    return this.fatal ? { part: health.part, ready: false, detail: describeError(this.fatal) } : health;
  }
}
