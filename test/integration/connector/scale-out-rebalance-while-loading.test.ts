import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ensureCheckpointTopic } from '../../../connector/checkpoints.ts';
import { KinesisSource } from '../../../connector/kinesis/kinesis-source.ts';
import { connectorGroupId, ScaledConnector, unitsTopic } from '../../../connector/scale-out/scaled-connector.ts';
import { unitAssigner } from '../../../connector/scale-out/unit-assigner.ts';
import { ensureUnitsTopic } from '../../../connector/scale-out/unit-membership.ts';
import { unitOfShard, unitTransactionalId } from '../../../connector/scale-out/units.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { baseConnectorOptions } from '../../harness/connector.ts';
import { uniqueName } from '../../harness/endpoints.ts';
import { kinesisChangeRecord } from '../../harness/kinesis-records.ts';
import { SimulatedKinesis } from '../../harness/simulated-kinesis.ts';
import { readTopics } from '../../harness/topic-reader.ts';

const UNITS = 2;

/**
 * Found by the SIGKILL test (3 changes missing after a 120 s wait): an instance killed mid-transaction leaves
 * that transaction open until its unit's new owner fences it, and until then no checkpoint load gets past its
 * barrier. A rebalance stopped every unit of an instance before starting the new ones; a unit stopped while it
 * loaded waited for that transaction, so the instance never started the unit whose owner would end it.
 */
test(
  "scaled out: a unit given to an instance starts while another unit of it is still loading behind the dead owner's open transaction",
  { timeout: 120_000 },
  async () => {
    const prefix = uniqueName('loading');
    const base = baseConnectorOptions(prefix);
    const { kafka, name } = base;
    const table = uniqueName('korders');
    const streamName = uniqueName('kds');
    // One shard per unit, each with a change.
    const candidates = Array.from({ length: 50 }, (_, index) => `shardId-${String(index).padStart(12, '0')}`);
    const shards = [0, 1].map((unit) =>
      candidates.find((id) => unitOfShard({ kind: 'KINESIS', streamId: streamName }, id, UNITS) === unit)!,
    );
    const stream = new SimulatedKinesis(
      streamName,
      shards.map((shardId, index) => ({
        shardId,
        parents: [],
        closed: false,
        records: [
          {
            sequenceNumber: String(10n ** 55n + BigInt(index)),
            data: kinesisChangeRecord({
              table,
              eventName: 'INSERT',
              keys: { PK: { S: `ORDER#${index}` }, SK: { S: 'ORDER' } },
              creationTimeMicros: 1_764_000_000_000_000,
              eventId: `e${index}`,
            }),
          },
        ],
      })),
    );
    const topic = `${prefix}.${table}.order`;
    await ensureTopics(kafka, [topic]);
    const admin = kafka.admin();
    await admin.connect();
    await ensureCheckpointTopic(admin, base.topics.checkpoints);
    await admin.disconnect();
    await ensureUnitsTopic(kafka, unitsTopic(name, base.topics.checkpoints), UNITS);

    // The instance about to die: a member of the group, with a transaction open on the checkpoints under each
    // unit's id (the survivor's own unit fences one; the other stays open until that unit's new owner fences it).
    const ghost = kafka.consumer({
      groupId: connectorGroupId(name),
      // It leaves when it disconnects: a long session keeps a loaded machine from evicting it before that.
      sessionTimeout: 30_000,
      partitionAssigners: [unitAssigner('ghost', UNITS)],
    });
    await ghost.connect();
    await ghost.subscribe({ topics: [unitsTopic(name, base.topics.checkpoints)] });
    await ghost.run({ eachBatch: async () => undefined });
    const zombies = await Promise.all(
      [0, 1].map(async (unit) => {
        const producer = kafka.producer({
          transactionalId: unitTransactionalId(name, unit),
          idempotent: true,
          maxInFlightRequests: 1,
        });
        await producer.connect();
        const open = await producer.transaction();
        await open.send({ topic: base.topics.checkpoints, messages: [{ key: 'ghost', value: null }] });
        return producer;
      }),
    );

    const instance = new ScaledConnector({
      ...base,
      sources: [
        new KinesisSource(stream.client(), {
          table,
          streamName,
          region: 'us-east-1',
          entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
        }),
      ],
      scaleOut: { units: UNITS, sessionTimeoutMs: 6_000, instance: 'survivor' },
    });
    const running = instance.start();
    // The survivor's unit loads behind the ghost's open transaction; then the ghost leaves and its unit goes to the survivor.
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    assert.equal(
      (await readTopics(kafka, [topic], () => false, 1_000)).length,
      0,
      'nothing read while the ghost holds its unit',
    );
    await ghost.disconnect();

    const read = await readTopics(kafka, [topic], (messages) => messages.length >= 2, 45_000);
    await instance.stop();
    await running;
    await Promise.all(zombies.map((zombie) => zombie.disconnect().catch(() => undefined)));
    assert.equal(read.length, 2, 'both units read their shard within 45 s');
  },
);
