import { connect as netConnect, type Socket } from 'node:net';

/** A RESP value: simple strings and errors as string, bulk strings as Buffer, arrays nested. */
export type RespValue = string | number | Buffer | null | RespValue[] | Error;

/** Encodes one command as a RESP array of bulk strings. */
export function encodeCommand(args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

const INCOMPLETE = Symbol('incomplete');
const noop = () => undefined;

/**
 * A hand-written Redis client: commands are written back to back (pipelined) and replies are
 * parsed incrementally and handed out in order. The fastest path a Node program has to Redis.
 */
export class RawRedis {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private readonly chunks: Buffer[] = [];
  // A queue with a moving head: Array.shift() on a 20,000-entry array copies it every time.
  private waiters: ((v: RespValue) => void)[] = [];
  private head = 0;
  /** Replies nobody waits for (fire-and-forget commands) are only counted. */
  replies = 0;

  private constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', () => undefined);
  }

  static async open(port: number): Promise<RawRedis> {
    const sock = netConnect(port, '127.0.0.1');
    sock.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    return new RawRedis(sock);
  }

  /** Writes `commands` already encoded back to back; their `count` replies are only counted. */
  sendRaw(commands: Buffer, count: number): void {
    for (let i = 0; i < count; i++) this.waiters.push(noop);
    this.sock.write(commands);
  }

  /** Sends a command and resolves with its reply. */
  call(args: (string | Buffer)[]): Promise<RespValue> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.sock.write(encodeCommand(args));
    });
  }

  /** Commands whose reply has not come yet. */
  get pending(): number {
    return this.waiters.length - this.head;
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    // Every reply ends in CRLF, so data that does not cannot finish one: wait for more rather than
    // re-parse a large reply once per 64 KiB chunk (quadratic for a 10,000-entry XRANGE page).
    if (d.length < 2 || d[d.length - 2] !== 0x0d || d[d.length - 1] !== 0x0a) return;
    if (this.pos < this.buf.length) this.chunks.unshift(this.buf.subarray(this.pos));
    this.buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks.length = 0;
    this.pos = 0;
    for (;;) {
      const start = this.pos;
      const v = this.parse();
      if (v === INCOMPLETE) {
        this.pos = start;
        return;
      }
      this.replies++;
      const w = this.waiters[this.head];
      if (w) {
        this.waiters[this.head++] = noop;
        if (this.head > 4096 && this.head * 2 > this.waiters.length) {
          this.waiters = this.waiters.slice(this.head);
          this.head = 0;
        }
        w(v);
      }
    }
  }

  private line(): string | typeof INCOMPLETE {
    const eol = this.buf.indexOf('\r\n', this.pos);
    if (eol < 0) return INCOMPLETE;
    const s = this.buf.toString('latin1', this.pos, eol);
    this.pos = eol + 2;
    return s;
  }

  private parse(): RespValue | typeof INCOMPLETE {
    const l = this.line();
    if (l === INCOMPLETE) return INCOMPLETE;
    const rest = l.slice(1);
    switch (l[0]) {
      case '+':
        return rest;
      case '-':
        return new Error(rest);
      case ':':
        return Number(rest);
      case '$': {
        const n = Number(rest);
        if (n < 0) return null;
        if (this.pos + n + 2 > this.buf.length) return INCOMPLETE;
        const b = this.buf.subarray(this.pos, this.pos + n);
        this.pos += n + 2;
        return b;
      }
      case '*': {
        const n = Number(rest);
        if (n < 0) return null;
        const out: RespValue[] = new Array(n);
        for (let i = 0; i < n; i++) {
          const v = this.parse();
          if (v === INCOMPLETE) return INCOMPLETE;
          out[i] = v;
        }
        return out;
      }
      default:
        throw new Error(`RESP: unexpected reply line ${JSON.stringify(l.slice(0, 40))}`);
    }
  }
}
