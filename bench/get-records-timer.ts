import type { DynamoDBStreamsClient, GetRecordsCommandOutput } from '@aws-sdk/client-dynamodb-streams';
import { percentile, round } from './measure.ts';

/** One GetRecords call as the client saw it. */
interface Call {
  ms: number;
  records: number;
}

/**
 * Times the GetRecords calls made through `client` from now on (a middleware on the client, so the connector's
 * code is the same): how much of a turn the connector spent waiting for the emulator's stream. Returns their
 * summary for a row's name, over `seconds` of the turn.
 */
export function timeGetRecords(client: DynamoDBStreamsClient): (seconds: number) => string {
  const calls: Call[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const started = performance.now();
      const result = await next(args);
      if (context.commandName === 'GetRecordsCommand') {
        const records = (result.output as GetRecordsCommandOutput).Records?.length ?? 0;
        calls.push({ ms: performance.now() - started, records });
      }
      return result;
    },
    { step: 'initialize', name: 'benchGetRecordsTimer' },
  );
  return (seconds) => {
    const reading = calls.filter((call) => call.records > 0);
    const busyMs = calls.reduce((sum, call) => sum + call.ms, 0);
    const records = reading.reduce((sum, call) => sum + call.records, 0);
    const ms = reading.map((call) => call.ms);
    return `GetRecords in the turn: ${reading.length} calls with records (${calls.length - reading.length} empty), ${round(records / reading.length, 0)} records a call, p50 ${round(percentile(ms, 0.5), 0)} / p99 ${round(percentile(ms, 0.99), 0)} ms a call, busy ${round((100 * busyMs) / 1000 / seconds, 0)}% of ${seconds.toFixed(1)} s`;
  };
}
