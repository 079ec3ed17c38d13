import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { killHard } from '../harness/processes.ts';

const bin = fileURLToPath(new URL('../../bin/shardline.js', import.meta.url));

/** Every child still running: a run cut short (a test's timeout) must not leave them behind when this process exits. */
const living = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of living) child.kill('SIGKILL');
});

/** How one Shardline process of the run is started: its command and what its config overrides. */
export interface ProcessSpec {
  name: string;
  args: string[];
  httpPort: number;
  /** Embedded ClickHouse directory, for the processes that own one. */
  clickhousePath?: string;
  /** Environment of its own (a log level). */
  env?: Record<string, string>;
}

/**
 * One `shardline` process, started the way users start it (`node bin/shardline.js -c <config> …`),
 * killed and started again by the scheduler. Its stderr (JSON logs) is appended to a file per process,
 * with a line marking each start, so a failed run keeps what every incarnation said.
 */
export class ShardlineProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  starts = 0;
  /** Times it killed itself at a fault point (SIGKILL nobody here sent). */
  selfKills = 0;
  /** Exits nobody asked for (not a kill of the scheduler, not the final stop), with their code. */
  readonly unexpectedExits: string[] = [];
  private expectingExit = false;
  /** Started with a fault point: it will kill itself at that point. */
  armed = false;

  constructor(readonly spec: ProcessSpec, private readonly configPath: string, private readonly logDir: string) {}

  get name(): string {
    return this.spec.name;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get logPath(): string {
    return join(this.logDir, `${this.spec.name}.log`);
  }

  /** Starts it; `faultEnv` (SHARDLINE_FAULT_POINT, SHARDLINE_FAULT_AFTER) makes it kill itself at a point. */
  start(faultEnv: Record<string, string> = {}): void {
    if (this.running) return;
    this.starts++;
    const log = openSync(this.logPath, 'a');
    writeSync(log, `--- start ${this.starts} at ${new Date().toISOString()} ${JSON.stringify(faultEnv)}\n`);
    const overrides: Record<string, string> = { SHARDLINE_CONFIG__http__port: String(this.spec.httpPort) };
    if (this.spec.clickhousePath) overrides.SHARDLINE_CONFIG__clickhouse__path = this.spec.clickhousePath;
    // The run's config names its own three-broker Kafka and the trimming proxy in front of moto: the test
    // runner's SHARDLINE_KAFKA_BROKERS and SHARDLINE_AWS_ENDPOINT would override them, and the pipeline would
    // run beside the faults instead of under them.
    const inherited = { ...process.env };
    delete inherited.SHARDLINE_KAFKA_BROKERS;
    delete inherited.SHARDLINE_AWS_ENDPOINT;
    const child = spawn(process.execPath, [bin, '-c', this.configPath, ...this.spec.args], {
      env: { ...inherited, SHARDLINE_LOG_LEVEL: 'warn', ...this.spec.env, ...overrides, ...faultEnv },
      stdio: ['ignore', 'ignore', log],
    });
    closeSync(log);
    this.child = child;
    living.add(child);
    child.once('exit', () => living.delete(child));
    this.expectingExit = false;
    this.armed = Object.keys(faultEnv).length > 0;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      // A fault point kills with SIGKILL too: only other exits are unexpected.
      if (!this.expectingExit && signal === 'SIGKILL') this.selfKills++;
      else if (!this.expectingExit) this.unexpectedExits.push(`${this.name}: exit ${code ?? signal} (start ${this.starts})`);
      resolve();
    }));
  }

  /** SIGKILL: no shutdown hooks, no flush. */
  async kill(): Promise<void> {
    if (!this.child) return;
    this.expectingExit = true;
    await killHard(this.child);
  }

  /** A clean stop (SIGTERM), SIGKILL if it takes longer than `graceMs`; true when it stopped cleanly with 0. */
  async stop(graceMs = 30_000): Promise<boolean> {
    if (!this.running) return true;
    this.expectingExit = true;
    const child = this.child!;
    child.kill('SIGTERM');
    const stopped = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!stopped) await killHard(child);
    return stopped && child.exitCode === 0;
  }

  /** True once its /ready endpoint answers 200 (every part it runs is ready). */
  async ready(): Promise<boolean> {
    if (!this.running) return false;
    const response = await fetch(`http://127.0.0.1:${this.spec.httpPort}/ready`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    return response?.ok ?? false;
  }
}
