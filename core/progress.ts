import { Gauge } from 'prom-client';
import { logger } from './logger.ts';
import { metricsRegistry } from './metrics.ts';

const registers = [metricsRegistry];

export const progressMetrics = {
  done: new Gauge({
    name: 'shardline_progress_done',
    help: 'Items a long task (dlq replay, search reindex) has done',
    labelNames: ['task'],
    registers,
  }),
  total: new Gauge({
    name: 'shardline_progress_total',
    help: 'Items a long task has to do, when known',
    labelNames: ['task'],
    registers,
  }),
};

export interface ProgressOptions {
  /** Where a terminal line goes; its `isTTY` chooses a redrawn line over log lines. */
  out?: NodeJS.WriteStream;
  /** Least time between two reports (a terminal line redraws faster than a log line is written). */
  everyMs?: number;
  /** Log lines even on a terminal: for work inside a running pipeline, whose other output is log lines. */
  logOnly?: boolean;
  now?: () => number;
}

/**
 * The progress of one long task: done of total, rate and time left. On a terminal a single line on
 * stderr redrawn in place; otherwise a log line now and then. The metrics `shardline_progress_done` and
 * `_total{task}` follow it either way.
 */
export class Progress {
  private done = 0;
  private lastReport = 0;
  private readonly started: number;
  private readonly out: NodeJS.WriteStream;
  private readonly redraw: boolean;
  private readonly everyMs: number;
  private readonly now: () => number;

  constructor(
    private readonly task: string,
    private total: number | undefined,
    options: ProgressOptions = {},
  ) {
    this.out = options.out ?? process.stderr;
    this.redraw = Boolean(this.out.isTTY) && !options.logOnly;
    this.everyMs = options.everyMs ?? (this.redraw ? 200 : 10_000);
    this.now = options.now ?? Date.now;
    this.started = this.now();
    if (total !== undefined) progressMetrics.total.set({ task }, total);
    progressMetrics.done.set({ task }, 0);
  }

  /** The total, once it is known (or when it grew). */
  setTotal(total: number): void {
    this.total = total;
    progressMetrics.total.set({ task: this.task }, total);
  }

  advance(items = 1): void {
    this.done += items;
    progressMetrics.done.set({ task: this.task }, this.done);
    if (this.now() - this.lastReport >= this.everyMs) this.report();
  }

  /** Clears the progress line on a terminal so that other output starts on a clean line; the next report draws it again. */
  interrupt(): void {
    if (this.redraw) this.out.write('\r\x1b[K');
  }

  /** The last report, then the terminal line is left as it is. */
  finish(): void {
    this.report();
    if (this.redraw) this.out.write('\n');
  }

  /** `task: 1,200 of 5,000 (24%), 310/s, ~12 s left` */
  describe(): string {
    const seconds = Math.max(0.001, (this.now() - this.started) / 1000);
    const rate = this.done / seconds;
    const of =
      this.total === undefined
        ? ''
        : ` of ${this.total.toLocaleString('en-US')} (${this.total === 0 ? 100 : Math.floor((this.done / this.total) * 100)}%)`;
    const left =
      this.total !== undefined && rate > 0 && this.done < this.total
        ? `, ~${Math.ceil((this.total - this.done) / rate)} s left`
        : '';
    return `${this.task}: ${this.done.toLocaleString('en-US')}${of}, ${rate < 10 ? rate.toFixed(1) : Math.round(rate)}/s${left}`;
  }

  private report(): void {
    this.lastReport = this.now();
    if (this.redraw) this.out.write(`\r${this.describe()}\x1b[K`);
    else logger.info({ task: this.task, done: this.done, total: this.total }, this.describe());
  }
}
