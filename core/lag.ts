import type { Kafka } from 'kafkajs';

/**
 * Waits until each group has committed the end offset of every partition of the topic (its lag is zero).
 * `failed` (a part's that rejects when it stops on its own) ends the wait with its error: a group that has
 * stopped never catches up.
 */
export async function waitForCaughtUp(
  kafka: Kafka,
  groups: string[],
  topic: string,
  timeoutMs = 60_000,
  failed?: Promise<never>,
): Promise<void> {
  let stopped: { error: unknown } | undefined;
  failed?.catch((error: unknown) => (stopped = { error }));
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ends = await admin.fetchTopicOffsets(topic);
      let behind = 0;
      for (const groupId of groups) {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        for (const end of ends) {
          const at = committed?.partitions.find((partition) => partition.partition === end.partition)?.offset ?? '-1';
          behind += Math.max(0, Number(end.offset) - Math.max(0, Number(at)));
        }
      }
      if (behind === 0) return;
      if (stopped) throw stopped.error;
      if (Date.now() > deadline)
        throw new Error(`groups ${groups.join(', ')} still ${behind} records behind on ${topic}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  } finally {
    await admin.disconnect();
  }
}
