import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { PeriodicDiscovery } from '../../../connector/discovery/periodic.ts';
import type { ConsumerGroup } from '../../../consumers/runtime/group.ts';
import { TopicWatch } from '../../../cli/topic-watch.ts';

/** A promise and its resolver. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

/**
 * A consumer group member as FollowingGroup sees it. `hangs`: its start retries until it is stopped (a store
 * down); `stopping`: what its stop waits for or throws.
 */
class FakeMember {
  readonly groupId = 'g';
  readonly failed = new Promise<never>(() => undefined);
  stops = 0;
  private readonly stopped = deferred();

  constructor(
    readonly topics: string[],
    private readonly options: { hangs?: boolean; stopping?: () => Promise<void> } = {},
  ) {}

  health() {
    return { part: 'group g', ready: true };
  }

  async start(): Promise<void> {
    if (this.options.hangs) await this.stopped.promise;
  }

  async stop(): Promise<void> {
    this.stops++;
    this.stopped.resolve();
    await this.options.stopping?.();
  }
}

/** A discovery whose first round ends when `round` resolves. */
const fakeDiscovery = (round: Promise<void> = Promise.resolve()) =>
  ({
    start: () => round,
    stop: async () => undefined,
    failed: new Promise<never>(() => undefined),
  }) as unknown as PeriodicDiscovery;

/** One following group of a watch, its members as made (each by `member`), and the topics it follows. */
function following(member: (topics: string[]) => FakeMember, discovery = fakeDiscovery()) {
  const watch = new TopicWatch(discovery);
  const state = { topics: ['a'], made: [] as FakeMember[] };
  const group = watch.group(
    'g',
    () => state.topics,
    (topics) => {
      const made = member(topics);
      state.made.push(made);
      return made as unknown as ConsumerGroup;
    },
  );
  return { watch, group, state };
}

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`${what}: not done after ${ms} ms`)))]);

test('stop ends a re-subscribe whose new member cannot start (a store down): the member is stopped', async () => {
  const { watch, group, state } = following((topics) => new FakeMember(topics, { hangs: topics.length > 1 }));
  await group.start();
  state.topics = ['a', 'b'];
  watch.refresh();
  await sleep(50);
  assert.equal(state.made.length, 2, 'the new member is starting');
  await within(group.stop(), 2_000, 'stop');
  assert.ok(state.made[1]!.stops >= 1, 'the new member was stopped');
});

test('no new member starts once stop began while the old one was stopping', async () => {
  const oldStopped = deferred();
  const { watch, group, state } = following(
    (topics) => new FakeMember(topics, { stopping: topics.length === 1 ? () => oldStopped.promise : undefined }),
  );
  await group.start();
  state.topics = ['a', 'b'];
  watch.refresh();
  await sleep(50);
  const stopping = group.stop();
  oldStopped.resolve();
  await within(stopping, 2_000, 'stop');
  assert.equal(state.made.length, 1, 'only the first member was made');
});

test("an old member's stop failing (a store down at the last progress flush) does not fail the group", async () => {
  const { watch, group, state } = following(
    (topics) =>
      new FakeMember(topics, {
        stopping:
          topics.length === 1 ? () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:8123')) : undefined,
      }),
  );
  await group.start();
  let failure: unknown;
  group.failed.catch((error: unknown) => (failure = error));
  state.topics = ['a', 'b'];
  watch.refresh();
  await sleep(50);
  assert.equal(failure, undefined);
  assert.deepEqual(
    state.made.map((member) => member.topics),
    [['a'], ['a', 'b']],
    'the new member started',
  );
  await group.stop();
});

test('every group waits for the first discovery round: none starts on the named topics only', async () => {
  const round = deferred();
  const watch = new TopicWatch(fakeDiscovery(round.promise));
  let topics = ['named'];
  const made: string[][] = [];
  const groups = ['g1', 'g2'].map((name) =>
    watch.group(
      name,
      () => topics,
      (subscribed) => {
        made.push(subscribed);
        return new FakeMember(subscribed) as unknown as ConsumerGroup;
      },
    ),
  );
  const started = Promise.all(groups.map((group) => group.start()));
  await sleep(50);
  topics = ['found', 'named'];
  round.resolve();
  await started;
  watch.refresh(); // as the round's end does
  await sleep(50);
  assert.deepEqual(made, [
    ['found', 'named'],
    ['found', 'named'],
  ]);
  await Promise.all(groups.map((group) => group.stop()));
});
