import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stoppedBecause } from '../../../cli/context.ts';

test('a run fenced by another instance says so and what to change; any other failure keeps its own message', () => {
  const fenced = Object.assign(new Error('The producer attempted to produce with an old epoch'), {
    name: 'KafkaJSProtocolError',
    type: 'INVALID_PRODUCER_EPOCH',
  });
  const message = stoppedBecause(fenced, 'orders-cdc');
  assert.match(message, /^another instance with connector\.name "orders-cdc" took over/);
  assert.match(message, /connector\.scaleOut/);
  assert.match(message, /old epoch/, "KafkaJS's words are kept");
  assert.equal(stoppedBecause(new Error('the registry refused'), 'orders-cdc'), 'the registry refused');
});
