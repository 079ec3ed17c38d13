import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32c } from '../../../connector/crc32c.ts';

const kafkaJsCrc32c = createRequire(import.meta.url)('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (
  buffer: Buffer,
) => number;

test("CRC-32C: the standard check value, and KafkaJS's checksum for any length and start", () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  for (let length = 0; length < 70; length++) {
    const bytes = randomBytes(length + 11);
    for (const start of [0, 1, 3, 8]) {
      assert.equal(
        crc32c(bytes, start, start + length),
        kafkaJsCrc32c(bytes.subarray(start, start + length)),
        `length ${length} from ${start}`,
      );
    }
  }
});
