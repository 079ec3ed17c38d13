import type { Kafka } from 'kafkajs';
import { waitForCaughtUp } from '../../core/lag.ts';
import type { ConsumerGroup } from '../runtime/group.ts';
import type { SearchIndexes } from './indexes.ts';

export interface ReindexPlan {
  entity: string;
  indexes: SearchIndexes;
  kafka: Kafka;
  topics: string[];
  /** A consumer group (with its own group id) whose search sink writes to `target`. */
  group: (target: string) => ConsumerGroup;
  groupId: string;
  timeoutMs: number;
  /** Swap the alias even when a topic's oldest records were deleted (the new index then lacks them). */
  allowPartial?: boolean;
}

/**
 * A topic whose partitions do not all start at offset 0 lost the start of its history (retention or
 * deleted records): an index built from it would miss items, and the alias swap would make that live.
 */
async function checkWholeHistory(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const topic of topics) {
      const trimmed = (await admin.fetchTopicOffsets(topic)).filter(({ low }) => low !== '0');
      if (trimmed.length === 0) continue;
      const where = trimmed.map(({ partition, low }) => `partition ${partition} starts at ${low}`).join(', ');
      throw new Error(
        `topic ${topic} no longer starts at offset 0 (${where}): its history was trimmed, so the new index would miss items; ` +
          "keep the change topics' whole history (connector.topics.retentionMs: -1), or pass --allow-partial to swap the alias anyway",
      );
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Builds a new index for an entity from a replay of its topics, then moves the alias to it in one step.
 * The replay runs on after the swap until it is caught up again, so changes the live group wrote to the
 * old index meanwhile reach the new one too; versioned writes make the overlap harmless.
 */
export async function reindex(
  plan: ReindexPlan,
  progress: (message: string) => void = () => {},
): Promise<{ from: string; to: string }> {
  if (!plan.allowPartial) await checkWholeHistory(plan.kafka, plan.topics);
  const { current, next } = await plan.indexes.next(plan.entity);
  await plan.indexes.create(plan.entity, next);
  const group = plan.group(next);
  // A replay group that stops on its own never catches up: its error ends the reindex, not the timeout.
  const caughtUp = (topic: string) => waitForCaughtUp(plan.kafka, [plan.groupId], topic, plan.timeoutMs, group.failed);
  try {
    await group.start();
    progress(`replaying ${plan.topics.join(', ')} into ${next}`);
    for (const topic of plan.topics) await caughtUp(topic);
    await plan.indexes.point(plan.entity, current, next);
    progress(`alias ${plan.indexes.alias(plan.entity)} moved from ${current} to ${next}`);
    for (const topic of plan.topics) await caughtUp(topic);
  } finally {
    await group.stop();
  }
  return { from: current, to: next };
}
