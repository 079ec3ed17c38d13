import net from 'node:net';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';
import { testEndpoints } from './endpoints.ts';

/** Kafka API keys of Produce and of EndTxn, the request that commits or aborts a transaction. */
const PRODUCE = 0;
const END_TXN = 26;

export type EndTxnFault = 'none' | 'lose-response' | 'drop-request';
/** Or every Produce request is held: it never reaches the broker, and no answer comes (a broker that does not answer). */
export type KafkaFault = EndTxnFault | 'hold-produce';

/**
 * A KafkaJS client whose connections to the real broker can be made to fail the way a network or a
 * broker restart fails a commit: `lose-response` lets EndTxn reach the broker and cuts the connection
 * before the answer (the commit happens, the client cannot know), `drop-request` cuts it before the
 * request leaves (the transaction stays open until the producer's successor fences it).
 */
export function faultyKafka(clientId: string): { kafka: Kafka; fault: { mode: KafkaFault; hits: number } } {
  const fault = { mode: 'none' as KafkaFault, hits: 0 };
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect);
    const write = socket.write.bind(socket) as (chunk: Buffer, ...rest: unknown[]) => boolean;
    socket.write = ((chunk: Buffer, ...rest: unknown[]) => {
      const apiKey = Buffer.isBuffer(chunk) && chunk.length >= 6 ? chunk.readInt16BE(4) : undefined;
      if (fault.mode === 'hold-produce' && apiKey === PRODUCE) {
        fault.hits++;
        return true;
      }
      if (apiKey !== END_TXN || fault.mode === 'none' || fault.mode === 'hold-produce') return write(chunk, ...rest);
      fault.hits++;
      const reset = () =>
        socket.destroy(Object.assign(new Error('read ECONNRESET (injected)'), { code: 'ECONNRESET' }));
      if (fault.mode === 'drop-request') {
        reset();
        return false;
      }
      // The request goes out; the answer is never read (the connection stops reading, then is reset).
      const written = write(chunk, ...rest);
      socket.pause();
      setTimeout(reset, 100);
      return written;
    }) as typeof socket.write;
    return socket;
  };
  return {
    kafka: new Kafka({
      clientId,
      brokers: testEndpoints().kafkaBrokers,
      socketFactory,
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 100 },
      // A held request fails this soon, so a round given up at a stop ends before the test does.
      requestTimeout: 5_000,
    }),
    fault,
  };
}

/** The same client with every consumer connecting `delayMs` late: a slow checkpoint read. */
export function slowConsumersKafka(kafka: Kafka, delayMs: number): Kafka {
  return new Proxy(kafka, {
    get(target, property, receiver) {
      if (property !== 'consumer') return Reflect.get(target, property, receiver);
      return (...args: Parameters<Kafka['consumer']>) => {
        const consumer = target.consumer(...args);
        const connect = consumer.connect.bind(consumer);
        consumer.connect = async () => {
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          await connect();
        };
        return consumer;
      };
    },
  });
}
