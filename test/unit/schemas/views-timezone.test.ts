// Set before any date is made: this file runs in its own process under a zone eight hours behind UTC.
process.env.TZ = 'America/Los_Angeles';

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readField, ViewError } from '../../../schemas/views.ts';

const at = (value: { S: string } | { N: string }) =>
  readField({ created_at: value }, 'created_at', { attribute: 'created_at', type: 'timestamp' });

test('timestamps without an offset are UTC, whatever the process time zone', () => {
  assert.equal(new Date(2026, 2, 1).getTimezoneOffset(), 480, 'the zone took effect');
  assert.equal(at({ S: '2026-03-01 10:00:00' }), '2026-03-01 10:00:00.000');
  assert.equal(at({ S: '2026-03-01T23:30:00' }), '2026-03-01 23:30:00.000', 'late in the day stays on its day');
  assert.equal(at({ S: '2026-03-01' }), '2026-03-01 00:00:00.000');
  assert.equal(at({ S: '2026-03-01T10:00' }), '2026-03-01 10:00:00.000');
  assert.equal(at({ S: '2026-03-01T10:00:00.25+01:00' }), '2026-03-01 09:00:00.250');
  assert.equal(at({ S: '2026-03-01T10:00:00+0100' }), '2026-03-01 09:00:00.000');
  assert.equal(at({ S: '2026-03-01T10:00:00-08' }), '2026-03-01 18:00:00.000');
  assert.equal(at({ S: '2026-03-01T10:00:00Z' }), '2026-03-01 10:00:00.000');
  // toISOString's own form, read on a shorter path: the same as the general one.
  assert.equal(at({ S: '2026-03-01T10:00:00.250Z' }), '2026-03-01 10:00:00.250');
  assert.equal(at({ S: '2024-02-29T23:59:59.999Z' }), '2024-02-29 23:59:59.999');
  assert.equal(at({ S: '2026-03-01T24:00:00.000Z' }), '2026-03-02 00:00:00.000', 'as the general parser reads it');
});

test('strings that are not ISO 8601 timestamps, or name no real day, are refused', () => {
  for (const text of [
    'March 1, 2026',
    '2026-02-30',
    '2026-03-01T25:00:00Z',
    '01/03/2026',
    '2026-02-30T10:15:00.000Z',
    '2026-04-31T00:00:00.000Z',
    '2026-03-01T10:00:60.000Z',
  ]) {
    assert.throws(
      () => at({ S: text }),
      (error: unknown) => error instanceof ViewError && error.message.includes(text),
      text,
    );
  }
});

test('epoch numbers are read as seconds, milliseconds or microseconds by their magnitude', () => {
  assert.equal(at({ N: '1772359200' }), '2026-03-01 10:00:00.000');
  assert.equal(at({ N: '1772359200.5' }), '2026-03-01 10:00:00.500');
  assert.equal(at({ N: '1772359200123' }), '2026-03-01 10:00:00.123');
  assert.equal(at({ N: '1772359200123456' }), '2026-03-01 10:00:00.123');
  assert.equal(at({ N: '-86400' }), '1969-12-31 00:00:00.000');
  // Too large for any of the three, or outside what ClickHouse's DateTime64 holds: a dead letter, not a failed insert.
  assert.throws(() => at({ N: '1772359200123456789' }), ViewError);
  assert.throws(() => at({ N: '40000000000' }), /created_at/);
  assert.throws(() => at({ S: '2300-01-01T00:00:00Z' }), /created_at/);
  assert.throws(() => at({ S: '2300-01-01T00:00:00.000Z' }), /created_at/);
  assert.throws(() => at({ S: '1899-12-31T23:59:59.999Z' }), /created_at/);
});
