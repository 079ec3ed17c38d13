import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDb } from '../../../core/aws.ts';
import { createOrdersTable, OrdersWorkload } from '../../../cli/demo/workload.ts';
import { testAws } from '../../harness/connector.ts';
import { uniqueName } from '../../harness/endpoints.ts';
import { readinessWithin, shardline, startCommand, writePipelineConfig } from '../../harness/cli.ts';
import { cachedItems, expectedOrders, scanTable, searchAll } from '../../harness/stores.ts';

const port = 19471;

/** A fresh orders table and a config file of its own. */
async function orders(name: string) {
  const dynamodb = createDynamoDb(testAws());
  const table = uniqueName(`${name}orders`);
  await createOrdersTable(dynamodb, table);
  const prefix = uniqueName(name);
  return { dynamodb, table, prefix, configPath: writePipelineConfig(table, prefix, port) };
}

async function query(sql: string): Promise<Record<string, string>[]> {
  const response = await fetch(`http://127.0.0.1:${port}/query`, { method: 'POST', body: sql });
  const body = await response.text();
  if (!response.ok) throw new Error(`${response.status}: ${body}`);
  return body
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, string>);
}

test(
  '`shardline run` as a process runs the connector and every enabled group; queries every 100 ms while it writes freeze nothing',
  { timeout: 300_000 },
  async () => {
    const { dynamodb, table, prefix, configPath } = await orders('run');
    const { child, exited } = startCommand(configPath, 'run');
    try {
      // Ready once the connector and all four groups run.
      const readiness = (await readinessWithin(port)).text;
      for (const part of [
        'connector',
        `group ${prefix}-rollups`,
        `group ${prefix}-audit`,
        `group ${prefix}-search`,
        `group ${prefix}-cache`,
      ]) {
        assert.match(readiness, new RegExp(`${part}.*: ready`), readiness);
      }

      const workload = new OrdersWorkload(dynamodb, table, 21);
      let querying = true;
      let queries = 0;
      const reader = (async () => {
        while (querying) {
          await query('SELECT day, category, order_count, revenue FROM daily_sales');
          queries++;
          await sleep(100);
        }
      })();
      for (let step = 0; step < 250; step++) await workload.step();
      // What a user cannot do through the endpoint: change anything, or sneak a second statement in.
      await assert.rejects(query('DROP TABLE daily_sales'), /400: only queries that read are accepted/);
      await assert.rejects(query('SELECT 1; DROP TABLE daily_sales'), /400: not a valid query.*Multi-statements/s);
      await assert.rejects(query('SET readonly = 0'), /400: only queries that read/);

      const expectedSales = workload.expectedDailySales();
      const until = Date.now() + 90_000;
      let sales = await query('SELECT day, category, order_count, revenue FROM daily_sales ORDER BY day, category');
      while (JSON.stringify(sales) !== JSON.stringify(expectedSales) && Date.now() < until) {
        await sleep(500);
        sales = await query('SELECT day, category, order_count, revenue FROM daily_sales ORDER BY day, category');
      }
      querying = false;
      await reader;
      assert.ok(queries >= 5, `queried ${queries} times while writing`);
      assert.deepEqual(sales, expectedSales);
      assert.deepEqual(
        await query('SELECT user_id, order_count, total_spent FROM user_totals ORDER BY user_id'),
        workload.expectedUserTotals(),
      );
      const audited = await query(`SELECT count() AS entries FROM audit_${prefix.replaceAll('-', '_')} FINAL`);
      assert.ok(
        Number(audited[0]!.entries) >= workload.operations,
        `audit entries ${audited[0]!.entries} for ${workload.operations} operations`,
      );

      const expected = expectedOrders(await scanTable(dynamodb, table));
      const searchBy = Date.now() + 30_000;
      let documents = await searchAll(`${prefix}-order`);
      while (documents.size !== expected.size && Date.now() < searchBy) {
        await sleep(500);
        documents = await searchAll(`${prefix}-order`);
      }
      // Documents are identified by table and item key.
      const documentTotals = new Map(
        [...documents].map(([id, document]) => [id.slice(table.length + 1), String(document.total)]),
      );
      assert.deepEqual(documentTotals, new Map([...expected].map(([key, order]) => [key, String(order.total)])));
      const cached = [...(await cachedItems(prefix))].filter(([, fields]) => fields.doc !== undefined);
      assert.equal(cached.length, expected.size);
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, 'a clean stop on SIGTERM');
      dynamodb.destroy();
    }
  },
);

