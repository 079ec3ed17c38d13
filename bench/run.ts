/**
 * `npm run bench [connector|scale-out|consumers [sink...]|sinks|latency|rollups [--items N]]`: each measured path against its raw baseline in the same run, on the real stack
 * (endpoints from the environment, else the native stack, started if needed). Writes bench/results.json
 * and prints the figures as a table.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { endpointsFromEnv, localEndpoints } from '../stack/endpoints.ts';
import { stackUp } from '../stack/stack.ts';
import { benchConnector } from './connector.bench.ts';
import { benchConnectorScaleOut } from './connector-scale-out.bench.ts';
import { benchConsumers } from './consumers.bench.ts';
import type { SinkKind } from './consumer-process.ts';
import { benchLatency } from './latency.bench.ts';
import { benchRollups } from './rollups.bench.ts';
import { benchRollupSink, benchSinks } from './sinks.bench.ts';
import type { BenchResult } from './measure.ts';
import { machineAndVersions } from './versions.ts';

const resultsFile = new URL('./results.json', import.meta.url);
const kindOf = (result: BenchResult): string => result.name.split(':')[0]!;
const previousResults = (): BenchResult[] =>
  existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as BenchResult[]) : [];
/** A partial run (`npm run bench latency`) replaces its own rows and keeps the others'. */
function mergedInto(previous: BenchResult[], fresh: BenchResult[]): BenchResult[] {
  const freshKinds = new Set(fresh.map(kindOf));
  return [...previous.filter((result) => !freshKinds.has(kindOf(result))), ...fresh];
}

const endpoints = endpointsFromEnv() ?? (await stackUp(), localEndpoints);
const run = Date.now().toString(36);
const only = process.argv[2];
const results: BenchResult[] = [];
if (!only || only === 'connector') results.push(await benchConnector(endpoints, run));
if (!only || only === 'scale-out') results.push(...(await benchConnectorScaleOut(endpoints, run)));
if (!only || only === 'consumers')
  results.push(...(await benchConsumers(endpoints, run, process.argv.slice(3) as SinkKind[])));
if (!only || only === 'sinks') results.push(...(await benchSinks(endpoints, run)));
if (!only || only === 'latency') results.push(...(await benchLatency(endpoints, run)));
// The rollup sink's row comes with the sinks part in a whole run.
if (only === 'rollups') results.push(await benchRollupSink(endpoints, run));
if (!only || only === 'rollups') results.push(await benchRollups(endpoints, run, process.argv.slice(3)));

writeFileSync(resultsFile, `${JSON.stringify(only ? mergedInto(previousResults(), results) : results, null, 2)}\n`);
console.log(machineAndVersions());
console.table(results.map((result) => ({ ...result, name: kindOf(result) })));
for (const result of results) console.log(`- ${result.name}`);
process.exit(0);
