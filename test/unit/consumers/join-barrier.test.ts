import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkaJsRequire } from '../../../core/kafkajs-internals.ts';
import { asMember, canHoldJoins, outsideMember } from '../../../consumers/runtime/join-barrier.ts';

type Join = (this: unknown) => Promise<unknown>;
const { prototype } = kafkaJsRequire('kafkajs/src/consumer/consumerGroup.js') as {
  prototype: { joinAndSync: Join; leave: Join };
};
/** A KafkaJS consumer group whose join fails as a coordinator still loading the group answers. */
const loadingGroup = {
  retrier: () => Promise.reject(new Error('The coordinator is loading and hence cannot process requests')),
};

test(
  'a join waits for the member, and a join that fails still lets the member write again',
  { skip: !canHoldJoins },
  async () => {
    const events: string[] = [];
    const hold = {
      beforeJoin: async () => void events.push('before'),
      afterJoin: () => void events.push('after'),
    };
    await asMember(hold, async () => {
      await assert.rejects(prototype.joinAndSync.call(loadingGroup), /coordinator is loading/);
      // A batch handler's own consumers join without waiting for the member that started them.
      await outsideMember(() => assert.rejects(prototype.joinAndSync.call(loadingGroup)));
    });
    assert.deepEqual(events, ['before', 'after']);
    // Outside any member's run, a join is KafkaJS's own.
    await assert.rejects(prototype.joinAndSync.call(loadingGroup));
    assert.deepEqual(events, ['before', 'after']);
  },
);
