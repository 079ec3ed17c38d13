import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AssignerProtocol } from 'kafkajs';
import { validateConfig } from '../../../cli/config/load.ts';
import { unitAssigner } from '../../../connector/scale-out/unit-assigner.ts';
import { unitOfShard, unitTransactionalId } from '../../../connector/scale-out/units.ts';
import { minimalConfig, problemsOf } from '../../harness/config-problems.ts';

const minimal = minimalConfig;

test('scale-out is off unless configured; configured, it gets 16 units and a 30 s session', () => {
  assert.equal(validateConfig(minimal).connector.scaleOut, undefined);
  assert.deepEqual(
    validateConfig({ ...minimal, connector: { ...minimal.connector, scaleOut: {} } }).connector.scaleOut,
    { units: 16, sessionTimeoutMs: 30_000 },
  );
});

test('scale-out settings Kafka or the mapping cannot take are refused with the key named', () => {
  const cases: { scaleOut: unknown; key: string }[] = [
    { scaleOut: { units: 0 }, key: 'connector.scaleOut.units' },
    { scaleOut: { units: 2.5 }, key: 'connector.scaleOut.units' },
    { scaleOut: { sessionTimeoutMs: 1_000 }, key: 'connector.scaleOut.sessionTimeoutMs' },
    { scaleOut: { instances: 3 }, key: 'connector.scaleOut' },
  ];
  for (const { scaleOut, key } of cases) {
    const problems = problemsOf({ ...minimal, connector: { ...minimal.connector, scaleOut } });
    assert.ok(
      problems.some((problem) => problem.startsWith(`${key}:`)),
      `${JSON.stringify(scaleOut)}: ${problems.join('\n')}`,
    );
  }
});

test('a shard maps to the same unit everywhere; a stream spreads over the units; a table scan stays whole', () => {
  const stream = { kind: 'KINESIS' as const, streamId: 'orders-stream' };
  const shards = Array.from({ length: 64 }, (_, index) => `shardId-${String(index).padStart(12, '0')}`);
  const units = shards.map((shard) => unitOfShard(stream, shard, 16));
  assert.deepEqual(
    units,
    shards.map((shard) => unitOfShard({ ...stream }, shard, 16)),
    'stable',
  );
  assert.ok(new Set(units).size >= 12, `64 shards over most of 16 units (${new Set(units).size})`);
  assert.ok(units.every((unit) => unit >= 0 && unit < 16));
  const scan = { kind: 'SNAPSHOT' as const, streamId: 'snapshot:orders' };
  assert.equal(
    new Set(['segment-0', 'segment-1', 'segment-2', 'sweep'].map((segment) => unitOfShard(scan, segment, 16))).size,
    1,
  );
  assert.equal(unitTransactionalId('shardline', 3), 'shardline-connector-shardline-unit-3');
});

test("the assigner deals the units round robin by member id and names each member's instance", async () => {
  const assigner = unitAssigner('host-a:1', 5)({ cluster: {} as never, groupId: 'g', logger: {} as never });
  const metadata = AssignerProtocol.MemberMetadata.decode(assigner.protocol({ topics: ['units'] }).metadata)!;
  assert.equal(metadata.userData.toString(), 'host-a:1');
  const assignment = await assigner.assign({
    members: [
      { memberId: 'm-2', memberMetadata: Buffer.alloc(0) },
      { memberId: 'm-1', memberMetadata: Buffer.alloc(0) },
    ],
    topics: ['units'],
  });
  const units = Object.fromEntries(
    assignment.map(({ memberId, memberAssignment }) => [
      memberId,
      AssignerProtocol.MemberAssignment.decode(memberAssignment)!.assignment.units,
    ]),
  );
  assert.deepEqual(units, { 'm-1': [0, 2, 4], 'm-2': [1, 3] });
});
