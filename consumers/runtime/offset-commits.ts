import type { Consumer } from 'kafkajs';

type Offset = { topic: string; partition: number; offset: string };

/**
 * Commits to Kafka the offsets whose records have landed in the store, one commit in flight at a time (so a
 * later offset is never overwritten by an earlier one), coalescing what lands meanwhile. The store's progress
 * is what a partition resumes from; Kafka's committed offsets only show the group's lag to the usual tools,
 * and never run ahead of the store.
 */
export class OffsetCommits {
  private readonly waiting = new Map<string, Offset>();
  private committing: Promise<void> | undefined;

  constructor(
    private readonly consumer: Consumer,
    private readonly onError: (error: unknown) => void,
  ) {}

  landed(topic: string, partition: number, offset: string): void {
    this.waiting.set(`${topic}:${partition}`, { topic, partition, offset });
    this.committing ??= this.commitWaiting();
  }

  private async commitWaiting(): Promise<void> {
    while (this.waiting.size > 0) {
      const offsets = [...this.waiting.values()];
      this.waiting.clear();
      await this.consumer.commitOffsets(offsets).catch(this.onError);
    }
    this.committing = undefined;
  }

  /** Resolves once what landed so far is committed (or its commit failed). */
  async settled(): Promise<void> {
    await this.committing;
  }
}
