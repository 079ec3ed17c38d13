import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Connector } from '../../../connector/connector.ts';
import { KinesisSource } from '../../../connector/kinesis/kinesis-source.ts';
import { ScaledConnector } from '../../../connector/scale-out/scaled-connector.ts';
import { isFenced } from '../../../core/errors.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { baseConnectorOptions } from '../../harness/connector.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { kinesisChangeRecord } from '../../harness/kinesis-records.ts';
import { SimulatedKinesis } from '../../harness/simulated-kinesis.ts';
import { readTopics } from '../../harness/topic-reader.ts';

/**
 * Scale-out configured while an instance of the same name still runs unscaled: their transactional ids
 * differ, so nothing fenced the old instance, and both read every shard.
 */
test(
  'a scaled-out instance fences a running instance of the same name that is not scaled out: every change once',
  { timeout: 120_000 },
  async (t) => {
    const prefix = uniqueName('single');
    const base = baseConnectorOptions(prefix);
    const table = uniqueName('korders');
    const streamName = uniqueName('kds');
    const shard = {
      shardId: 'shardId-000000000000',
      parents: [],
      closed: false,
      records: [] as { sequenceNumber: string; data: Buffer }[],
    };
    const stream = new SimulatedKinesis(streamName, [shard]);
    let next = 0;
    const write = (count: number) => {
      for (let index = 0; index < count; index++, next++) {
        const keys = { PK: { S: `ORDER#${next % 5}` }, SK: { S: 'ORDER' } };
        shard.records.push({
          sequenceNumber: String(10n ** 55n + BigInt(next)),
          data: kinesisChangeRecord({
            table,
            eventName: 'MODIFY',
            keys,
            newImage: keys,
            creationTimeMicros: 1_764_000_000_000_000 + next,
            eventId: `change-${next}`,
          }),
        });
      }
    };
    const source = () =>
      new KinesisSource(stream.client(), {
        table,
        streamName,
        region: 'us-east-1',
        entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
      });
    const topic = `${prefix}.${table}.order`;
    await ensureTopics(base.kafka, [topic]);

    write(20);
    const single = new Connector({ ...base, sources: [source()] });
    const singleRunning = single
      .start()
      .then(() => single.failed)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    await readTopics(base.kafka, [topic], (messages) => messages.length >= 20, 30_000);
    const scaled = new ScaledConnector({
      ...base,
      sources: [source()],
      scaleOut: { units: 2, sessionTimeoutMs: 6_000, instance: 'scaled' },
    });
    const scaledRunning = scaled.start();
    // Also when an assertion fails: an instance left running keeps the test process alive.
    t.after(() => Promise.all([scaled.stop(), single.stop()]).catch(() => undefined));
    // Changes keep coming: the unscaled instance meets its fencing at its next transaction.
    for (let batch = 0; batch < 10; batch++) {
      write(5);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const stopped = await Promise.race([
      singleRunning,
      new Promise((resolve) => setTimeout(() => resolve('still running'), 20_000)),
    ]);
    assert.ok(isFenced(stopped), `the unscaled instance stopped, fenced: ${String(stopped)}`);

    const read = await readTopics(base.kafka, [topic], (messages) => messages.length > next, 15_000);
    await scaled.stop();
    await scaledRunning;
    const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
    const ids = await Promise.all(read.map(async ({ message }) => (await codec.decode(message.value!)).eventId));
    assert.equal(new Set(ids).size, ids.length, 'no change twice');
    assert.equal(ids.length, next, 'every change');
  },
);
