import { describeError } from '../../core/errors.ts';
import type { PartHealth } from '../../core/health.ts';
import type { ShardSource } from '../shards/source.ts';
import type { PeriodicDiscovery } from './periodic.ts';

/** What discovery needs of a connector, scaled out or not: to run, and to take new sources while it runs. */
export interface GrowingConnector {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): PartHealth;
  addSources(sources: ShardSource[]): void;
}

/**
 * A connector whose tables are also found by discovery: the first round runs before the connector starts
 * (so the tables found then are read from the first round on), later ones while it runs. A discovery that
 * cannot succeed (refused credentials) stops the connector with its cause.
 */
export class DiscoveringConnector {
  private fatal: Error | undefined;

  constructor(
    private readonly connector: GrowingConnector,
    private readonly discovery: PeriodicDiscovery,
  ) {}

  async start(): Promise<void> {
    await this.discovery.start();
    const failed = this.discovery.failed.catch(async (error: unknown) => {
      this.fatal = error as Error;
      await this.connector.stop();
      throw error;
    });
    return Promise.race([this.connector.start(), failed]);
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
