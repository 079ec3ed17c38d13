import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { OrdersWorkload } from '../../cli/demo/workload.ts';
import { canonicalKey, type DynamoImage } from '../../schemas/change-event.ts';

/** The item's canonical key (as the Kafka key, document id and cache key carry it) from an item or a key. */
export const canonicalKeyOf = (item: Record<string, unknown>): string => {
  const { PK, SK } = item as DynamoImage;
  return canonicalKey({ PK: PK!, SK: SK! });
};

/**
 * Runs `step` `perSecond` times a second on a fixed timetable (a slow step does not lower the rate for
 * long), until stopped. A step that fails stops the loop: its outcome, and so the ground truth, is unknown.
 */
export class SteadyLoop {
  private running = false;
  private loop: Promise<void> | undefined;
  /** Why the loop stopped on its own (the emulator failed a write); the run cannot be judged then. */
  failure: unknown;

  constructor(private readonly step: () => Promise<void>) {}

  start(perSecond: number): void {
    this.running = true;
    const started = performance.now();
    this.loop = (async () => {
      for (let step = 0; this.running; step++) {
        const due = started + (step * 1000) / perSecond;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        await this.step();
      }
    })().catch((error: unknown) => {
      this.failure = error;
    });
  }

  /** Stops stepping; rejects when a step failed. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    if (this.failure !== undefined) throw new Error(`the workload failed a write to the emulator: ${(this.failure as Error).message}`, { cause: this.failure });
  }
}

/**
 * The shop workload on the DynamoDB Streams table, at a steady rate. It records what it wrote itself:
 * per item, how many writes succeeded (each is one stream change: moto emits a record for every put,
 * update and delete, also an update that sets the value the item already has — checked). The ground
 * truth is computed from this record and the workload's model, never from a sink.
 */
export class ChaosWorkload {
  readonly orders: OrdersWorkload;
  /** Successful writes per item (canonical key). */
  readonly changesByItem = new Map<string, number>();
  private readonly loop = new SteadyLoop(() => this.orders.step());

  constructor(dynamodb: DynamoDBClient, table: string, seed: number) {
    // The workload writes through a client that counts each write that succeeded, by item.
    const counting = {
      send: async (command: { input: { Item?: Record<string, unknown>; Key?: Record<string, unknown> } }) => {
        const result = await dynamodb.send(command as never);
        const key = command.input.Key ?? command.input.Item;
        if (key) this.changesByItem.set(canonicalKeyOf(key), (this.changesByItem.get(canonicalKeyOf(key)) ?? 0) + 1);
        return result;
      },
    } as unknown as DynamoDBClient;
    this.orders = new OrdersWorkload(counting, table, seed);
  }

  get changes(): number {
    let total = 0;
    for (const count of this.changesByItem.values()) total += count;
    return total;
  }

  get failure(): unknown {
    return this.loop.failure;
  }

  start(perSecond: number): void {
    this.loop.start(perSecond);
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
