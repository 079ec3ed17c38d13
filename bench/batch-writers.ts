import {
  BatchWriteItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { canonicalKey } from '../schemas/change-event.ts';

const BATCH = 25;
const CATEGORIES = ['books', 'games', 'garden', 'music', 'toys'];

/** Told each written order's item key (as the sinks store it) and when the BatchWriteItem holding it returned. */
export type OnWritten = (itemKey: string, at: number) => void;

/** What a set of writers wrote, and in how long. */
export interface Written {
  orders: number;
  seconds: number;
}

function orderItem(writer: number, index: number): Record<string, AttributeValue> {
  const id = `${writer}-${String(index).padStart(7, '0')}`;
  return {
    PK: { S: `ORDER#${id}` },
    SK: { S: `ORDER#${id}` },
    user_id: { S: `USER#${index % 500}` },
    category: { S: CATEGORIES[index % CATEGORIES.length]! },
    status: { S: 'new' },
    created_at: { S: `2026-11-${String(1 + (index % 28)).padStart(2, '0')}T10:15:00.000Z` },
    total: { N: `${(index % 9973) + 1}.${String(index % 100).padStart(2, '0')}` },
  };
}

/** One BatchWriteItem, sending again what DynamoDB left unprocessed (its documented contract). */
async function writeBatch(dynamodb: DynamoDBClient, table: string, requests: WriteRequest[]): Promise<void> {
  let pending = requests;
  while (pending.length > 0) {
    const answer = await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
    pending = answer.UnprocessedItems?.[table] ?? [];
  }
}

/**
 * `writers` concurrent writers, each writing `batchesPerWriter` batches of new orders, one every `intervalMs`
 * (staggered between writers); a writer that falls behind writes its next batch at once. `intervalMs` 0: each
 * batch as soon as the last one returned.
 */
async function writeOrders(
  dynamodb: DynamoDBClient,
  table: string,
  schedule: { writers: number; batchesPerWriter: number; intervalMs: number },
  onWritten?: OnWritten,
): Promise<Written> {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: schedule.writers }, async (_, writer) => {
      for (let batch = 0; batch < schedule.batchesPerWriter; batch++) {
        const dueAt = started + (writer / schedule.writers + batch) * schedule.intervalMs;
        const wait = dueAt - performance.now();
        if (wait > 0) await sleep(wait);
        const items = Array.from({ length: BATCH }, (_, offset) => orderItem(writer, batch * BATCH + offset));
        await writeBatch(
          dynamodb,
          table,
          items.map((Item) => ({ PutRequest: { Item } })),
        );
        const at = performance.now();
        if (onWritten) for (const item of items) onWritten(canonicalKey({ PK: item.PK!, SK: item.SK! }), at);
      }
    }),
  );
  return {
    orders: schedule.writers * schedule.batchesPerWriter * BATCH,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * `writers` concurrent writers creating orders with BatchWriteItem at `rate` items a second in total, on a
 * fixed schedule: a writer that falls behind writes its next batch at once, so the achieved rate shows it.
 */
export function writePaced(
  dynamodb: DynamoDBClient,
  table: string,
  options: { rate: number; seconds: number; writers: number; onWritten: OnWritten },
): Promise<Written> {
  return writeOrders(
    dynamodb,
    table,
    {
      writers: options.writers,
      batchesPerWriter: Math.round((options.rate * options.seconds) / BATCH / options.writers),
      intervalMs: (1000 * BATCH * options.writers) / options.rate,
    },
    options.onWritten,
  );
}

/** The same writers creating about `orders` orders (whole batches per writer) as fast as the table takes them. */
export function writeUnpaced(
  dynamodb: DynamoDBClient,
  table: string,
  options: { orders: number; writers: number },
): Promise<Written> {
  return writeOrders(dynamodb, table, {
    writers: options.writers,
    batchesPerWriter: Math.round(options.orders / BATCH / options.writers),
    intervalMs: 0,
  });
}
