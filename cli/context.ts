import { existsSync } from 'node:fs';
import { ConfigError } from '../core/config/load.ts';
import { loadConfig } from './config/load.ts';
import type { ShardlineConfig } from './config/schema.ts';

/** Exit codes a script can rely on. */
export const EXIT = { ok: 0, failure: 1, usage: 2, config: 3, unavailable: 4, mismatch: 5 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** The config file given, else ./shardline.yaml when present, else the environment alone. */
export function configFrom(path: string | undefined): ShardlineConfig {
  const file = path ?? (existsSync('shardline.yaml') ? 'shardline.yaml' : undefined);
  try {
    return loadConfig(file);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, EXIT.config);
    throw error;
  }
}

/** Resolves when the process is asked to stop (Ctrl-C or SIGTERM). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}
