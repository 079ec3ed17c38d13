import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { uniqueName } from '../../harness/endpoints.ts';
import { shardline, startCommand, writePipelineConfig } from '../../harness/cli.ts';

test(
  'a process still starting (its Kafka not answering) is found by status, and query reaches the embedded ClickHouse it holds',
  { timeout: 120_000 },
  async () => {
    const prefix = uniqueName('starting');
    const configPath = writePipelineConfig(uniqueName('startingorders'), prefix, 19473);
    // No broker on this port: the rollups group waits for one, holding the embedded directory meanwhile.
    const env = { SHARDLINE_KAFKA_BROKERS: '127.0.0.1:1' };
    const consumer = startCommand(configPath, 'consumer', env);
    const cli = (args: string[]) => shardline(['-c', configPath, ...args]);
    try {
      let listed: { pid?: number; ready?: boolean } | undefined;
      const by = Date.now() + 60_000;
      while (!listed && Date.now() < by) {
        const status = await cli(['status', '--json']);
        if (status.code === 0)
          listed = (JSON.parse(status.stdout) as { pipelines: { pid?: number; ready?: boolean }[] }).pipelines.find(
            (pipeline) => pipeline.pid === consumer.child.pid,
          );
        if (!listed) await sleep(500);
      }
      assert.equal(listed?.ready, false, `listed as not ready while it waits: ${JSON.stringify(listed)}`);
      const answer = await cli(['query', '--json', 'SELECT 1 AS one']);
      assert.equal(answer.code, 0, answer.stderr);
      assert.deepEqual(JSON.parse(answer.stdout), [{ one: 1 }]);
    } finally {
      consumer.child.kill('SIGKILL');
      await consumer.exited;
    }
  },
);
