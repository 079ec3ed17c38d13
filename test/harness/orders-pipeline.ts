import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDb } from '../../core/aws.ts';
import { ensureTopics } from '../../core/topics.ts';
import { Connector, type ConnectorOptions } from '../../connector/connector.ts';
import { OrdersWorkload } from '../../cli/demo/workload.ts';
import { createStreamTable, testAws, testConnectorOptions } from './connector.ts';
import { uniqueName } from './endpoints.ts';
import { randomBetween } from './processes.ts';

export interface OrdersPipeline {
  dynamodb: DynamoDBClient;
  table: string;
  workload: OrdersWorkload;
  prefix: string;
  options: ConnectorOptions;
  /** Where the connector writes the orders' changes. */
  topic: string;
  stop(): Promise<void>;
}

/** A fresh orders table under the shop workload, with a connector writing its changes to Kafka. */
export async function startOrdersPipeline(name: string, seed: number): Promise<OrdersPipeline> {
  const dynamodb = createDynamoDb(testAws());
  const table = await createStreamTable(dynamodb);
  const prefix = uniqueName(name);
  const options = await testConnectorOptions(table, prefix);
  const topic = `${prefix}.${table}.order`;
  await ensureTopics(options.kafka, [topic, options.topics.deadLetter]);
  const connector = new Connector(options);
  const running = connector.start();
  return {
    dynamodb,
    table,
    workload: new OrdersWorkload(dynamodb, table, seed),
    prefix,
    options,
    topic,
    async stop() {
      await connector.stop();
      await running;
      dynamodb.destroy();
    },
  };
}

/** Keeps the workload changing the table until stopped. */
export function writeInBackground(workload: OrdersWorkload): { stop(): Promise<void> } {
  let writing = true;
  const done = (async () => {
    while (writing) {
      await workload.step();
      await sleep(randomBetween(1, 8));
    }
  })();
  return {
    async stop() {
      writing = false;
      await done;
    },
  };
}
