/**
 * The broker-to-broker data channel: plain TCP (DESIGN.md section 5: libp2p streams are 5-20x
 * slower than a socket), one connection per peer, carrying record batches unchanged.
 *
 * Frame layout (big-endian), every frame:
 *
 *   u32 length      bytes after this field
 *   u8  type        0 = HELLO, 1 = PUBLISH
 *   HELLO:   utf8   cluster name (rest of the frame); first frame of a connection, else it is closed
 *   PUBLISH: u16 topic length, topic utf8, u32 partition, then the batch bytes (rest of the frame)
 *
 * Delivery is at-most-once, like ephemeral pub/sub itself: a link whose socket buffer is over
 * `maxQueuedBytes` drops batches instead of growing memory, and a broken link drops what was in
 * flight and reconnects on the next send.
 */

import { connect, createServer, type Server, type Socket } from 'node:net';

/** Frame types. */
export const FRAME_HELLO = 0;
/** A batch published to an ephemeral topic partition. */
export const FRAME_PUBLISH = 1;
/** Largest frame accepted (a batch is at most 16 MiB plus the header). */
export const MAX_FRAME_BYTES = 17 * 1024 * 1024;

/** Called for each PUBLISH frame received. */
export type PublishHandler = (topic: string, partition: number, batch: Buffer) => void;

/** Parses a byte stream into frames; calls `onFrame(type, body)`. Throws on a frame over the limit. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (type: number, body: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let off = 0;
    while (this.buf.length - off >= 5) {
      const len = this.buf.readUInt32BE(off);
      if (len < 1 || len > MAX_FRAME_BYTES)
        throw new Error(`interbroker frame at byte ${off} declares length ${len} (1..${MAX_FRAME_BYTES})`);
      if (this.buf.length - off - 4 < len) break;
      const type = this.buf[off + 4]!;
      this.onFrame(type, this.buf.subarray(off + 5, off + 4 + len));
      off += 4 + len;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
  }
}

/** Header of a PUBLISH frame (length, type, topic, partition); the batch follows it. */
export function publishHeader(topic: string, partition: number, batchBytes: number): Buffer {
  // The topic is written straight into the header: one small (pooled) allocation per batch.
  const tl = Buffer.byteLength(topic);
  const h = Buffer.allocUnsafe(4 + 1 + 2 + tl + 4);
  h.writeUInt32BE(1 + 2 + tl + 4 + batchBytes, 0);
  h[4] = FRAME_PUBLISH;
  h.writeUInt16BE(tl, 5);
  h.write(topic, 7, tl, 'utf8');
  h.writeUInt32BE(partition, 7 + tl);
  return h;
}

/** Decodes a PUBLISH body; undefined when malformed. */
export function decodePublish(body: Buffer): { topic: string; partition: number; batch: Buffer } | undefined {
  if (body.length < 6) return undefined;
  const tl = body.readUInt16BE(0);
  if (body.length < 2 + tl + 4) return undefined;
  return {
    topic: body.toString('utf8', 2, 2 + tl),
    partition: body.readUInt32BE(2 + tl),
    batch: body.subarray(2 + tl + 4),
  };
}

function helloFrame(clusterName: string): Buffer {
  const n = Buffer.from(clusterName);
  const f = Buffer.allocUnsafe(5 + n.length);
  f.writeUInt32BE(1 + n.length, 0);
  f[4] = FRAME_HELLO;
  n.copy(f, 5);
  return f;
}

/** Accepts peer connections and hands PUBLISH frames to `onPublish`. */
export class InterbrokerServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Frames refused or connections closed for a bad handshake (for logs/metrics). */
  rejected = 0;

  constructor(
    private readonly clusterName: string,
    private readonly onPublish: PublishHandler,
  ) {
    this.server = createServer((s) => this.accept(s));
  }

  private accept(s: Socket): void {
    this.sockets.add(s);
    s.setNoDelay(true);
    let greeted = false;
    const reader = new FrameReader((type, body) => {
      if (!greeted) {
        if (type !== FRAME_HELLO || body.toString() !== this.clusterName) throw new Error('bad hello');
        greeted = true;
        return;
      }
      if (type !== FRAME_PUBLISH) return;
      const m = decodePublish(body);
      if (m) this.onPublish(m.topic, m.partition, m.batch);
    });
    s.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch {
        this.rejected++;
        s.destroy();
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => this.sockets.delete(s));
  }

  /** Binds; resolves with the port (0 picks one). */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** One outgoing connection to a peer's interbroker server, reconnecting lazily. */
export class InterbrokerLink {
  private socket?: Socket;
  private corked = false;
  /** Batches dropped because the link was congested or down. */
  dropped = 0;
  sent = 0;

  constructor(
    readonly address: { host: string; port: number },
    private readonly clusterName: string,
    private readonly maxQueuedBytes = 8 * 1024 * 1024,
  ) {}

  private open(): Socket {
    const s = connect({ host: this.address.host, port: this.address.port, noDelay: true });
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.socket === s) this.socket = undefined;
    });
    s.write(helloFrame(this.clusterName));
    this.socket = s;
    return s;
  }

  /** Queues one batch; false when it was dropped (congested link). */
  send(topic: string, partition: number, batch: Buffer): boolean {
    const s = this.socket ?? this.open();
    if (s.writableLength > this.maxQueuedBytes) {
      this.dropped++;
      return false;
    }
    // Cork for the rest of this tick so many small batches leave in one writev.
    if (!this.corked) {
      this.corked = true;
      s.cork();
      process.nextTick(() => {
        this.corked = false;
        s.uncork();
      });
    }
    s.write(publishHeader(topic, partition, batch.length));
    s.write(batch);
    this.sent++;
    return true;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}
