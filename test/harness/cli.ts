import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { testEndpoints } from './endpoints.ts';
import { testConfigInput } from './pipeline-config.ts';

/** The `shardline` command as users run it. */
export const shardlineBin = fileURLToPath(new URL('../../bin/shardline.js', import.meta.url));

/**
 * A config file of its own for one pipeline over one orders table: every name (topics, groups, indices,
 * keys, the audit table) unique to `prefix`, embedded ClickHouse in a fresh directory. `consumers`
 * replaces single groups' settings (e.g. `{ search: { enabled: false } }`).
 */
export function writePipelineConfig(
  table: string,
  prefix: string,
  port: number,
  consumers: Record<string, Record<string, unknown>> = {},
): string {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-pipeline-'));
  const endpoints = testEndpoints();
  const base = testConfigInput(prefix);
  const config = {
    ...base,
    clickhouse: endpoints.clickhouseUrl ? { url: endpoints.clickhouseUrl } : { path: join(dir, 'clickhouse') },
    http: { port },
    connector: {
      ...base.connector,
      tables: [{ name: table, entities: ['order'] }],
      polling: { idleMinMs: 50, idleMaxMs: 200 },
    },
    consumers: {
      rollups: { groupId: `${prefix}-rollups` },
      audit: { groupId: `${prefix}-audit`, table: `audit_${prefix.replaceAll('-', '_')}` },
      search: {
        groupId: `${prefix}-search`,
        url: endpoints.opensearchUrl,
        indexPrefix: prefix,
        replicas: 0,
        documents: { order: { text: ['category', 'status'] } },
      },
      cache: { groupId: `${prefix}-cache`, url: endpoints.redisUrl, keyPrefix: prefix, ttlSeconds: 3600 },
      ...consumers,
    },
  };
  const path = join(dir, 'shardline.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

/** Runs a shardline command to its end. */
export function shardline(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [shardlineBin, ...args], {
      env: { ...process.env, SHARDLINE_LOG_LEVEL: 'warn', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A long-running shardline command (run, connector, consumer) as a process of its own; its stderr shown and kept. */
export function startCommand(configPath: string, command: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [shardlineBin, '-c', configPath, command], {
    env: { ...process.env, SHARDLINE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    process.stderr.write(chunk);
  });
  return { child, exited: new Promise<number | null>((resolve) => child.once('exit', resolve)), stderr: () => stderr };
}

/** Polls a running command's `/ready` until it answers 200 or `withinMs` pass; its last answer. */
export async function readinessWithin(port: number, withinMs = 90_000): Promise<{ ok: boolean; text: string }> {
  const until = Date.now() + withinMs;
  for (;;) {
    const response = await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined);
    const answer = { ok: response?.ok ?? false, text: (await response?.text()) ?? '' };
    if (answer.ok || Date.now() >= until) return answer;
    await sleep(300);
  }
}
