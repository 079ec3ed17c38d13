/**
 * Remembers the last `capacity` event ids, oldest forgotten first. Kinesis Data Streams for DynamoDB
 * may deliver a change twice; the copies arrive close together, so a bounded window catches them, and
 * the sinks' per-item versions make any copy that slips past harmless.
 */
export class DedupeWindow {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Called once the records carrying these ids are committed: a failed round forgets nothing it did not write. */
  remember(ids: Iterable<string>): void {
    for (const id of ids) {
      this.ids.add(id);
      if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
    }
  }
}
