import type { PartHealth } from '../core/health.ts';
import { logger } from '../core/logger.ts';
import { failureSignal } from '../core/part.ts';
import type { PeriodicDiscovery } from '../connector/discovery/periodic.ts';
import type { ConsumerGroup } from '../consumers/runtime/group.ts';

/** What a process runs of a consumer group: a plain group, or one following the tables discovery finds. */
export type PipelineGroup = Pick<ConsumerGroup, 'groupId' | 'health' | 'failed' | 'start' | 'stop'>;

/**
 * Consumer groups that follow the tables discovery finds. KafkaJS subscribes to topic names (a pattern only
 * matches the topics that exist when it subscribes), so after every discovery round each group whose topics
 * changed is stopped and started again with the new list: a new member of the same group id, with a new sink.
 * Progress is stored with each sink's writes, so the new subscription resumes where the old one stopped.
 * The discovery runs while at least one of the groups does.
 */
export class TopicWatch {
  private readonly groups: FollowingGroup[] = [];
  private running = 0;
  /** The first discovery round, which every group starting meanwhile waits for. */
  private firstRound: Promise<void> | undefined;

  constructor(private readonly discovery: PeriodicDiscovery) {}

  /** A group made anew on `topics()` (the known tables' topics at that moment) whenever they change. */
  group(name: string, topics: () => string[], make: (topics: string[]) => ConsumerGroup): PipelineGroup {
    const group = new FollowingGroup(name, topics, make, this);
    this.groups.push(group);
    return group;
  }

  /**
   * The first discovery round runs before any group starts (each waits for it), so the tables found then are
   * read from the start without a re-subscribe.
   */
  async acquire(): Promise<void> {
    if (this.running++ === 0) {
      this.firstRound = this.discovery.start();
      void this.discovery.failed.catch((error: unknown) => {
        for (const group of this.groups) group.fail(error as Error);
      });
    }
    await this.firstRound;
  }

  async release(): Promise<void> {
    if (--this.running === 0) await this.discovery.stop();
  }

  /** After a discovery round: each group whose topics changed subscribes again. */
  refresh(): void {
    for (const group of this.groups) group.refresh();
  }
}

class FollowingGroup implements PipelineGroup {
  private current: ConsumerGroup | undefined;
  /** The running subscription's topics, as JSON ('' before the first). */
  private topics = '';
  /** Restarts run one after another. */
  private changing: Promise<void> = Promise.resolve();
  private stopping = false;
  private fatal: Error | undefined;
  /** Each member's stop, once: stop() may reach the member a re-subscribe is stopping already. */
  private readonly stops = new WeakMap<ConsumerGroup, Promise<void>>();
  private readonly rejectFailed: (error: Error) => void;
  readonly failed: Promise<never>;

  constructor(
    readonly groupId: string,
    private readonly topicsNow: () => string[],
    private readonly make: (topics: string[]) => ConsumerGroup,
    private readonly watch: TopicWatch,
  ) {
    ({ failed: this.failed, fail: this.rejectFailed } = failureSignal());
  }

  health(): PartHealth {
    const part = `group ${this.groupId}`;
    if (this.fatal) return { part, ready: false, detail: this.fatal.message };
    // No table found yet: nothing to read, nothing waiting.
    if (this.topics === '[]') return { part, ready: true };
    return this.current?.health() ?? { part, ready: false, detail: 'subscribing again' };
  }

  /** Resolves once subscribed to the topics known now (none yet: nothing to start); rejects when that failed. */
  async start(): Promise<void> {
    await this.watch.acquire();
    this.refresh();
    await this.changing;
    if (this.fatal) throw this.fatal;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    try {
      // A member still starting retries until it is stopped (a store down): it is stopped first, or the
      // re-subscribe holding its start would never end.
      const first = this.current ? this.stopMember(this.current) : Promise.resolve();
      first.catch(() => undefined); // awaited below, after the re-subscribe
      await this.changing;
      await first;
      // No member starts once stopping is set: what runs now is that one, or none.
      if (this.current) await this.stopMember(this.current);
    } finally {
      await this.watch.release();
    }
  }

  private stopMember(member: ConsumerGroup): Promise<void> {
    let stopped = this.stops.get(member);
    if (!stopped) {
      stopped = member.stop();
      this.stops.set(member, stopped);
    }
    return stopped;
  }

  fail(error: Error): void {
    this.fatal = error;
    this.rejectFailed(error);
  }

  refresh(): void {
    this.changing = this.changing.then(() => this.replace()).catch((error: unknown) => this.fail(error as Error));
  }

  /** A new group on the current topics, when they differ from the running group's (or none runs). */
  private async replace(): Promise<void> {
    if (this.stopping) return;
    const topics = this.topicsNow();
    if (JSON.stringify(topics) === this.topics) return;
    if (this.current) {
      logger.info({ group: this.groupId, topics }, 'new change topics: the group subscribes again');
      // A store down at the old sink's close (its last progress flush) loses nothing the new member does not
      // replay, which the sinks absorb: logged, not the group's end.
      await this.stopMember(this.current).catch((error: unknown) => {
        logger.warn(
          { err: error, group: this.groupId },
          'the old subscription did not stop cleanly; subscribing again',
        );
      });
      this.current = undefined;
      // stop() may have begun (or the group failed) meanwhile: no new member then.
      if (this.stopping || this.fatal) return;
    }
    this.topics = JSON.stringify(topics);
    // A consumer subscribes to topic names: with none (no table found yet) there is nothing to start.
    if (topics.length === 0) return;
    const next = this.make(topics);
    this.current = next;
    next.failed.catch((error: unknown) => {
      if (this.current === next) this.fail(error as Error);
    });
    await next.start();
  }
}
