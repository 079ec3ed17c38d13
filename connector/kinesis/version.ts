import { ConversionError } from '../../schemas/change-event.ts';

/**
 * Width of the sequence-number part of a Kinesis version. AWS (and moto) write 56-digit sequence
 * numbers; 60 leaves room for growth while creation micros (16 digits until the year 2286, 17 after)
 * plus 60 stays within 77 digits, which ClickHouse's UInt256 always holds.
 */
export const SEQUENCE_DIGITS = 60;

/**
 * The per-item version of a Kinesis change: the creation time in microseconds, then the record's
 * sequence number zero-padded to a fixed width. Two changes of an item in one millisecond (or
 * microsecond) are ordered by their sequence numbers: an item's changes share a shard, and child shards
 * after a reshard have higher ones. Sinks compare by length then text, which is numeric order here, and
 * the snapshot's version '0' stays below every one.
 */
export function kinesisVersion(creationTimeMicros: number, sequenceNumber: string): string {
  if (!/^\d+$/.test(sequenceNumber))
    throw new ConversionError(`sequence number ${JSON.stringify(sequenceNumber)} is not a decimal integer`);
  if (sequenceNumber.length > SEQUENCE_DIGITS) {
    throw new ConversionError(
      `sequence number ${sequenceNumber} is longer than ${SEQUENCE_DIGITS} digits: it cannot be ordered within a version that fits UInt256`,
    );
  }
  return `${creationTimeMicros}${sequenceNumber.padStart(SEQUENCE_DIGITS, '0')}`;
}

/** The lowest Kinesis version of a change created at this time: every change created later is above it. */
export const kinesisVersionAt = (creationTimeMicros: bigint): bigint =>
  creationTimeMicros * 10n ** BigInt(SEQUENCE_DIGITS);
