/**
 * `npm run chaos -- --seed 7 --minutes 10`: the whole pipeline as separate processes under seeded faults,
 * compared with ground truth at the end. Prints the report and writes it to chaos/report.json; exit 0
 * only when it passed. Needs the native stack (it stops and starts its registry, Redis and OpenSearch).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../stack/paths.ts';
import { runChaos } from './chaos.ts';
import { writeReport } from './report.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 100_000) },
    minutes: { type: 'string', default: '5' },
    rate: { type: 'string', default: '15' },
    // More than 1: that many scaled-out connector instances (connector.scaleOut, one name), killed, added and removed.
    connectors: { type: 'string', default: '1' },
    // Where others use the stack's servers at the same time: no registry, OpenSearch or Redis outages.
    'without-stack-outages': { type: 'boolean', default: false },
  },
});
const seed = Number(values.seed);
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const connectors = Number(values.connectors);
if (!Number.isInteger(seed) || !(minutes > 0) || !(rate > 0) || !Number.isInteger(connectors) || connectors < 1) {
  console.error('usage: npm run chaos -- [--seed <integer>] [--minutes <n, fractions allowed>] [--rate <operations/s>] [--connectors <instances>] [--without-stack-outages]');
  process.exit(2);
}

const outDir = join(repoRoot, 'chaos');
const report = await runChaos({ seed, minutes, rate, connectors, outDir, stackOutages: !values['without-stack-outages'] });
writeReport(outDir, report);
console.log(JSON.stringify(report, null, 2));
process.exit(report.passed ? 0 : 1);