test(
  '`shardline connector` and `shardline consumer` as separate processes with one config; query, audit, status and dlq as commands while they run',
  { timeout: 300_000 },
  async () => {
    const { dynamodb, table, prefix, configPath } = await orders('sep');
    // As a user starts them: one config, the connector first, so it takes the configured port and the
    // consumer, which holds the embedded ClickHouse, serves on another; `query` must still reach it.
    const connector = startCommand(configPath, 'connector');
    const cli = (args: string[]) => shardline(['-c', configPath, ...args]);
    const answering = async (pid: number) =>
      (
        JSON.parse((await cli(['status', '--json'])).stdout) as { pipelines: { pid?: number; ready?: boolean }[] }
      ).pipelines.find((pipeline) => pipeline.pid === pid)?.ready !== undefined;
    const startedBy = Date.now() + 60_000;
    while (!(await answering(connector.child.pid!)) && Date.now() < startedBy) await sleep(500);
    const consumer = startCommand(configPath, 'consumer');
    try {
      const workload = new OrdersWorkload(dynamodb, table, 33);
      for (let step = 0; step < 150; step++) await workload.step();
      // An order no rollup can hold: dead-lettered by the groups that read totals, with the reason.
      await dynamodb.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            PK: { S: 'ORDER#bad' },
            SK: { S: 'ORDER#bad' },
            total: { S: 'ten euros' },
            created_at: { S: '2026-11-02T10:00:00Z' },
          },
        }),
      );
      const expected = workload.expectedDailySales();
      const until = Date.now() + 120_000;
      let sales: unknown = undefined;
      while (Date.now() < until) {
        const result = await cli([
          'query',
          '--json',
          'SELECT day, category, order_count, revenue FROM daily_sales ORDER BY day, category',
        ]);
        if (result.code === 0) sales = JSON.parse(result.stdout);
        if (JSON.stringify(sales) === JSON.stringify(expected)) break;
        await sleep(1_000);
      }
      assert.deepEqual(sales, expected);

      const audit = await cli(['audit', '--json', 'ORDER#000001']);
      assert.equal(audit.code, 0, audit.stderr);
      const history = JSON.parse(audit.stdout) as { op: string }[];
      assert.ok(history.length > 0 && history.at(-1)!.op === 'INSERT', audit.stdout);

      const status = await cli(['status', '--json']);
      assert.equal(status.code, 0, status.stderr);
      const report = JSON.parse(status.stdout) as {
        shards: unknown[];
        groups: { group: string }[];
        pipelines: { pid?: number; http?: string; ready?: boolean }[];
      };
      assert.ok(report.shards.length > 0, status.stdout);
      const ports = [connector, consumer].map(({ child }) =>
        report.pipelines.find((pipeline) => pipeline.pid === child.pid),
      );
      assert.ok(
        ports.every((pipeline) => pipeline?.ready === true),
        `both processes answer status: ${JSON.stringify(ports)}`,
      );
      assert.notEqual(ports[0]!.http, ports[1]!.http);

      // A second process cannot open the embedded directory: it says which process holds it, and what to do.
      const second = await cli(['consumer', 'audit']);
      assert.equal(second.code, 1, second.stderr);
      assert.match(
        second.stderr,
        new RegExp(
          `held by \`shardline consumer\` \\(pid ${consumer.child.pid}\\).*shardline consumer rollups audit.*clickhouse\\.url`,
        ),
      );
      assert.deepEqual(
        [...new Set(report.groups.map((group) => group.group))].sort(),
        ['audit', 'cache', 'rollups', 'search'].map((name) => `${prefix}-${name}`),
      );

      let letters: { reason: string }[] = [];
      const lettersBy = Date.now() + 30_000;
      while (letters.length < 3 && Date.now() < lettersBy) {
        const list = await cli(['dlq', 'list', '--json']);
        assert.equal(list.code, 0, list.stderr);
        letters = JSON.parse(list.stdout) as { reason: string }[];
        await sleep(500);
      }
      // One from the rollups (for both rollups) and one from search; the audit and the cache keep the item as it is.
      assert.ok(letters.length >= 2 && letters.every((letter) => /total/.test(letter.reason)), JSON.stringify(letters));
      const replay = await cli(['dlq', 'replay', '--json']);
      assert.equal(replay.code, 0, replay.stdout + replay.stderr);
      assert.equal((JSON.parse(replay.stdout) as { replayed: number }).replayed, letters.length);
    } finally {
      connector.child.kill('SIGTERM');
      consumer.child.kill('SIGTERM');
      assert.equal(await connector.exited, 0, 'the connector stops cleanly on SIGTERM');
      assert.equal(await consumer.exited, 0, 'the consumer stops cleanly on SIGTERM');
      dynamodb.destroy();
    }
  },
);
