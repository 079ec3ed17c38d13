import { DeleteItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutRecordCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { OrdersWorkload, seededRandom } from '../../cli/demo/workload.ts';
import type { DynamoImage } from '../../schemas/change-event.ts';
import { kinesisChangeRecord } from '../harness/kinesis-records.ts';
import { canonicalKeyOf, SteadyLoop } from './workload.ts';

/** An order no rollup can hold and no search mapping accepts: its total is not a number. */
export interface PoisonOrder {
  key: string;
  fields: { category: string; status: string; total: string; user_id: string };
}

/** One change of the table as the stream carries it. */
interface StreamedChange {
  key: string;
  eventId: string;
  creationMs: number;
  data: Buffer;
}

const STATUSES = ['new', 'paid', 'shipped', 'delivered'];
/** Share of the records that are delivered a second time, a few records later. */
const COPY_RATE = 0.1;
/** Share of neighbouring records with different creation times that arrive in each other's place. */
const SWAP_RATE = 0.15;
/** Share of the changes followed at once by one or two more of the same item in the same millisecond. */
const BURST_RATE = 0.25;

/**
 * The shop workload on the Kinesis table. Each write goes to the moto table, and the workload streams it
 * into Kinesis itself, in the Kinesis Data Streams for DynamoDB format (moto does not stream a table into
 * Kinesis), as that service delivers: creation times in milliseconds, several changes of one item sharing
 * one (a burst of writes), about 10% of the records delivered twice, and neighbouring records swapped
 * where their creation times differ (a tie cannot be ordered by anyone: its sequence numbers order it).
 * Its ground truth: the workload's model (the newest change per item in the order the workload made
 * them) and the event ids of the distinct changes, per item.
 */
export class KinesisWorkload {
  readonly orders: OrdersWorkload;
  /** The distinct changes per item (canonical key): their event ids, in the order they were made. */
  readonly changesByItem = new Map<string, string[]>();
  readonly poison: PoisonOrder[] = [];
  /** Records put again later, records put in their neighbour's place, changes sharing their item's previous creation time. */
  readonly delivery = { copies: 0, swaps: 0, shared_creation_times: 0 };
  private readonly random: () => number;
  private readonly loop = new SteadyLoop(() => this.step());
  /** The table's items as the workload wrote them: the old images of the next changes. */
  private readonly images = new Map<string, DynamoImage>();
  /** Creation time of the last change, in ms: it only grows, and a burst keeps it. */
  private clock = 0;
  private sharing = false;
  private changeCount = 0;
  /** The order the last write changed (its PK without ORDER#). */
  private lastOrderId: string | undefined;
  /** The last record, held back so the next one may take its place. */
  private held: { change: StreamedChange; swapped: boolean } | undefined;
  /** Copies waiting to be put again: after this many more puts. */
  private copies: { after: number; change: StreamedChange }[] = [];

  constructor(private readonly dynamodb: DynamoDBClient, private readonly kinesis: KinesisClient, readonly table: string, private readonly streamName: string, seed: number) {
    this.random = seededRandom(seed);
    const streaming = { send: (command: PutItemCommand | UpdateItemCommand | DeleteItemCommand) => this.write(command) } as unknown as DynamoDBClient;
    this.orders = new OrdersWorkload(streaming, table, seed);
  }

  get changes(): number {
    let total = 0;
    for (const ids of this.changesByItem.values()) total += ids.length;
    return total;
  }

  get failure(): unknown {
    return this.loop.failure;
  }

  start(perSecond: number): void {
    this.loop.start(perSecond);
  }

  /** Stops writing, then delivers what is held back and the copies still due. */
  async stop(): Promise<void> {
    await this.loop.stop();
    if (this.held) await this.put(this.held.change);
    this.held = undefined;
    for (const { change } of this.copies.splice(0)) await this.kinesis.send(this.putRecord(change));
  }

  async injectPoison(): Promise<PoisonOrder> {
    const id = `poison-${this.poison.length + 1}`;
    const fields = { category: 'books', status: 'new', total: 'ten euros', user_id: 'USER#poison' };
    const Item = {
      PK: { S: `ORDER#${id}` }, SK: { S: `ORDER#${id}` },
      category: { S: fields.category }, status: { S: fields.status }, total: { S: fields.total }, user_id: { S: fields.user_id },
      created_at: { S: '2026-11-02T10:00:00.000Z' },
    };
    await this.write(new PutItemCommand({ TableName: this.table, Item }));
    const poison = { key: canonicalKeyOf(Item), fields };
    this.poison.push(poison);
    return poison;
  }

  /** One operation of the shop, sometimes followed by status changes of the same order in the same millisecond. */
  private async step(): Promise<void> {
    this.lastOrderId = undefined;
    await this.orders.step();
    if (this.lastOrderId === undefined || this.random() >= BURST_RATE) return;
    // Not after a delete: the order is gone from the model then.
    const order = this.orders.orders.get(this.lastOrderId);
    if (!order) return;
    this.sharing = true;
    try {
      for (let extra = 1 + Math.floor(this.random() * 2); extra > 0; extra--) {
        order.status = STATUSES[Math.floor(this.random() * STATUSES.length)]!;
        await this.write(new UpdateItemCommand({
          TableName: this.table, Key: { PK: { S: `ORDER#${order.id}` }, SK: { S: `ORDER#${order.id}` } },
          UpdateExpression: 'SET #f = :v', ExpressionAttributeNames: { '#f': 'status' }, ExpressionAttributeValues: { ':v': { S: order.status } },
        }));
        this.delivery.shared_creation_times++;
      }
    } finally {
      this.sharing = false;
    }
  }

  /** Writes to the table, then streams the change. */
  private async write(command: PutItemCommand | UpdateItemCommand | DeleteItemCommand): Promise<unknown> {
    const result = await this.dynamodb.send(command as never);
    const keys = (command instanceof PutItemCommand ? command.input.Item : command.input.Key) as DynamoImage;
    const key = canonicalKeyOf(keys);
    this.lastOrderId = keys.PK!.S!.slice('ORDER#'.length);
    const oldImage = this.images.get(key);
    let newImage: DynamoImage | undefined;
    if (command instanceof PutItemCommand) newImage = command.input.Item as DynamoImage;
    else if (command instanceof UpdateItemCommand) {
      const { ExpressionAttributeNames: names, ExpressionAttributeValues: values } = command.input;
      newImage = { ...(oldImage ?? { PK: keys.PK!, SK: keys.SK! }), [names!['#f']!]: values![':v'] as DynamoImage[string] };
    }
    if (newImage) this.images.set(key, newImage);
    else this.images.delete(key);
    this.clock = this.sharing ? this.clock : Math.max(Date.now(), this.clock + 1);
    const eventId = `${this.table}:${++this.changeCount}`;
    const ids = this.changesByItem.get(key) ?? [];
    ids.push(eventId);
    this.changesByItem.set(key, ids);
    const data = kinesisChangeRecord({
      table: this.table, eventId, precision: 'MILLISECOND', creationTimeMicros: this.clock * 1000,
      eventName: oldImage === undefined ? 'INSERT' : newImage === undefined ? 'REMOVE' : 'MODIFY',
      keys: { PK: keys.PK, SK: keys.SK }, oldImage, newImage,
    });
    await this.deliver({ key, eventId, creationMs: this.clock, data });
    return result;
  }

  /** Puts the held record, or this one in its place (once), and holds the other. */
  private async deliver(change: StreamedChange): Promise<void> {
    const held = this.held;
    this.held = { change, swapped: false };
    if (!held) return;
    if (!held.swapped && held.change.creationMs !== change.creationMs && this.random() < SWAP_RATE) {
      this.delivery.swaps++;
      this.held = { change: held.change, swapped: true };
      await this.put(change);
      return;
    }
    await this.put(held.change);
  }

  private async put(change: StreamedChange): Promise<void> {
    await this.kinesis.send(this.putRecord(change));
    for (const copy of this.copies) copy.after--;
    const due = this.copies.filter((copy) => copy.after <= 0);
    this.copies = this.copies.filter((copy) => copy.after > 0);
    for (const { change: copy } of due) await this.kinesis.send(this.putRecord(copy));
    if (this.random() < COPY_RATE) {
      this.copies.push({ after: 1 + Math.floor(this.random() * 3), change });
      this.delivery.copies++;
    }
  }

  private putRecord(change: StreamedChange): PutRecordCommand {
    return new PutRecordCommand({ StreamName: this.streamName, PartitionKey: change.key, Data: change.data });
  }
}
