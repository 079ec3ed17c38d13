import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  afterFailedCall,
  isolateRefusal,
  mayWrite,
  planBatch,
  reassign,
  resumeAt,
  type CallFailure,
  type Membership,
  type Resume,
} from '../../../consumers/runtime/batch-plan.ts';
import { PartitionTakenOver } from '../../../consumers/runtime/dead-letters.ts';
import { FatalError, RecordError } from '../../../core/errors.ts';

const at = (...offsets: number[]) => offsets.map((offset) => ({ offset: String(offset) }));
const offsetsOf = (records: { offset: string }[]) => records.map(({ offset }) => Number(offset));

test('a partition met since the assignment resumes at the store progress, whatever Kafka committed', () => {
  const cases: {
    stored: string | undefined;
    logStart: bigint;
    firstFetched: string | null;
    expected: Resume;
    why: string;
  }[] = [
    { stored: undefined, logStart: 0n, firstFetched: '0', expected: { next: 0n, seek: false }, why: 'a new store' },
    {
      stored: '5',
      logStart: 0n,
      firstFetched: '5',
      expected: { next: 5n, seek: false },
      why: 'Kafka and the store agree',
    },
    {
      stored: '5',
      logStart: 0n,
      firstFetched: '3',
      expected: { next: 5n, seek: false },
      why: 'Kafka behind the store (a crash before the offsets were committed): the batch skips what is applied',
    },
    {
      stored: '5',
      logStart: 0n,
      firstFetched: '10',
      expected: { next: 5n, seek: true },
      why: 'Kafka ahead of the store (the store was reset, or a crash between its write and its progress): go back',
    },
    {
      stored: undefined,
      logStart: 0n,
      firstFetched: '10',
      expected: { next: 0n, seek: true },
      why: 'a store with no progress under a group that committed offsets: from the start',
    },
    {
      stored: '5',
      logStart: 0n,
      firstFetched: null,
      expected: { next: 5n, seek: false },
      why: 'an empty batch has nothing to go back from',
    },
    {
      stored: '2',
      logStart: 4n,
      firstFetched: '4',
      expected: { next: 4n, deleted: { from: 2n, to: 3n }, seek: false },
      why: 'retention deleted records the store never applied: said, then on from the log start',
    },
    {
      stored: undefined,
      logStart: 7n,
      firstFetched: '9',
      expected: { next: 7n, deleted: { from: 0n, to: 6n }, seek: true },
      why: 'a new store on a partition whose start retention deleted: the loss is said, and Kafka ahead sought back',
    },
    {
      stored: '12345678901234567890',
      logStart: 0n,
      firstFetched: '12345678901234567890',
      expected: { next: 12345678901234567890n, seek: false },
      why: 'offsets past 2^53 stay exact',
    },
  ];
  for (const { stored, logStart, firstFetched, expected, why } of cases)
    assert.deepEqual(resumeAt(stored, logStart, firstFetched), expected, why);
});

