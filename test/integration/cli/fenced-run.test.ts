import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { createOrdersTable, OrdersWorkload } from '../../../cli/demo/workload.ts';
import { createDynamoDb } from '../../../core/aws.ts';
import { readinessWithin, startCommand, writePipelineConfig } from '../../harness/cli.ts';
import { testAws } from '../../harness/connector.ts';
import { uniqueName } from '../../harness/endpoints.ts';

test(
  'a second `shardline connector` with the same connector.name fences the first, which exits saying another instance took over',
  { timeout: 240_000 },
  async () => {
    const dynamodb = createDynamoDb(testAws());
    const table = uniqueName('fencedorders');
    await createOrdersTable(dynamodb, table);
    const prefix = uniqueName('fenced');
    const first = startCommand(writePipelineConfig(table, prefix, 19481), 'connector');
    let second: ReturnType<typeof startCommand> | undefined;
    try {
      assert.ok((await readinessWithin(19481)).ok, 'the first connector became ready');
      second = startCommand(writePipelineConfig(table, prefix, 19482), 'connector');
      assert.ok((await readinessWithin(19482)).ok, 'the second connector became ready');
      // The first finds itself fenced at its next transaction: changes give it one.
      const workload = new OrdersWorkload(dynamodb, table, 7);
      const until = Date.now() + 120_000;
      while (first.child.exitCode === null && Date.now() < until) {
        await workload.step();
        await sleep(200);
      }
      const code = await Promise.race([first.exited, sleep(1_000).then(() => 'still running')]);
      assert.equal(code, 1, first.stderr());
      assert.match(first.stderr(), new RegExp(`another instance with connector\\.name "${prefix}" took over`));
    } finally {
      dynamodb.destroy();
      first.child.kill('SIGKILL');
      second?.child.kill('SIGINT');
      await second?.exited;
    }
  },
);
