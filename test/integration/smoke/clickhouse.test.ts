import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connectClickHouse } from '../../../consumers/clickhouse/client.ts';

test('embedded ClickHouse: create, insert, select, and exact Decimal arithmetic', async () => {
  const path = mkdtempSync(join(tmpdir(), 'shardline-ch-'));
  const clickhouse = await connectClickHouse({ kind: 'embedded', path });
  try {
    await clickhouse.command({
      query: 'CREATE TABLE sales (id String, total Decimal(38, 2)) ENGINE = MergeTree ORDER BY id',
    });
    // 0.1 + 0.2 and sums past 2^53 are where binary floating point goes wrong.
    await clickhouse.insert({
      table: 'sales',
      format: 'JSONEachRow',
      values: [
        { id: 'a', total: '0.10' },
        { id: 'b', total: '0.20' },
        { id: 'c', total: '90071992547409.93' },
        { id: 'd', total: '90071992547409.93' },
      ],
    });
    const result = await clickhouse.query({
      query: "SELECT count() AS orders, sum(total) AS revenue, sumIf(total, id IN ('a', 'b')) AS small FROM sales",
      format: 'JSONEachRow',
    });
    assert.deepEqual(await result.json(), [{ orders: '4', revenue: '180143985094820.16', small: '0.30' }]);
  } finally {
    await clickhouse.close();
    rmSync(path, { recursive: true, force: true });
  }
});
