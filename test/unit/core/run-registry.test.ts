import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { registerProcess, runDirectory, runningProcesses } from '../../../core/run-registry.ts';

const entry = {
  command: 'run',
  http: { host: '127.0.0.1', port: 9464 },
  groups: ['g-rollups'],
  topics: ['t.orders.order'],
  deadLetter: 't.dlq',
};

test('a registered process is listed until it unregisters', () => {
  const directory = mkdtempSync(join(tmpdir(), 'shardline-run-'));
  const unregister = registerProcess(entry, directory);
  const [listed] = runningProcesses(directory);
  assert.equal(listed?.pid, process.pid);
  assert.deepEqual(listed?.groups, ['g-rollups']);
  unregister();
  assert.deepEqual(runningProcesses(directory), []);
});

test('entries of processes that died without cleaning up are ignored and removed', () => {
  const directory = mkdtempSync(join(tmpdir(), 'shardline-run-'));
  // A pid that existed and is gone: a child that already exited.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  const stale = join(directory, `${dead}.json`);
  writeFileSync(stale, JSON.stringify({ ...entry, pid: dead, startedAt: new Date().toISOString() }));
  writeFileSync(join(directory, 'notes.txt'), 'not an entry');
  assert.deepEqual(runningProcesses(directory), []);
  assert.equal(existsSync(stale), false);
});

test('the registry lives under SHARDLINE_RUN_DIR, else the per-user runtime directory, else ~/.shardline/run', () => {
  assert.equal(runDirectory({ SHARDLINE_RUN_DIR: '/x', XDG_RUNTIME_DIR: '/run/user/1' }), '/x');
  assert.equal(runDirectory({ XDG_RUNTIME_DIR: '/run/user/1' }), '/run/user/1/shardline');
  assert.match(runDirectory({}), /\.shardline\/run$/);
  assert.deepEqual(runningProcesses('/nonexistent/shardline-run'), []);
});
