import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diff } from '../../../consumers/audit/audit-sink.ts';
import { plainImage } from '../../../schemas/plain.ts';
import { hashValue, redact } from '../../../consumers/audit/redaction.ts';

test('plain images keep numbers exact, sets as sorted lists, binary as base64', () => {
  assert.deepEqual(
    plainImage({
      total: { N: '12345678901234567890.123' },
      tags: { SS: ['b', 'a'] },
      blob: { B: Buffer.from([1, 2]) },
      nested: { M: { n: { N: '1' }, l: { L: [{ BOOL: true }, { NULL: true }] } } },
    }),
    { total: '12345678901234567890.123', tags: ['a', 'b'], blob: 'AQI=', nested: { n: '1', l: [true, null] } },
  );
  assert.equal(plainImage(null), null);
});

test('field-level changes list what changed, with old and new values', () => {
  assert.deepEqual(
    diff({ status: 'new', total: '10.00', note: 'x' }, { status: 'paid', total: '10.00', paid_at: '2026-01-01' }),
    [
      { field: 'note', old: 'x', new: null },
      { field: 'paid_at', old: null, new: '2026-01-01' },
      { field: 'status', old: 'new', new: 'paid' },
    ],
  );
  assert.deepEqual(diff(null, { a: 1 }), [{ field: 'a', old: null, new: 1 }]);
});

test('lists and maps compare by value; a field set to null differs from a missing one', () => {
  assert.deepEqual(
    diff(
      { tags: ['a', 'b'], m: { x: '1' }, same: null, flag: true },
      { tags: ['a', 'b'], m: { x: '2' }, same: null, added: null, flag: 'true' },
    ),
    [
      { field: 'added', old: null, new: null },
      { field: 'flag', old: true, new: 'true' },
      { field: 'm', old: { x: '1' }, new: { x: '2' } },
    ],
  );
  const rules = {};
  const image = { a: '1' };
  assert.equal(redact(image, rules, ''), image, 'no rules: the image as it is');
});

test('sensitive fields are dropped, masked or hashed', () => {
  const redacted = redact(
    { email: 'ada@example.com', ssn: '123', card: '4111', name: 'Ada' },
    { email: 'mask', ssn: 'drop', card: 'hash' },
    'salt',
  );
  assert.deepEqual(redacted, { email: '***', card: hashValue('4111', 'salt'), name: 'Ada' });
  assert.notEqual(hashValue('4111', 'salt'), hashValue('4111', 'other'));
});
