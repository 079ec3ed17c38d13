/**
 * A consumer group's store writes still landing, at most one per partition and `limit` in all. A partition's
 * next write starts only once its previous one has landed, so its records reach the store in order; meanwhile
 * the group fetches and decodes what follows.
 */
export class WritesInFlight {
  /** By `topic:partition`: resolves true once the write and its progress landed, false if it was given up. */
  private readonly landing = new Map<string, Promise<boolean>>();
  private readonly all = new Set<Promise<boolean>>();
  private readonly waitingForSlot: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Whether the partition's write in flight (if any) landed: false means its records must be fetched again. */
  landed(key: string): Promise<boolean> | true {
    return this.landing.get(key) ?? true;
  }

  /**
   * Starts `write` once a slot is free and gives its landing (wrapped: a promise would be awaited away). The
   * caller has awaited the partition's previous landing (`landed`): no two writes of a partition overlap.
   */
  async start(key: string, write: () => Promise<boolean>): Promise<{ landing: Promise<boolean> }> {
    while (this.all.size >= this.limit) await new Promise<void>((resolve) => this.waitingForSlot.push(resolve));
    const landing = write().finally(() => {
      this.all.delete(landing);
      if (this.landing.get(key) === landing) this.landing.delete(key);
      this.waitingForSlot.shift()?.();
    });
    this.landing.set(key, landing);
    this.all.add(landing);
    return { landing };
  }

  /** Resolves once every write started so far has landed or been given up. */
  async drain(): Promise<void> {
    while (this.all.size > 0) await Promise.allSettled([...this.all]);
  }
}
