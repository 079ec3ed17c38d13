import { cpSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommittedEvent } from './change-copies.ts';
import { changeTopics, type RunNames } from './config.ts';

/**
 * What a failed run keeps beside the processes' logs, before its Kafka cluster is removed: every event the
 * change topics return to a read_committed reader (event id, partition, offset), and each node's log
 * segments of the change topics, for `kafka.tools.DumpLogSegments` (batches, producer epochs, markers).
 */
export function keepKafkaEvidence(events: CommittedEvent[], names: RunNames, logDir: string, kafkaPort: number): void {
  const lines = events.map(({ topic, partition, offset, eventId }) => `${topic}\t${partition}\t${offset}\t${eventId}`);
  writeFileSync(join(logDir, 'change-topic-read-committed.tsv'), `${lines.join('\n')}\n`);
  for (const home of readdirSync(tmpdir()).filter((name) => name.startsWith(`shardline-kafka-${kafkaPort}-`))) {
    for (const node of readdirSync(join(tmpdir(), home))) {
      const data = join(tmpdir(), home, node, 'data');
      if (!existsSync(data)) continue;
      for (const partition of readdirSync(data).filter((name) => changeTopics(names).some((topic) => name.startsWith(`${topic}-`)))) {
        cpSync(join(data, partition), join(logDir, 'kafka-data', node, partition), { recursive: true });
      }
    }
  }
}
