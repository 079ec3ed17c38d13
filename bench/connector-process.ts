/**
 * One connector turn in its own process, so that its peak RSS is the connector's alone: a new connector
 * name reads the recorded stream from its start (stream records -> change events -> Avro -> transactions
 * with checkpoints). Prints `RESULT {"rate":…,"peakRssMb":…}` on stdout.
 */
import { createKafka } from '../core/kafka.ts';
import { Connector } from '../connector/connector.ts';
import { ChangeEventCodec } from '../schemas/registry.ts';
import { endpointsFromEnv, localEndpoints } from '../stack/endpoints.ts';
import { baseConnectorOptions } from '../test/harness/connector.ts';
import { recordsWritten } from './connector-records.ts';
import { peakRssMb } from './measure.ts';
import { RECORDS, recordedSource, recordedStream } from './recorded-stream.ts';

export interface ConnectorRun {
  /** Names the turn's connector and topics. */
  prefix: string;
  /** Names the recorded stream. */
  run: string;
}

/** Events a second, timed from the first committed transaction, so start-up (fencing, loading checkpoints) is left out. */
async function measureConnector({ prefix, run }: ConnectorRun): Promise<number> {
  const endpoints = endpointsFromEnv() ?? localEndpoints;
  const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: prefix });
  const codec = new ChangeEventCodec({ url: endpoints.registryUrl });
  const connector = new Connector({
    ...baseConnectorOptions(prefix),
    sources: [recordedSource(recordedStream(run))],
    kafka,
    codec,
  });
  const running = connector.start();
  while ((await recordsWritten()) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  const [startCount, started] = [await recordsWritten(), performance.now()];
  while ((await recordsWritten()) < RECORDS) await new Promise((resolve) => setTimeout(resolve, 5));
  const rate = (RECORDS - startCount) / ((performance.now() - started) / 1000);
  await connector.stop();
  await running;
  return rate;
}

const rate = await measureConnector(JSON.parse(process.argv[2]!) as ConnectorRun);
console.log(`RESULT ${JSON.stringify({ rate, peakRssMb: peakRssMb() })}`);
process.exit(0);
