import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { uniqueName } from '../../harness/endpoints.ts';

const bin = fileURLToPath(new URL('../../../bin/shardline.js', import.meta.url));
const clickhousePath = mkdtempSync(join(tmpdir(), 'shardline-cli-ch-'));

/** Runs the real command in a child process, with the test stack's endpoints in its environment. */
function shardline(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: {
        ...process.env,
        SHARDLINE_LOG_LEVEL: 'warn',
        SHARDLINE_CONFIG__clickhouse__path: clickhousePath,
        SHARDLINE_CONFIG__http__port: '19464',
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the demo in short mode runs the whole pipeline and checks its rollup against the ground truth', async () => {
  const demo = await shardline(['demo', '--check', '--duration', '8', '--rate', '25']);
  assert.equal(demo.code, 0, demo.stdout + demo.stderr);
  assert.match(demo.stdout, /daily_sales equals the ground truth of the workload \(\d+ rows, \d+ operations\)/);

  // The data stays queryable after the pipeline stopped.
  const query = await shardline(['query', '--json', 'SELECT sum(order_count) AS orders FROM daily_sales']);
  assert.equal(query.code, 0, query.stderr);
  assert.ok(Number((JSON.parse(query.stdout) as { orders: string }[])[0]!.orders) > 0);

  const audit = await shardline(['audit', '--json', 'ORDER#000000']);
  assert.equal(audit.code, 0, audit.stderr);
  const history = JSON.parse(audit.stdout) as { op: string; entity_key: string }[];
  assert.equal(history.at(-1)?.op, 'INSERT');
  assert.ok(history.every((entry) => entry.entity_key === 'PK=S:ORDER#000000|SK=S:ORDER#000000'));

  // The rollups equal the same rollups computed from a scan of the table.
  const reconciled = await shardline(['reconcile', '--json']);
  assert.equal(reconciled.code, 0, reconciled.stdout + reconciled.stderr);
  const report = JSON.parse(reconciled.stdout) as { rollups: number; groups: number; differences: unknown[] };
  assert.equal(report.rollups, 2);
  assert.ok(report.groups > 0);
  assert.deepEqual(report.differences, []);

  const readOnly = await shardline(['query', 'DROP TABLE daily_sales']);
  assert.equal(readOnly.code, 1);
  assert.match(readOnly.stderr, /only queries that read are accepted/);
});

test('status reports shards and groups; schemas check; dead letters list', async () => {
  const status = await shardline(['status', '--json']);
  assert.equal(status.code, 0, status.stderr);
  const report = JSON.parse(status.stdout) as { shards: unknown[]; groups: unknown[]; deadLetters: number };
  assert.ok(Array.isArray(report.shards) && Array.isArray(report.groups));
  const schemas = await shardline(['schemas', 'check']);
  assert.equal(schemas.code, 0, schemas.stdout + schemas.stderr);
  const dlq = await shardline(['dlq', 'list', '--json']);
  assert.equal(dlq.code, 0, dlq.stderr);
  assert.ok(Array.isArray(JSON.parse(dlq.stdout)));
});

test('exit codes a script can rely on: help 0, usage 2, configuration 3', async () => {
  assert.equal((await shardline(['--help'])).code, 0);
  assert.equal((await shardline(['query', '--help'])).code, 0);
  assert.equal((await shardline(['no-such-command'])).code, 2);
  assert.equal((await shardline(['demo', '--rate', 'fast'])).code, 2);
  const bad = await shardline(['status'], { SHARDLINE_CONFIG__connector__gapPolicy: 'ignore' });
  assert.equal(bad.code, 3);
  assert.match(bad.stderr, /connector\.gapPolicy: got "ignore"/);
});

test('a configured table that does not exist stops the connector at start with exit 3, naming the key', async () => {
  const table = uniqueName('missing');
  const config = join(mkdtempSync(join(tmpdir(), 'shardline-cli-config-')), 'shardline.yaml');
  const repoConfig = fileURLToPath(new URL('../../../shardline.yaml', import.meta.url));
  writeFileSync(config, readFileSync(repoConfig, 'utf8').replace('- name: orders', `- name: ${table}`));
  const run = await shardline(['connector', '--config', config]);
  // It said only "Requested resource not found" and exited 1.
  assert.equal(run.code, 3, run.stderr);
  assert.match(run.stderr, new RegExp(`connector\\.tables\\[0\\]\\.name: table ${table} does not exist`));
});
