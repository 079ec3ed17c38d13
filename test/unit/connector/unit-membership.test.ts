import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConsumerConfig, Kafka } from 'kafkajs';
import { UnitMembership } from '../../../connector/scale-out/unit-membership.ts';

const TOPIC = 'units';
const EVENTS = { REBALANCING: 'rebalancing', GROUP_JOIN: 'group-join', CRASH: 'crash' } as const;

/**
 * A KafkaJS client reduced to what the membership touches, whose consumer's events the test raises: the
 * coordinator dropping a member (its session ended while Kafka stalled) cannot be brought about on demand.
 */
function clientRaisingEvents(): {
  kafka: Kafka;
  raise: (event: string, payload: unknown) => void;
  consumerConfig: () => ConsumerConfig | undefined;
  disconnects: () => number;
} {
  let config: ConsumerConfig | undefined;
  let disconnects = 0;
  const handlers = new Map<string, ((event: { payload: unknown }) => void)[]>();
  const consumer = {
    events: EVENTS,
    on: (event: string, handler: (event: { payload: unknown }) => void) =>
      handlers.set(event, [...(handlers.get(event) ?? []), handler]),
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async () => undefined,
    disconnect: async () => {
      disconnects++;
    },
  };
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    listTopics: async () => [TOPIC],
    fetchTopicMetadata: async () => ({
      topics: [{ name: TOPIC, partitions: [{ partitionId: 0 }, { partitionId: 1 }] }],
    }),
  };
  const kafka = {
    consumer: (given: ConsumerConfig) => {
      config = given;
      return consumer;
    },
    admin: () => admin,
  } as unknown as Kafka;
  return {
    kafka,
    raise: (event, payload) => handlers.get(event)?.forEach((handler) => handler({ payload })),
    consumerConfig: () => config,
    disconnects: () => disconnects,
  };
}

/** A membership that records what it tells its instance. */
function recordingMembership(kafka: Kafka): { membership: UnitMembership; calls: string[] } {
  const calls: string[] = [];
  const membership = new UnitMembership({
    kafka,
    groupId: 'group',
    topic: TOPIC,
    units: 2,
    sessionTimeoutMs: 6_000,
    instance: 'a',
    onRevoke: () => calls.push('revoke'),
    onAssign: (units) => calls.push(`assign ${units.join(',')}`),
    onCrash: () => calls.push('crash'),
  });
  return { membership, calls };
}

const joined = (memberId: string, units: number[]) => ({ memberId, memberAssignment: { [TOPIC]: units } });

test('an instance out of the group stops its units: dropped by the coordinator and joined anew (a new member id, no revocation), or crashed and restarted by KafkaJS', async () => {
  const { kafka, raise } = clientRaisingEvents();
  const { membership, calls } = recordingMembership(kafka);
  await membership.join();
  raise(EVENTS.GROUP_JOIN, joined('member-1', [1, 0]));
  raise(EVENTS.REBALANCING, {});
  raise(EVENTS.GROUP_JOIN, joined('member-1', [0]));
  assert.deepEqual(calls, ['assign 0,1', 'revoke', 'assign 0'], 'the same member: revoked only when KafkaJS says so');
  calls.length = 0;
  raise(EVENTS.GROUP_JOIN, joined('member-2', [0, 1]));
  assert.deepEqual(
    calls,
    ['revoke', 'assign 0,1'],
    'a new member id: every unit stops first, unit 0 included, though it was kept',
  );
  calls.length = 0;
  raise(EVENTS.CRASH, { error: new Error('broker gone'), restart: true });
  assert.deepEqual(calls, ['revoke'], 'a member KafkaJS restarts left the group: its units stop until it joins again');
  raise(EVENTS.CRASH, { error: new Error('not retriable'), restart: false });
  assert.deepEqual(calls, ['revoke', 'crash']);
});

test('a member that crashes while the instance leaves is not restarted: it would rejoin and hold units nobody reads', async () => {
  const { kafka, raise, consumerConfig, disconnects } = clientRaisingEvents();
  const { membership, calls } = recordingMembership(kafka);
  await membership.join();
  const restartOnFailure = consumerConfig()?.retry?.restartOnFailure;
  assert.ok(restartOnFailure);
  assert.equal(await restartOnFailure(new Error('broker gone')), true, 'while it is a member, KafkaJS restarts it');
  await membership.leave();
  assert.equal(disconnects(), 1);
  assert.equal(await restartOnFailure(new Error('broker gone')), false, 'once leaving, it does not');
  // Asked before the leave began, KafkaJS restarts it right after the event: it is disconnected again.
  raise(EVENTS.CRASH, { error: new Error('broker gone'), restart: true });
  await new Promise(setImmediate);
  assert.equal(disconnects(), 2);
  assert.deepEqual(calls, [], 'and the instance, stopping, is told nothing');
});
