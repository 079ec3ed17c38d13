import { ConfigurationError } from '../../core/errors.ts';

/**
 * A stream ARN's label: the stream's creation time in UTC, as DynamoDB writes it (2026-11-26T14:32:35.325;
 * moto gives microseconds: 2026-11-27T18:33:53.744721).
 */
const LABEL = /\/stream\/(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?$/;

/**
 * When a DynamoDB stream was created, in microseconds, from its ARN's label: the time its changes' versions
 * begin with (timedVersion), so a table's later stream is above its earlier ones.
 */
export function streamCreatedMicros(streamArn: string): number {
  const [, seconds, fraction = ''] = LABEL.exec(streamArn) ?? [];
  const millis = seconds === undefined ? Number.NaN : Date.parse(`${seconds}Z`);
  if (Number.isNaN(millis)) {
    throw new ConfigurationError(
      `stream ${streamArn}: its label is not the creation time DynamoDB gives a stream (…/stream/2026-11-26T14:32:35.325); ` +
        "without it the changes of a table's later stream could not be ordered after its earlier one's",
    );
  }
  return millis * 1000 + Number(fraction.padEnd(6, '0'));
}
