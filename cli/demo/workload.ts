import {
  CreateTableCommand,
  DeleteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { formatScaled } from '../../schemas/decimal.ts';

export interface Order {
  id: string;
  userId: string;
  category: string;
  day: string;
  /** Cents, so that the ground truth is exact too. */
  cents: bigint;
  status: string;
}

export interface DailySalesRow {
  day: string;
  category: string;
  order_count: string;
  revenue: string;
}
export interface UserTotalsRow {
  user_id: string;
  order_count: string;
  total_spent: string;
}

const CATEGORIES = ['books', 'games', 'garden', 'music', 'toys'];
const STATUSES = ['new', 'paid', 'shipped', 'delivered'];

/**
 * The single-table design the workload writes: PK and SK strings, a NEW_AND_OLD_IMAGES stream (`stream: false`
 * for a table whose stream is turned on later).
 */
export async function createOrdersTable(
  dynamodb: DynamoDBClient,
  table: string,
  { stream = true }: { stream?: boolean } = {},
): Promise<void> {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'PK', KeyType: 'HASH' },
        { AttributeName: 'SK', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'PK', AttributeType: 'S' },
        { AttributeName: 'SK', AttributeType: 'S' },
      ],
      ...(stream && { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } }),
    }),
  );
}

/** A small seeded generator, so that a run can be repeated. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A realistic shop workload on a single-table design: users and orders created, orders updated
 * (status, category, amount and date changes) and deleted. It keeps its own model of the table, from
 * which the expected rollups are computed independently of the pipeline.
 */
export class OrdersWorkload {
  readonly orders = new Map<string, Order>();
  private nextOrder = 0;
  private readonly random: () => number;
  operations = 0;

  constructor(
    private readonly dynamodb: DynamoDBClient,
    readonly table: string,
    seed = 1,
    private readonly users = 20,
  ) {
    this.random = seededRandom(seed);
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private day(): string {
    return `2026-11-${String(1 + Math.floor(this.random() * 7)).padStart(2, '0')}`;
  }

  private cents(): bigint {
    return BigInt(100 + Math.floor(this.random() * 99_900));
  }

  private key(id: string) {
    return { PK: { S: `ORDER#${id}` }, SK: { S: `ORDER#${id}` } };
  }

  async createOrder(): Promise<Order> {
    const order: Order = {
      id: String(this.nextOrder++).padStart(6, '0'),
      userId: `USER#${Math.floor(this.random() * this.users)}`,
      category: this.pick(CATEGORIES),
      day: this.day(),
      cents: this.cents(),
      status: 'new',
    };
    await this.dynamodb.send(
      new PutItemCommand({
        TableName: this.table,
        Item: {
          ...this.key(order.id),
          user_id: { S: order.userId },
          category: { S: order.category },
          created_at: { S: `${order.day}T${String(Math.floor(this.random() * 24)).padStart(2, '0')}:15:00.000Z` },
          total: { N: formatScaled(order.cents, 2) },
          status: { S: order.status },
          items: { L: [{ M: { sku: { S: `SKU-${order.id}` }, qty: { N: '1' } } }] },
        },
      }),
    );
    this.orders.set(order.id, order);
    return order;
  }

  private async update(order: Order, field: string, value: { S: string } | { N: string }): Promise<void> {
    await this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: this.key(order.id),
        UpdateExpression: 'SET #f = :v',
        ExpressionAttributeNames: { '#f': field },
        ExpressionAttributeValues: { ':v': value },
      }),
    );
  }

  /** One random operation: mostly new orders and updates, some deletes. */
  async step(): Promise<void> {
    this.operations++;
    const live = [...this.orders.values()];
    const roll = this.random();
    if (live.length < 5 || roll < 0.4) {
      await this.createOrder();
      return;
    }
    const order = this.pick(live);
    if (roll < 0.55) {
      order.status = this.pick(STATUSES);
      await this.update(order, 'status', { S: order.status });
    } else if (roll < 0.7) {
      order.category = this.pick(CATEGORIES);
      await this.update(order, 'category', { S: order.category });
    } else if (roll < 0.8) {
      order.cents = this.cents();
      await this.update(order, 'total', { N: formatScaled(order.cents, 2) });
    } else if (roll < 0.88) {
      order.day = this.day();
      await this.update(order, 'created_at', { S: `${order.day}T08:00:00.000Z` });
    } else {
      this.orders.delete(order.id);
      await this.dynamodb.send(new DeleteItemCommand({ TableName: this.table, Key: this.key(order.id) }));
    }
  }

  expectedDailySales(): DailySalesRow[] {
    return aggregate(this.orders.values(), (order) => [order.day, order.category]).map(
      ([[day, category], count, cents]) => ({
        day: day!,
        category: category!,
        order_count: String(count),
        revenue: formatScaled(cents, 2),
      }),
    );
  }

  expectedUserTotals(): UserTotalsRow[] {
    return aggregate(this.orders.values(), (order) => [order.userId]).map(([[userId], count, cents]) => ({
      user_id: userId!,
      order_count: String(count),
      total_spent: formatScaled(cents, 2),
    }));
  }
}

function aggregate(orders: Iterable<Order>, dimensions: (order: Order) => string[]): [string[], number, bigint][] {
  const groups = new Map<string, [string[], number, bigint]>();
  for (const order of orders) {
    const key = dimensions(order);
    const entry = groups.get(key.join('\u0000')) ?? [key, 0, 0n];
    entry[1]++;
    entry[2] += order.cents;
    groups.set(key.join('\u0000'), entry);
  }
  return [...groups.values()].sort((a, b) => a[0].join('\u0000').localeCompare(b[0].join('\u0000')));
}
