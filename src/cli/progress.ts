import { formatCount, humanizeSeconds } from './output.js';

export interface ProgressSnapshot {
  label: string;
  done: number;
  total: number;
  elapsedMs: number;
  unit: string;
}

const BAR_WIDTH = 28;

function rateOf({ done, elapsedMs }: ProgressSnapshot): number {
  return elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
}

/** `audit-log [######------] 1,200/5,000 24% 3,100 events/s ETA 2s` */
export function formatProgress(p: ProgressSnapshot, bar: boolean): string {
  const total = Math.max(p.total, p.done);
  const ratio = total === 0 ? 1 : p.done / total;
  const rate = rateOf(p);
  const eta = p.done >= total ? '0s' : rate > 0 ? humanizeSeconds((total - p.done) / rate) : '?';
  const filled = Math.round(ratio * BAR_WIDTH);
  const parts = [
    p.label,
    ...(bar ? [`[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`] : []),
    `${formatCount(p.done)}/${formatCount(total)} ${p.unit}`,
    `${Math.floor(ratio * 100)}%`,
    `${formatCount(Math.round(rate))} ${p.unit}/s`,
    `ETA ${eta}`,
  ];
  return parts.join(' ');
}

function formatElapsed(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : humanizeSeconds(ms / 1000);
}

/** `audit-log: 5,000/5,000 events (100%) in 1.6s, 3,125 events/s` */
export function formatDone(p: ProgressSnapshot): string {
  const total = Math.max(p.total, p.done);
  const percent = total === 0 ? 100 : Math.floor((p.done / total) * 100);
  return `${p.label}: ${formatCount(p.done)}/${formatCount(total)} ${p.unit} (${percent}%) in ${formatElapsed(p.elapsedMs)}, ${formatCount(Math.round(rateOf(p)))} ${p.unit}/s`;
}

export interface ProgressOptions {
  label: string;
  total: number;
  unit?: string;
  stream?: NodeJS.WriteStream;
  /** Milliseconds between plain lines when the stream is not a terminal. */
  lineIntervalMs?: number;
}

/**
 * Progress on stderr, so stdout stays the command's result. On a terminal: one bar redrawn in
 * place (at most every 100 ms). Otherwise (a pipe, a log file, CI): a plain line at the start,
 * one every few seconds, and one at the end.
 */
export class ProgressBar {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly unit: string;
  private readonly lineIntervalMs: number;
  private readonly startedAt = Date.now();
  private lastDrawAt = 0;
  private done = 0;
  private finished = false;

  constructor(
    private readonly options: ProgressOptions,
    private total = options.total,
  ) {
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.unit = options.unit ?? 'events';
    this.lineIntervalMs = options.lineIntervalMs ?? 2000;
    this.draw(true);
  }

  update(done: number, total?: number): void {
    this.done = done;
    if (total !== undefined) this.total = total;
    this.draw(false);
  }

  /** The final state: a last bar and a summary line. */
  finish(done = this.done): void {
    if (this.finished) return;
    this.done = done;
    this.total = Math.max(this.total, done);
    // A terminal's bar is replaced by the summary; a log gets the summary as its last line.
    this.stream.write(`${this.tty ? '\r\x1b[2K' : ''}${formatDone(this.snapshot())}\n`);
    this.finished = true;
  }

  /** Leaves the terminal on a fresh line when the work failed half-way. */
  abort(): void {
    if (this.finished) return;
    if (this.tty) this.stream.write('\n');
    this.finished = true;
  }

  private snapshot(): ProgressSnapshot {
    return { label: this.options.label, done: this.done, total: this.total, elapsedMs: Date.now() - this.startedAt, unit: this.unit };
  }

  private draw(force: boolean): void {
    if (this.finished) return;
    const now = Date.now();
    if (!force && now - this.lastDrawAt < (this.tty ? 100 : this.lineIntervalMs)) return;
    this.lastDrawAt = now;
    const line = formatProgress(this.snapshot(), true);
    this.stream.write(this.tty ? `\r\x1b[2K${line}` : `${line}\n`);
  }
}
