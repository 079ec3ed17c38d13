/**
 * `npm test`: finds the real servers (endpoints in the environment, else containers when a Docker engine
 * answers, else the native stack, started here if it is not running), then runs every test file with
 * Node's test runner against them and stops what it started.
 */
import { spawn } from 'node:child_process';
import { endpointsFromEnv, endpointsToEnv, localEndpoints, type Endpoints } from '../stack/endpoints.ts';
import { stackDown, stackStatus, stackUp } from '../stack/stack.ts';
import { containerRuntimeAvailable, startContainers } from './harness/containers.ts';

async function provideEndpoints(): Promise<{ endpoints: Endpoints; source: string; stop: () => Promise<void> }> {
  const given = endpointsFromEnv();
  if (given) return { endpoints: given, source: 'environment', stop: async () => {} };
  if (process.env.SHARDLINE_TEST_STACK !== 'native' && (await containerRuntimeAvailable())) {
    const { endpoints, stop } = await startContainers();
    return { endpoints, source: 'containers', stop };
  }
  const wasUp = (await stackStatus()).every((service) => service.state === 'up');
  await stackUp((message) => console.log(`# stack: ${message}`));
  return { endpoints: localEndpoints, source: 'native stack', stop: wasUp ? async () => {} : () => stackDown() };
}

const patterns = process.argv.slice(2);
const files =
  patterns.length > 0
    ? patterns
    : ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/fault/**/*.test.ts', 'test/chaos/**/*.test.ts'];
const { endpoints, source, stop } = await provideEndpoints();
console.log(`# endpoints from the ${source}`);
const exitCode = await new Promise<number>((resolve) => {
  // A test that hangs fails after ten minutes instead of holding CI.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=600000', '--test-force-exit', ...files],
    {
      stdio: 'inherit',
      // Fault tests may stop and start servers only when they belong to this run's native stack.
      env: {
        ...process.env,
        ...endpointsToEnv(endpoints),
        SHARDLINE_TEST_STACK_CONTROL: source === 'native stack' ? '1' : '0',
      },
    },
  );
  child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
});
await stop();
process.exitCode = exitCode;
