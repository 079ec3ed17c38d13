import { setTimeout as sleep } from 'node:timers/promises';
import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { OrdersWorkload } from '../../cli/demo/workload.ts';
import { canonicalKey, type DynamoImage } from '../../schemas/change-event.ts';

/** The item's canonical key (as the Kafka key, document id and cache key carry it) from an item or a key. */
const canonicalKeyOf = (item: Record<string, unknown>): string => {
  const { PK, SK } = item as DynamoImage;
  return canonicalKey({ PK: PK!, SK: SK! });
};

/** An order no rollup can hold and no search mapping accepts: its total is not a number. */
export interface PoisonOrder {
  key: string;
  fields: { category: string; status: string; total: string; user_id: string };
}

/**
 * The shop workload at a steady rate, plus poison orders at chosen moments. It records what it wrote
 * itself: per item, how many writes succeeded (each is one stream change: moto emits a record for every
 * put, update and delete, also an update that sets the value the item already has — checked), and the
 * poison items. The ground truth is computed from this record and the workload's model, never from a sink.
 */
export class ChaosWorkload {
  readonly orders: OrdersWorkload;
  /** Successful writes per item (canonical key). */
  readonly changesByItem = new Map<string, number>();
  readonly poison: PoisonOrder[] = [];
  private running = false;
  /** Why the workload stopped on its own (the emulator failed a write); the run cannot be judged then. */
  failure: unknown;
  private loop: Promise<void> | undefined;

  constructor(private readonly dynamodb: DynamoDBClient, table: string, seed: number) {
    // The workload writes through a client that counts each write that succeeded, by item.
    const counting = {
      send: async (command: { input: { Item?: Record<string, unknown>; Key?: Record<string, unknown> } }) => {
        const result = await dynamodb.send(command as never);
        const key = command.input.Key ?? command.input.Item;
        if (key) this.count(canonicalKeyOf(key));
        return result;
      },
    } as unknown as DynamoDBClient;
    this.orders = new OrdersWorkload(counting, table, seed);
  }

  private count(key: string): void {
    this.changesByItem.set(key, (this.changesByItem.get(key) ?? 0) + 1);
  }

  get changes(): number {
    let total = 0;
    for (const count of this.changesByItem.values()) total += count;
    return total;
  }

  /** Writes `perSecond` operations a second, on a fixed timetable (a slow write does not lower the rate for long). */
  start(perSecond: number): void {
    this.running = true;
    const started = performance.now();
    this.loop = (async () => {
      for (let step = 0; this.running; step++) {
        const due = started + (step * 1000) / perSecond;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        await this.orders.step();
      }
    })().catch((error: unknown) => {
      this.failure = error;
    });
  }

  /** Stops writing; rejects when a write failed, since its outcome (and so the ground truth) is unknown. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    if (this.failure !== undefined) throw new Error(`the workload failed a write to the emulator: ${(this.failure as Error).message}`, { cause: this.failure });
  }

  async injectPoison(): Promise<PoisonOrder> {
    const id = `poison-${this.poison.length + 1}`;
    const fields = { category: 'books', status: 'new', total: 'ten euros', user_id: 'USER#poison' };
    const Item = {
      PK: { S: `ORDER#${id}` }, SK: { S: `ORDER#${id}` },
      category: { S: fields.category }, status: { S: fields.status }, total: { S: fields.total }, user_id: { S: fields.user_id },
      created_at: { S: '2026-11-02T10:00:00.000Z' },
    };
    await this.dynamodb.send(new PutItemCommand({ TableName: this.orders.table, Item }));
    const poison = { key: canonicalKeyOf(Item), fields };
    this.count(poison.key);
    this.poison.push(poison);
    return poison;
  }
}
