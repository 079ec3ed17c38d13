import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from 'kafkajs';
import {
  afterFailedRound,
  closingMessages,
  CommitUncertain,
  commitFailure,
  connectorFailure,
  openingCheckpoints,
  ProducerReset,
  sendFailure,
  TRANSACTION_TIMEOUT_MS,
  type FailedRoundAction,
} from '../../../connector/round-outcome.ts';
import { GapError } from '../../../connector/shards/shard-reader.ts';
import { isFenced } from '../../../core/errors.ts';
import { SchemaRegistrationError } from '../../../schemas/registry.ts';

const fenced = () =>
  Object.assign(new Error('This instance has been fenced by a newer instance'), {
    name: 'KafkaJSProtocolError',
    type: 'PRODUCER_FENCED',
  });
const unavailable = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' });
const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'LimitExceededException' });
const refused = () => Object.assign(new Error('not authorised'), { type: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED' });

test('a failed round: stop, recover with a new producer, or rewind the readers', () => {
  const cases: { error: unknown; recoveryPending: boolean; expected: FailedRoundAction; why: string }[] = [
    {
      error: unavailable(),
      recoveryPending: false,
      expected: 'rewind',
      why: 'nothing was committed: read again from the committed positions',
    },
    {
      error: throttled(),
      recoveryPending: false,
      expected: 'rewind',
      why: 'AWS refused a read: nothing was committed',
    },
    {
      error: new ProducerReset(unavailable()),
      recoveryPending: false,
      expected: 'recover',
      why: 'a send failed and its transaction was aborted: a new epoch',
    },
    {
      error: new CommitUncertain(unavailable()),
      recoveryPending: false,
      expected: 'recover',
      why: 'the commit did not answer: read the checkpoints back',
    },
    {
      error: unavailable(),
      recoveryPending: true,
      expected: 'recover',
      why: 'a recovery that failed half-way runs again, readers are not rewound',
    },
    { error: fenced(), recoveryPending: false, expected: 'stop', why: 'a newer instance owns the transactional id' },
    { error: new CommitUncertain(fenced()), recoveryPending: false, expected: 'stop', why: 'fenced under the wrapper' },
    {
      error: new ProducerReset(refused()),
      recoveryPending: true,
      expected: 'stop',
      why: 'refused whatever the moment',
    },
    {
      error: new GapError('stream', 'shard-1', '42', new Error('trimmed')),
      recoveryPending: false,
      expected: 'stop',
      why: 'gap policy fail',
    },
    {
      error: new SchemaRegistrationError('topic-value', new Error('incompatible')),
      recoveryPending: false,
      expected: 'stop',
      why: 'the registry refused the schema',
    },
    { error: new TypeError('x is undefined'), recoveryPending: false, expected: 'stop', why: 'a programming error' },
  ];
  for (const { error, recoveryPending, expected, why } of cases) {
    assert.equal(
      afterFailedRound(error, recoveryPending),
      expected,
      `${(error as Error).name}, recovery pending ${recoveryPending}: ${why}`,
    );
  }
});

test('a failed send and a failed commit: fenced stays fenced, anything else says what the producer must do', () => {
  const cases: {
    fail: (error: unknown, openMs: number) => unknown;
    error: Error;
    openMs: number;
    expected: 'fenced' | typeof ProducerReset | typeof CommitUncertain;
  }[] = [
    { fail: sendFailure, error: unavailable(), openMs: 100, expected: ProducerReset },
    { fail: sendFailure, error: fenced(), openMs: 100, expected: 'fenced' },
    { fail: commitFailure, error: unavailable(), openMs: 100, expected: CommitUncertain },
    { fail: commitFailure, error: fenced(), openMs: 100, expected: 'fenced' },
    // Open past the transaction timeout (a send retried through a long outage): the coordinator aborted it and
    // moved the epoch on, which reads as fenced; a new producer carries on, where stopping would blame another instance.
    { fail: sendFailure, error: fenced(), openMs: TRANSACTION_TIMEOUT_MS + 1, expected: ProducerReset },
    { fail: commitFailure, error: fenced(), openMs: TRANSACTION_TIMEOUT_MS, expected: CommitUncertain },
  ];
  for (const { fail, error, openMs, expected } of cases) {
    const outcome = fail(error, openMs);
    if (expected === 'fenced') assert.equal(outcome, error, `${fail.name}: the fenced error itself`);
    else {
      assert.ok(outcome instanceof expected, `${fail.name}(${error.message}) is a ${expected.name}`);
      assert.equal((outcome as Error).cause, error);
    }
  }
});

test('a round carries the pending checkpoints (a re-snapshot begun after a gap) in its own transaction', () => {
  const cases: { pending: Message[]; expected: number }[] = [
    { pending: [], expected: 0 },
    {
      pending: [{ key: 'c|snapshot:t:resnapshot-1|segment-0', value: '{"finished":false,"version":"7"}' }],
      expected: 1,
    },
  ];
  for (const { pending, expected } of cases) {
    const opened = openingCheckpoints(pending);
    assert.deepEqual(opened.checkpoints, pending);
    assert.equal(opened.pending, expected);
    assert.notEqual(opened.checkpoints, pending, 'a copy: positions the round adds do not become pending');
  }
});

test('the closing send: dead letters, then the checkpoints past them; empty topics left out', () => {
  const topics = { deadLetter: 'dlq', checkpoints: 'checkpoints' };
  const letter: Message = { key: 'k', value: 'bad' };
  const position: Message = { key: 'c|s|shard', value: '{"finished":false}' };
  const cases: { deadLetters: Message[]; checkpoints: Message[]; expected: string[] }[] = [
    { deadLetters: [letter], checkpoints: [position], expected: ['dlq', 'checkpoints'] },
    { deadLetters: [], checkpoints: [position], expected: ['checkpoints'] },
    { deadLetters: [letter], checkpoints: [], expected: ['dlq'] },
    { deadLetters: [], checkpoints: [], expected: [] },
  ];
  for (const { deadLetters, checkpoints, expected } of cases) {
    assert.deepEqual(
      closingMessages(topics, deadLetters, checkpoints).map(({ topic }) => topic),
      expected,
    );
  }
});

test('a connector fenced by another instance fails saying so and what to change; any other failure keeps its own message', () => {
  const fenced = Object.assign(new Error('The producer attempted to produce with an old epoch'), {
    name: 'KafkaJSProtocolError',
    type: 'INVALID_PRODUCER_EPOCH',
  });
  const failure = connectorFailure(fenced, 'orders-cdc');
  assert.match(failure.message, /^another instance with connector\.name "orders-cdc" took over/);
  assert.match(failure.message, /connector\.scaleOut/);
  assert.match(failure.message, /old epoch/, "KafkaJS's words are kept");
  assert.ok(isFenced(failure), 'still found fenced (a scaled-out instance takes its unit back later)');
  const refused = new Error('the registry refused');
  assert.equal(connectorFailure(refused, 'orders-cdc'), refused);
});
