import { createKafka } from '../core/kafka.ts';
import { ensureTopics } from '../core/topics.ts';
import { changeMessages } from '../connector/events/routing.ts';
import { installProduceEncoder } from '../connector/kafka-produce-encoder.ts';
import { ChangeEventCodec } from '../schemas/registry.ts';
import type { Endpoints } from '../stack/endpoints.ts';
import { orderEvent } from './orders.ts';

/** Messages a send: about half a megabyte, under the broker's limit per partition batch. */
const SEND = 800;
const IN_FLIGHT = 4;

/**
 * A backlog of `count` order changes in `topic`, encoded and framed as the connector writes them, produced
 * directly (not through the emulator) by a plain producer with several sends in flight: their order
 * does not matter, every change is of another item.
 */
export async function produceBacklog(
  endpoints: Endpoints,
  topic: string,
  count: number,
  partitions: number,
): Promise<void> {
  installProduceEncoder();
  const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'bench-backlog' });
  await ensureTopics(kafka, [topic], partitions);
  const encode = await new ChangeEventCodec({ url: endpoints.registryUrl }).encoder(topic);
  const producer = kafka.producer();
  await producer.connect();
  const sending = new Set<Promise<unknown>>();
  for (let first = 0; first < count; first += SEND) {
    const messages = [];
    for (let index = first; index < Math.min(count, first + SEND); index++) {
      const { key, event } = orderEvent(index);
      messages.push(...changeMessages(event, encode(event), false, key));
    }
    const send = producer.send({ topic, messages, acks: -1 }).finally(() => sending.delete(send));
    sending.add(send);
    if (sending.size >= IN_FLIGHT) await Promise.race(sending);
  }
  await Promise.all(sending);
  await producer.disconnect();
}
