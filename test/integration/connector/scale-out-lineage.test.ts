import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KinesisSource } from '../../../connector/kinesis/kinesis-source.ts';
import { status } from '../../../cli/commands/status.ts';
import { validateConfig } from '../../../cli/config/load.ts';
import { connectorGroupId, ScaledConnector, unitsTopic } from '../../../connector/scale-out/scaled-connector.ts';
import { unitOwners } from '../../../connector/scale-out/unit-assigner.ts';
import { unitOfShard } from '../../../connector/scale-out/units.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { baseConnectorOptions } from '../../harness/connector.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { kinesisChangeRecord } from '../../harness/kinesis-records.ts';
import { SimulatedKinesis, type SimulatedKinesisShard } from '../../harness/simulated-kinesis.ts';
import { readTopics } from '../../harness/topic-reader.ts';
import { within } from '../../harness/within.ts';

const UNITS = 8;
const PER_SHARD = 100;
/** The parent has many more: read 10 a round, it is still being read when a child that did not wait would start. */
const IN_PARENT = 1_000;

/**
 * A split (parent -> left, right) and a merge (left + right -> merged), every shard of the lineage in a
 * unit of the other instance than its parents' (two instances take the even and the odd units). All
 * records are in the stream before the connectors start, so a child that did not wait for its parent's
 * committed "finished" would write its changes first.
 */
