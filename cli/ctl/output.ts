import type { Writable } from 'node:stream';

/**
 * Where gregorctl prints: data to stdout (buffered, honouring backpressure so `consume` of a
 * million messages does not balloon memory), messages and the progress bar to stderr.
 */
export class Output {
  private pending: string[] = [];
  private pendingChars = 0;
  /** Set when stdout's reader went away (`| head`): stop producing output. */
  closed = false;

  constructor(
    readonly stdout: Writable = process.stdout,
    readonly stderr: Writable & { isTTY?: boolean; columns?: number } = process.stderr,
  ) {
    stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closed = true;
    });
  }

  /** True when a progress bar makes sense (stderr is a terminal). */
  get interactive(): boolean {
    return this.stderr.isTTY === true;
  }

  /** Queues one line for stdout. Call `flush()` (or `line` returns a promise to await at high volume). */
  line(text: string): Promise<void> | undefined {
    if (this.closed) return undefined;
    this.pending.push(text);
    this.pendingChars += text.length + 1;
    if (this.pendingChars >= 64 * 1024) return this.flush();
    return undefined;
  }

  /** Prints one JSON value as a line. */
  json(value: unknown): Promise<void> | undefined {
    return this.line(JSON.stringify(value));
  }

  /** Writes what is queued; resolves when stdout can take more. */
  flush(): Promise<void> {
    if (this.pending.length === 0 || this.closed) return Promise.resolve();
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.pendingChars = 0;
    return new Promise((resolve) => {
      if (this.stdout.write(text)) resolve();
      else this.stdout.once('drain', () => resolve());
    });
  }

  /** A message for the human on stderr. */
  info(text: string): void {
    this.stderr.write(`${text}\n`);
  }
}

/** Renders rows as an aligned table with a header; numbers are right-aligned. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(headers), ...cells.map(fmt)].join('\n');
}

/** Human form of a duration in ms: `7d`, `12h`, `forever`. */
export function formatDurationMs(ms: number): string {
  if (ms < 0) return 'forever';
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ];
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** Human form of a byte count: `1.5 MiB`, `unlimited` for -1. */
export function formatBytes(n: number): string {
  if (n < 0) return 'unlimited';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v >= 10 ? 0 : 1)} ${units[i]}`;
}

/** A one-line progress bar on stderr, redrawn at most every 100 ms; silent unless stderr is a TTY. */
export class Progress {
  private last = 0;
  private readonly started = performance.now();
  private readonly enabled: boolean;

  constructor(
    private readonly out: Output,
    private readonly label: string,
    private readonly total: number,
  ) {
    this.enabled = out.interactive && total > 0;
  }

  /** Reports `done` of `total`. */
  update(done: number): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.last < 100 && done < this.total) return;
    this.last = now;
    const width = 30;
    const frac = Math.min(1, done / this.total);
    const filled = Math.round(frac * width);
    const rate = done / Math.max(0.001, (now - this.started) / 1000);
    this.out.stderr.write(
      `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ` +
        `${done.toLocaleString('en-US')}/${this.total.toLocaleString('en-US')} ${Math.round(rate).toLocaleString('en-US')} msg/s`,
    );
  }

  /** Clears the bar. */
  done(): void {
    if (this.enabled) this.out.stderr.write('\r\u001b[2K');
  }
}
