import { AsyncLocalStorage } from 'node:async_hooks';
import { isCheckedKafkaJs, kafkaJsRequire as require } from '../../core/kafkajs-internals.ts';

/**
 * Holds a member's group joins and leaves until its writes in flight have landed.
 *
 * A consumer group hands a partition's batch back to KafkaJS while the batch's last write is still in flight,
 * so that KafkaJS fetches the next batch meanwhile (consumers/runtime/group.ts). KafkaJS waits for its own
 * batch handlers before it rejoins or leaves, but not for work they left running: a write still landing when
 * the member rejoins could run beside the partition's new owner. KafkaJS offers no hook before a join, so its
 * ConsumerGroup's `joinAndSync` and `leave` are wrapped to wait for the member's writes first, on the KafkaJS
 * version checked only (elsewhere `canHoldJoins` is false and the groups keep each write inside its batch
 * handler). The member is the one whose `consumer.run()` started the KafkaJS work that joins: every join and
 * leave of a consumer happens in the asynchronous context of its run. Its batch handlers run outside that
 * context (`outsideMember`): a consumer they start (the dead letters' read to the end) has joins of its own,
 * which must not wait for the writes that wait for it.
 */

/** What a member does around each of its joins and leaves. */
export interface JoinHold {
  /** Before the join: stop starting writes, and wait for those in flight. */
  beforeJoin(): Promise<void>;
  /** After it, done or failed: a join KafkaJS retries or gives up on must not leave the member holding its writes. */
  afterJoin(): void;
}

const memberHold = new AsyncLocalStorage<JoinHold>();
let installed = false;

interface KafkaJsConsumerGroup {
  joinAndSync(...args: unknown[]): Promise<unknown>;
  leave(...args: unknown[]): Promise<unknown>;
}

function install(): void {
  if (installed) return;
  installed = true;
  const { prototype } = require('kafkajs/src/consumer/consumerGroup.js') as { prototype: KafkaJsConsumerGroup };
  for (const method of ['joinAndSync', 'leave'] as const) {
    const original = prototype[method];
    prototype[method] = async function (this: KafkaJsConsumerGroup, ...args: unknown[]) {
      const hold = memberHold.getStore();
      if (!hold) return original.apply(this, args);
      try {
        await hold.beforeJoin();
        return await original.apply(this, args);
      } finally {
        hold.afterJoin();
      }
    };
  }
}

export const canHoldJoins: boolean = isCheckedKafkaJs();

/** Runs `work` (a consumer's `run`) so that the joins and leaves it brings about are held by `hold`. */
export function asMember<T>(hold: JoinHold, work: () => T): T {
  if (!canHoldJoins) return work();
  install();
  return memberHold.run(hold, work);
}

/** Runs `work` (a batch handler) as no member: what it starts joins without waiting for any drain. */
export function outsideMember<T>(work: () => T): T {
  return memberHold.exit(work);
}