test('a fetched batch: records below the progress are skipped, the rest applied in chunks', () => {
  const cases: {
    offsets: number[];
    next: bigint;
    batchSize: number;
    chunks: number[][];
    skipped: number;
    consumedWhole: boolean;
    why: string;
  }[] = [
    { offsets: [], next: 0n, batchSize: 2, chunks: [], skipped: 0, consumedWhole: false, why: 'an empty batch' },
    {
      offsets: [3, 4, 5],
      next: 3n,
      batchSize: 10,
      chunks: [[3, 4, 5]],
      skipped: 0,
      consumedWhole: false,
      why: 'nothing applied before',
    },
    {
      offsets: [3, 4, 5],
      next: 0n,
      batchSize: 10,
      chunks: [[3, 4, 5]],
      skipped: 0,
      consumedWhole: false,
      why: 'progress below the batch (records before it deleted or never fetched): all applied',
    },
    {
      offsets: [3, 4, 5, 6, 7],
      next: 5n,
      batchSize: 10,
      chunks: [[5, 6, 7]],
      skipped: 2,
      consumedWhole: false,
      why: 'a redelivered prefix',
    },
    {
      offsets: [3, 4, 5],
      next: 6n,
      batchSize: 10,
      chunks: [],
      skipped: 3,
      consumedWhole: true,
      why: 'all applied before: the batch is consumed at once',
    },
    {
      offsets: [3, 4, 5],
      next: 100n,
      batchSize: 10,
      chunks: [],
      skipped: 3,
      consumedWhole: true,
      why: 'progress far ahead of the batch',
    },
    {
      offsets: [10, 11, 14, 15],
      next: 12n,
      batchSize: 10,
      chunks: [[14, 15]],
      skipped: 2,
      consumedWhole: false,
      why: 'progress inside a gap (compacted records, an aborted transaction and its marker)',
    },
    {
      offsets: [10, 11, 14, 15],
      next: 14n,
      batchSize: 10,
      chunks: [[14, 15]],
      skipped: 2,
      consumedWhole: false,
      why: 'progress at the first record after a gap',
    },
    {
      offsets: [1, 2, 3, 4, 5],
      next: 2n,
      batchSize: 2,
      chunks: [
        [2, 3],
        [4, 5],
      ],
      skipped: 1,
      consumedWhole: false,
      why: 'chunks of the batch size, after the skipped prefix',
    },
    {
      offsets: [1, 2, 3, 4, 5],
      next: 0n,
      batchSize: 2,
      chunks: [[1, 2], [3, 4], [5]],
      skipped: 0,
      consumedWhole: false,
      why: 'a last chunk smaller than the rest',
    },
  ];
  for (const { offsets, next, batchSize, chunks, skipped, consumedWhole, why } of cases) {
    const plan = planBatch(at(...offsets), next, batchSize);
    assert.deepEqual(
      { chunks: plan.chunks.map(offsetsOf), skipped: plan.skipped, consumedWhole: plan.consumedWhole },
      { chunks, skipped, consumedWhole },
      why,
    );
  }
});

test('a failed call: gone when the member may not write, otherwise retried, dead-lettered or fatal', () => {
  const unavailable = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
  const cases: { error: unknown; live: boolean; expected: CallFailure; why: string }[] = [
    { error: unavailable(), live: true, expected: 'retry', why: 'the store is down' },
    { error: new RecordError('value out of range'), live: true, expected: 'record', why: 'the store refuses the data' },
    { error: new FatalError('mapping changed'), live: true, expected: 'fatal', why: 'a misconfiguration' },
    { error: new TypeError('x is undefined'), live: true, expected: 'fatal', why: 'a programming error' },
    {
      error: new PartitionTakenOver('fenced'),
      live: true,
      expected: 'gone',
      why: 'another member fenced the dead-letter producer',
    },
    { error: unavailable(), live: false, expected: 'gone', why: 'stopping or revoked: no retry' },
    {
      error: new FatalError('mapping changed'),
      live: false,
      expected: 'gone',
      why: 'a member that lost the partition does not stop the group',
    },
  ];
  for (const { error, live, expected, why } of cases) assert.equal(afterFailedCall(error, live), expected, why);
});

test('a write goes ahead only while the member is sure it still owns the partition', () => {
  const member: Membership = { running: true, stale: false, stoppedOnFatal: false, inDoubt: false };
  const cases: { membership: Membership; expected: boolean; why: string }[] = [
    { membership: member, expected: true, why: 'a member in good standing' },
    { membership: { ...member, running: false }, expected: false, why: 'the consumer is stopping' },
    {
      membership: { ...member, stale: true },
      expected: false,
      why: 'a rebalance since the fetch (released mid-batch)',
    },
    { membership: { ...member, stoppedOnFatal: true }, expected: false, why: 'the group stopped on a fatal error' },
    {
      membership: { ...member, inDoubt: true },
      expected: false,
      why: 'a heartbeat refused: perhaps evicted, the rest of the fetch is not applied',
    },
  ];
  for (const { membership, expected, why } of cases) assert.equal(mayWrite(membership), expected, why);
});

