import assert from 'node:assert/strict';
import { test } from 'node:test';
import { skipAbortedRecords } from '../../../core/kafkajs-aborted-transactions.ts';

interface Fetched {
  offset: string;
  key: Buffer;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);
const record = (offset: number, producerId: string, inTransaction = true): Fetched => ({
  offset: String(offset),
  key: Buffer.from(`k${offset}`),
  batchContext: { producerId, inTransaction },
});
const marker = (offset: number, producerId: string, key: Buffer): Fetched => ({
  offset: String(offset),
  key,
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});

test('records of aborted transactions are skipped however many have begun before the fetch; others are handed over', () => {
  const cases: {
    why: string;
    messages: Fetched[];
    aborted: { producerId: string; firstOffset: string }[];
    handedOver: number[];
  }[] = [
    {
      why: 'a fetch from offset 2 inside aborted transactions of p1 (from 0) and p2 (from 1)',
      messages: [record(2, 'p2'), record(3, 'p1'), marker(4, 'p1', ABORT), marker(5, 'p2', ABORT), record(7, 'p1')],
      aborted: [
        { producerId: 'p1', firstOffset: '0' },
        { producerId: 'p2', firstOffset: '1' },
      ],
      handedOver: [7],
    },
    {
      why: 'one producer: an aborted transaction, then a committed one',
      messages: [record(10, 'p'), marker(11, 'p', ABORT), record(12, 'p'), marker(13, 'p', COMMIT)],
      aborted: [{ producerId: 'p', firstOffset: '10' }],
      handedOver: [12],
    },
    {
      why: 'a committed transaction interleaved with an aborted one, and a record outside any transaction',
      messages: [
        record(20, 'a'),
        record(21, 'c'),
        record(22, 'x', false),
        marker(23, 'a', ABORT),
        marker(24, 'c', COMMIT),
      ],
      aborted: [{ producerId: 'a', firstOffset: '20' }],
      handedOver: [21, 22],
    },
  ];
  for (const { why, messages, aborted, handedOver } of cases) {
    const partition = { messages: messages.map((message) => ({ ...message })), abortedTransactions: aborted };
    skipAbortedRecords(partition);
    assert.deepEqual(
      partition.messages.filter((message) => !message.isControlRecord).map(({ offset }) => Number(offset)),
      handedOver,
      why,
    );
    assert.deepEqual(partition.abortedTransactions, [], `${why}: nothing left for KafkaJS's own filter`);
  }
});
