import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecimalError, normalizeDecimal, toScaled } from '../../../schemas/decimal.ts';

/** What toScaled gives, or the error class it throws. */
const outcome = (text: string, scale: number): bigint | string => {
  try {
    return toScaled(text, scale);
  } catch (error) {
    assert.ok(error instanceof DecimalError, String(error));
    return 'refused';
  }
};

test('plain decimals, read without the general pattern, come out as the general pattern reads them', () => {
  // A leading space sends the same number through the general pattern (it trims first).
  let seed = 7;
  const random = (below: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % below);
  const digits = (count: number) => Array.from({ length: count }, () => String(random(10))).join('');
  for (let round = 0; round < 5_000; round++) {
    const scale = random(7);
    const whole = digits(random(22));
    const text = random(3) === 0 ? whole : `${whole}.${digits(random(scale + 3))}`;
    assert.deepStrictEqual(outcome(text, scale), outcome(` ${text}`, scale), `${text} at scale ${scale}`);
  }
  for (const text of ['0', '007', '0.05', '5.', '.5', '', '.', '1.2.3', '12.345', '99999999999999999999999999.99'])
    for (const scale of [0, 2, 4])
      assert.deepStrictEqual(outcome(text, scale), outcome(` ${text}`, scale), `${text} at scale ${scale}`);
  assert.equal(normalizeDecimal('0075.5', 2), '75.50');
  assert.equal(normalizeDecimal('19.9', 2), '19.90');
  assert.throws(() => toScaled('19.999', 2), DecimalError);
});