test(
  'scaled out: parents before children across instances, through a split and a merge and a rebalance',
  { timeout: 180_000 },
  async () => {
    const streamName = uniqueName('lineage');
    const table = uniqueName('korders');
    const unitOf = (shardId: string) => unitOfShard({ kind: 'KINESIS', streamId: streamName }, shardId, UNITS);
    const candidates = Array.from({ length: 200 }, (_, index) => `shardId-${String(index).padStart(12, '0')}`);
    const pick = (parity: number, taken: string[]) =>
      candidates.find(
        (id) =>
          unitOf(id) % 2 === parity && !taken.includes(id) && !taken.some((other) => unitOf(other) === unitOf(id)),
      )!;
    const parent = pick(0, []);
    const left = pick(1, [parent]);
    const right = pick(1, [parent, left]);
    const merged = pick(0, [parent, left, right]);

    let sequence = 10n ** 55n;
    const perItem = new Map<string, number>();
    const records = (items: string[], count = PER_SHARD): SimulatedKinesisShard['records'] =>
      Array.from({ length: count }, (_, index) => {
        const item = items[index % items.length]!;
        const n = (perItem.get(item) ?? 0) + 1;
        perItem.set(item, n);
        const keys = { PK: { S: item }, SK: { S: 'ORDER' } };
        const data = kinesisChangeRecord({
          table,
          eventName: n === 1 ? 'INSERT' : 'MODIFY',
          keys,
          newImage: { ...keys, n: { N: String(n) } },
          creationTimeMicros: 1_764_000_000_000_000 + Number(sequence % 1_000_000n),
          eventId: `${item}-${n}`,
        });
        return { sequenceNumber: String(sequence++), data };
      });
    const stream = new SimulatedKinesis(streamName, [
      { shardId: parent, parents: [], closed: true, records: records(['ORDER#x', 'ORDER#y'], IN_PARENT) },
      { shardId: left, parents: [parent], closed: true, records: records(['ORDER#x']) },
      { shardId: right, parents: [parent], closed: true, records: records(['ORDER#y']) },
      { shardId: merged, parents: [left, right], closed: false, records: records(['ORDER#x', 'ORDER#y']) },
    ]);
    const total = IN_PARENT + PER_SHARD * 3;

    const prefix = uniqueName('lineage');
    const base = baseConnectorOptions(prefix);
    const topic = `${prefix}.${table}.order`;
    await ensureTopics(base.kafka, [topic]);
    const instance = (name: string) =>
      new ScaledConnector({
        ...base,
        sources: [
          new KinesisSource(stream.client(), {
            table,
            streamName,
            region: 'us-east-1',
            entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
          }),
        ],
        polling: { ...base.polling, recordsPerRead: 10, recordsPerRound: 10, discoveryIntervalMs: 2_000 },
        scaleOut: { units: UNITS, sessionTimeoutMs: 6_000, instance: name },
      });
    const a = instance('a');
    const b = instance('b');
    const running = [a.start(), b.start()];
    // An instance that stops on an error fails the test with it, rather than leaving the reads below to time out.
    const failures = [a.failed, b.failed];
    const step = <T>(promise: Promise<T>, ms: number, what: string) =>
      within(Promise.race([promise, ...failures]), ms, what);
    const early = await step(
      readTopics(base.kafka, [topic], (messages) => messages.length >= IN_PARENT / 4, 60_000),
      65_000,
      'a quarter of the parent read',
    );
    assert.ok(early.length >= IN_PARENT / 4, `a quarter of the parent's changes within 60 s: ${early.length}`);
    // b leaves mid-way and c joins: the units move twice.
    await step(b.stop(), 30_000, 'b stopped');
    const c = instance('c');
    running.push(c.start());
    failures.push(c.failed);

    const all = await step(
      readTopics(base.kafka, [topic], (messages) => messages.length >= total, 60_000),
      65_000,
      'every change read',
    );
    assert.ok(all.length >= total, `every change within 60 s of c joining: ${all.length} of ${total}`);
    const read = await readTopics(base.kafka, [topic], (messages) => messages.length > total, 3_000);

    // status names each shard's unit and the instance the group gave it.
    const groupId = connectorGroupId(base.name);
    const units = unitsTopic(base.name, base.topics.checkpoints);
    const ownersDeadline = Date.now() + 20_000;
    for (;;) {
      const owners = await unitOwners(base.kafka, groupId, units);
      if (owners.length === 2) break;
      assert.ok(Date.now() < ownersDeadline, `the group settles on a and c within 20 s: ${JSON.stringify(owners)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const config = validateConfig({
      kafka: { brokers: testEndpoints().kafkaBrokers },
      registry: { url: testEndpoints().registryUrl },
      connector: {
        name: base.name,
        tables: [{ name: table, source: 'kinesis', kinesisStream: streamName }],
        topics: {
          template: base.topics.template,
          checkpoints: base.topics.checkpoints,
          deadLetter: base.topics.deadLetter,
        },
      },
    });
    const { shards } = (await status(config, [])).pipelines[0]!;
    assert.deepEqual(
      shards.map(({ shard, unit }) => [shard, unit]).sort(),
      [parent, left, right, merged].map((shard) => [shard, unitOf(shard)]).sort(),
    );
    assert.ok(
      shards.every(({ owner }) => owner === 'a' || owner === 'c'),
      JSON.stringify(shards),
    );
    await within(Promise.all([a.stop(), c.stop()]), 30_000, 'a and c stopped');
    await Promise.all(running);

    const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
    const events = await Promise.all(
      read.map(async ({ partition, message }) => ({
        partition,
        offset: BigInt(message.offset),
        event: await codec.decode(message.value!),
      })),
    );
    assert.equal(new Set(events.map(({ event }) => event.eventId)).size, events.length, 'no change twice');
    assert.equal(events.length, total, 'every change');
    const order = new Map<string, number[]>();
    for (const { event } of events.sort((x, y) => x.partition - y.partition || (x.offset < y.offset ? -1 : 1))) {
      order.set(event.keys.PK!.S!, [...(order.get(event.keys.PK!.S!) ?? []), Number(event.after!.n!.N)]);
    }
    for (const [item, numbers] of order) {
      assert.deepEqual(
        numbers,
        Array.from({ length: perItem.get(item)! }, (_, index) => index + 1),
        `${item}: parent's changes, then the child's, then the merged shard's`,
      );
    }
  },
);
