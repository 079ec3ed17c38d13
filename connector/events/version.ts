import { ConversionError } from '../../schemas/change-event.ts';

/**
 * Width of the sequence-number part of a version. AWS (and moto) write Kinesis sequence numbers of 56 digits
 * and DynamoDB stream sequence numbers of 21–40; 60 leaves room for growth while a time in microseconds
 * (16 digits until the year 2286, 17 after) plus 60 stays within 77 digits, which ClickHouse's UInt256 always holds.
 */
export const SEQUENCE_DIGITS = 60;

/**
 * The per-item version of a change: a time in microseconds, then the record's sequence number zero-padded to
 * a fixed width, so versions order by the time first and by the sequence number within it. Kinesis gives the
 * change's creation time: two changes of an item in one millisecond are ordered by their sequence numbers (an
 * item's changes share a shard, and child shards after a reshard have higher ones). DynamoDB Streams gives the
 * stream's creation time, the same for all its records: they keep their sequence order, and a stream made later
 * for a table of the same name (dropped and created again, or its stream turned off and on) is above the older
 * stream's, whatever its sequence numbers. Sinks compare by length then text, which is numeric order here, and
 * the snapshot's version '0' stays below every one.
 */
export function timedVersion(timeMicros: number, sequenceNumber: string): string {
  if (!/^\d+$/.test(sequenceNumber))
    throw new ConversionError(`sequence number ${JSON.stringify(sequenceNumber)} is not a decimal integer`);
  if (sequenceNumber.length > SEQUENCE_DIGITS) {
    throw new ConversionError(
      `sequence number ${sequenceNumber} is longer than ${SEQUENCE_DIGITS} digits: it cannot be ordered within a version that fits UInt256`,
    );
  }
  return `${timeMicros}${sequenceNumber.padStart(SEQUENCE_DIGITS, '0')}`;
}

/** The lowest version at this time: every change versioned by a later time is above it. */
export const versionAt = (timeMicros: bigint): bigint => timeMicros * 10n ** BigInt(SEQUENCE_DIGITS);
