import type { Admin, Consumer, Kafka } from 'kafkajs';
import { ConfigurationError } from '../../core/errors.ts';
import { createTopics, topicMetadata } from '../../core/topics.ts';
import { unitAssigner } from './unit-assigner.ts';

export interface UnitMembershipOptions {
  kafka: Kafka;
  /** The consumer group: every instance of one connector name. */
  groupId: string;
  /** One partition per assignment unit; nothing is ever written to it. */
  topic: string;
  units: number;
  sessionTimeoutMs: number;
  /** This instance's name in the group, which `status` shows as the owner of its units. */
  instance: string;
  /** A rebalance began: the units this instance reads may be given to others. */
  onRevoke: () => void;
  /** The group gave this instance these units. */
  onAssign: (units: number[]) => void;
  /** The group member stopped for good (KafkaJS does not restart it). */
  onCrash: (error: Error) => void;
}

/**
 * Membership in the connector's consumer group on the units topic: Kafka's group protocol decides which
 * instance reads which unit, and takes a unit from an instance that stops heartbeating within the
 * session timeout. The member reads nothing; it only takes part in the group.
 */
export class UnitMembership {
  private consumer: Consumer | undefined;
  /** Set once `leave` began: a member that crashed meanwhile must not rejoin and hold units nobody reads. */
  private leaving = false;

  constructor(private readonly options: UnitMembershipOptions) {}

  async join(): Promise<void> {
    const { kafka, groupId, topic, sessionTimeoutMs } = this.options;
    await ensureUnitsTopic(kafka, topic, this.options.units);
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: sessionTimeoutMs,
      rebalanceTimeout: sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(sessionTimeoutMs / 6)),
      maxWaitTimeInMs: 1_000,
      readUncommitted: false,
      partitionAssigners: [unitAssigner(this.options.instance, this.options.units)],
      retry: { restartOnFailure: async () => !this.leaving },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.REBALANCING, () => this.options.onRevoke());
    let memberId: string | undefined;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      // A new member id: the coordinator had dropped this member (its session ended while Kafka or this process
      // stalled) and KafkaJS joined anew without a revocation. Meanwhile the group may have given its units to
      // others, who fenced them: every unit starts again from what Kafka holds, as after any rebalance.
      if (memberId !== undefined && payload.memberId !== memberId) this.options.onRevoke();
      memberId = payload.memberId;
      this.options.onAssign([...(payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b));
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (this.leaving) {
        // Asked whether to restart before `leave` began, KafkaJS schedules the restart right after this event;
        // disconnecting again cancels it.
        if (payload.restart) setImmediate(() => void consumer.disconnect().catch(() => undefined));
        return;
      }
      // KafkaJS restarts a crashed member after leaving the group: its units go to others until it joins again.
      if (payload.restart) this.options.onRevoke();
      else this.options.onCrash(payload.error);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: false });
      await consumer.run({ autoCommit: false, eachBatch: async () => undefined });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      this.consumer = undefined;
      throw error;
    }
  }

  /** Leaves the group at once, so the others take this instance's units without waiting for its session to end. */
  async leave(): Promise<void> {
    this.leaving = true;
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }
}

/**
 * The units topic, created with one partition per unit. Every instance must map shards to units alike:
 * an existing topic with another count is refused rather than followed, since instances configured with
 * different counts would read one shard in two units, under two transactional ids that do not fence each other.
 */
export async function ensureUnitsTopic(kafka: Kafka, topic: string, units: number): Promise<void> {
  const admin: Admin = kafka.admin();
  await admin.connect();
  try {
    // Checked after creating too: another instance, with another count, may have created it first.
    if (!(await admin.listTopics()).includes(topic)) await createTopics(admin, [{ topic, numPartitions: units }]);
    const [metadata] = await topicMetadata(admin, [topic]);
    const partitions = metadata?.partitions.length ?? 0;
    if (partitions !== units) {
      throw new ConfigurationError(
        `connector.scaleOut.units: ${units}, but the units topic ${topic} has ${partitions} partitions; every instance of a connector needs the same count (stop them all, delete the topic, and start them with the new count)`,
      );
    }
  } finally {
    await admin.disconnect();
  }
}
