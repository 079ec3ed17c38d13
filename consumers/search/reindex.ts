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
}

/**
 * Builds a new index for an entity from a replay of its topics, then moves the alias to it in one step.
 * The replay runs on after the swap until it is caught up again, so changes the live group wrote to the
 * old index meanwhile reach the new one too; versioned writes make the overlap harmless.
 */
export async function reindex(plan: ReindexPlan, progress: (message: string) => void = () => {}): Promise<{ from: string; to: string }> {
  const { current, next } = await plan.indexes.next(plan.entity);
  await plan.indexes.create(plan.entity, next);
  const group = plan.group(next);
  await group.start();
  try {
    progress(`replaying ${plan.topics.join(', ')} into ${next}`);
    for (const topic of plan.topics) await waitForCaughtUp(plan.kafka, [plan.groupId], topic, plan.timeoutMs);
    await plan.indexes.point(plan.entity, current, next);
    progress(`alias ${plan.indexes.alias(plan.entity)} moved from ${current} to ${next}`);
    for (const topic of plan.topics) await waitForCaughtUp(plan.kafka, [plan.groupId], topic, plan.timeoutMs);
  } finally {
    await group.stop();
  }
  return { from: current, to: next };
}
