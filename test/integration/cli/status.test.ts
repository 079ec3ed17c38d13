import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createDynamoDb } from '../../../core/aws.ts';
import { createOrdersTable, OrdersWorkload } from '../../../cli/demo/workload.ts';
import { testAws } from '../../harness/connector.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { readinessWithin, shardline, startCommand, writePipelineConfig } from '../../harness/cli.ts';

const port = 19475;
// The process registry of this test alone, so processes of other runs on the machine do not show up.
const runDir = mkdtempSync(join(tmpdir(), 'shardline-status-run-'));

/** A pipeline under names no configuration file on the machine uses, as the demo runs. */
const writeConfig = (table: string, prefix: string): string =>
  writePipelineConfig(table, prefix, port, { search: { enabled: false }, cache: { enabled: false } });
const run = (args: string[]) => shardline(args, { SHARDLINE_RUN_DIR: runDir });

interface Report {
  deadLetters: number;
  pipelines?: {
    command?: string;
    pid?: number;
    ready?: boolean;
    parts: { part: string; ready: boolean }[];
    shards: unknown[];
    groups: { group: string; lag: number }[];
    deadLetters: number;
  }[];
}

test(
  'status finds a running pipeline under names of its own (as the demo runs), counts dead letters record by record, and forgets it once it stops',
  { timeout: 240_000 },
  async () => {
    const dynamodb = createDynamoDb(testAws());
    const table = uniqueName('statusorders');
    await createOrdersTable(dynamodb, table);
    const prefix = uniqueName('status');
    const configPath = writeConfig(table, prefix);
    // A dead letter written in a transaction, as the groups write them: two offsets (the record and the commit marker), one letter.
    const kafka = new Kafka({
      clientId: 'status-test',
      brokers: testEndpoints().kafkaBrokers,
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({
      transactionalId: `${prefix}-dlq-writer`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const transaction = await producer.transaction();
    await transaction.send({
      topic: `${prefix}.dlq`,
      messages: [{ key: 'k', value: '{}', headers: { shardline_dlq_stage: 'test', shardline_dlq_reason: 'test' } }],
    });
    await transaction.commit();
    await producer.disconnect();

    const { child } = startCommand(configPath, 'run', { SHARDLINE_RUN_DIR: runDir });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await readinessWithin(port);
      const workload = new OrdersWorkload(dynamodb, table, 5);
      for (let step = 0; step < 30; step++) await workload.step();

      // Without -c: the default configuration knows none of these names; the running process is found anyway.
      const found = await run(['status', '--json']);
      assert.equal(found.code, 0, found.stderr);
      const report = JSON.parse(found.stdout) as Report;
      const pipeline = report.pipelines?.find((candidate) => candidate.pid === child.pid);
      assert.ok(pipeline, `the running process is listed: ${found.stdout}`);
      assert.equal(pipeline.command, 'run');
      assert.equal(pipeline.ready, true, found.stdout);
      assert.deepEqual(pipeline.groups.map((group) => group.group).sort(), [`${prefix}-audit`, `${prefix}-rollups`]);
      assert.deepEqual(pipeline.parts.map((part) => part.part).sort(), [
        `connector ${prefix}`,
        `group ${prefix}-audit`,
        `group ${prefix}-rollups`,
      ]);
      assert.ok(pipeline.shards.length > 0, found.stdout);
      assert.equal(pipeline.deadLetters, 1);

      // What alerts and the dashboard read: readiness per part and the end-to-end delay of applied changes.
      const applied = new RegExp(
        `^shardline_consumer_end_to_end_seconds_count\\{group="${prefix}-rollups"\\} [1-9]`,
        'm',
      );
      let metrics = '';
      for (const until = Date.now() + 30_000; !applied.test(metrics) && Date.now() < until; await sleep(500))
        metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, applied);
      assert.match(metrics, new RegExp(`^shardline_ready\\{part="group ${prefix}-rollups"\\} 1$`, 'm'));

      const text = await run(['status']);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`run \\(pid ${child.pid},.*\\): ready`));
      assert.match(text.stdout, new RegExp(`${prefix}-rollups +\\d+ +\\d+ +ready`));
      assert.match(text.stdout, /dead letters: 1 /);

      // With its configuration, the top-level count is exact too (offsets would say 2).
      const configured = await run(['-c', configPath, 'status', '--json']);
      assert.equal(configured.code, 0, configured.stderr);
      assert.equal((JSON.parse(configured.stdout) as Report).deadLetters, 1);
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      dynamodb.destroy();
    }
    // A stopped process removes its entry: status no longer lists it.
    assert.deepEqual(readdirSync(runDir), []);
    const after = JSON.parse((await run(['status', '--json'])).stdout) as Report;
    assert.ok(!after.pipelines?.some((candidate) => candidate.pid === child.pid));
    assert.ok(existsSync(runDir));
  },
);
