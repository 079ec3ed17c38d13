import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatScaled, normalizeDecimal, toScaled } from '../../../schemas/decimal.ts';
import { readView, ViewError } from '../../../schemas/views.ts';

test('decimals are exact at any size and refuse silent rounding', () => {
  assert.equal(toScaled('19.99', 2), 1999n);
  assert.equal(toScaled('-0.5', 2), -50n);
  assert.equal(toScaled('1.5E3', 2), 150000n);
  assert.equal(toScaled('12345678901234567890123456789012345.678', 3), 12345678901234567890123456789012345678n);
  assert.equal(normalizeDecimal('19.990', 2), '19.99');
  assert.equal(normalizeDecimal('7', 2), '7.00');
  assert.equal(formatScaled(-5n, 2), '-0.05');
  assert.throws(() => toScaled('19.995', 2), /more than 2 decimal places/);
  assert.throws(() => toScaled('abc', 2), /not a decimal/);
});

test('typed views read declared fields, with defaults, and name the field that does not fit', () => {
  const view = {
    total: { attribute: 'total', type: 'decimal', scale: 2 },
    created_at: { attribute: 'created_at', type: 'timestamp' },
    category: { attribute: 'category', type: 'string', default: 'other' },
    city: { attribute: 'address.city', type: 'string' },
  } as const;
  const image = {
    total: { N: '10.5' },
    created_at: { S: '2026-01-15T10:20:30.123456Z' },
    address: { M: { city: { S: 'Oslo' } } },
  };
  assert.deepEqual(readView(image, view), {
    total: '10.50',
    created_at: '2026-01-15 10:20:30.123',
    category: 'other',
    city: 'Oslo',
  });
  assert.equal(readView({ ...image, created_at: { N: '1768472430' } }, view).created_at, '2026-01-15 10:20:30.000');
  assert.throws(
    () => readView({ ...image, total: { S: 'ten' } }, view),
    (error: unknown) => error instanceof ViewError && /total/.test(error.message),
  );
  assert.throws(() => readView({ ...image, created_at: { S: 'yesterday' } }, view), /created_at/);
});
