import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root: every stack path hangs off it, wherever the command is run from. */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Git-ignored state of the local stack: downloaded runtimes, data, pid and log files. */
export const stackHome = process.env.SHARDLINE_STACK_HOME ?? join(repoRoot, '.stack');

export const serviceDir = (service: string): string => join(stackHome, service);