test('a refusal naming no record is narrowed down to the record refused, dead-lettered before the progress', () => {
  assert.deepEqual(
    isolateRefusal({ records: [], nextOffset: '8' }),
    { kind: 'stop' },
    'the store refuses the progress itself: no record explains it',
  );
  assert.deepEqual(
    isolateRefusal({ records: at(7), nextOffset: '8' }),
    { kind: 'dead-letter', record: { offset: '7' }, then: { records: [], nextOffset: '8' } },
    'the record alone: its letter, then the progress past it with no record',
  );
  assert.deepEqual(
    isolateRefusal({ records: at(3, 4, 5, 6, 7), nextOffset: '8' }),
    {
      kind: 'halves',
      first: { records: at(3, 4, 5), nextOffset: '6' },
      second: { records: at(6, 7), nextOffset: '8' },
    },
    'the first half is the larger, and stores the progress after its own last record',
  );
  assert.deepEqual(
    isolateRefusal({ records: at(10, 11, 14, 15), nextOffset: '17' }),
    {
      kind: 'halves',
      first: { records: at(10, 11), nextOffset: '12' },
      second: { records: at(14, 15), nextOffset: '17' },
    },
    'a gap in the offsets: the second half keeps the slice progress',
  );
});

test('a refused batch is narrowed down to its one bad record whichever it is', () => {
  for (let size = 1; size <= 9; size++)
    for (let bad = 0; bad < size; bad++) {
      const letters: string[] = [];
      const applied: string[] = [];
      const refuse = (slice: { records: { offset: string }[]; nextOffset: string }): void => {
        if (!slice.records.some(({ offset }) => offset === String(bad))) {
          applied.push(slice.nextOffset);
          return;
        }
        const isolation = isolateRefusal(slice);
        assert.notEqual(isolation.kind, 'stop');
        if (isolation.kind === 'dead-letter') {
          letters.push(isolation.record.offset);
          refuse(isolation.then);
        } else if (isolation.kind === 'halves') {
          refuse(isolation.first);
          refuse(isolation.second);
        }
      };
      refuse({ records: at(...Array.from({ length: size }, (_, index) => index)), nextOffset: String(size) });
      assert.deepEqual(letters, [String(bad)], `size ${size}, bad ${bad}`);
      assert.equal(applied.at(-1), String(size), 'the last progress stored is the whole slice');
    }
});

test('a new assignment releases the partitions it no longer gives this member', () => {
  const tp = (topic: string, partition: number) => [`${topic}:${partition}`, { topic, partition }] as const;
  const cases: {
    previous: (readonly [string, { topic: string; partition: number }])[];
    assignment: Record<string, number[]>;
    revoked: { topic: string; partition: number }[];
    why: string;
  }[] = [
    { previous: [], assignment: { a: [0, 1] }, revoked: [], why: 'the first assignment' },
    { previous: [tp('a', 0), tp('a', 1)], assignment: { a: [0, 1] }, revoked: [], why: 'the same partitions again' },
    {
      previous: [tp('a', 0), tp('a', 1), tp('b', 0)],
      assignment: { a: [1], b: [0, 1] },
      revoked: [{ topic: 'a', partition: 0 }],
      why: 'one taken away, one added',
    },
    {
      previous: [tp('a', 0), tp('b', 0)],
      assignment: {},
      revoked: [
        { topic: 'a', partition: 0 },
        { topic: 'b', partition: 0 },
      ],
      why: 'an empty assignment (more members than partitions) releases all',
    },
    {
      previous: [tp('a', 1)],
      assignment: { b: [1] },
      revoked: [{ topic: 'a', partition: 1 }],
      why: 'same partition number, other topic',
    },
  ];
  for (const { previous, assignment, revoked, why } of cases) {
    const next = reassign(new Map(previous), assignment);
    assert.deepEqual(next.revoked, revoked, why);
    assert.deepEqual(
      [...next.assigned.keys()],
      Object.entries(assignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => `${topic}:${partition}`),
      ),
      why,
    );
  }
});
