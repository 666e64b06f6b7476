import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy for fault tests: forwards 127.0.0.1:<port> to a target port that can change (a
 * restarted broker), can black-hole the broker's answers (a lost response) and can cut every
 * connection at once (a network failure).
 */
export class TcpProxy {
  /** Set while answers from the broker are swallowed. */
  dropResponses = false;
  private readonly pairs = new Set<[Socket, Socket]>();
  private constructor(
    private readonly server: Server,
    /** Port clients connect to. */
    readonly port: number,
    /** Broker port connections are forwarded to. */
    public targetPort: number,
  ) {}

  /** Starts a proxy on a free port in front of `targetPort`. */
  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy!.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    proxy = new TcpProxy(server, port, targetPort);
    return proxy;
  }

  private accept(client: Socket): void {
    const upstream = netConnect({ host: '127.0.0.1', port: this.targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (!this.dropResponses) client.write(d);
    });
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  }

  /** Open client connections. */
  get connections(): number {
    return this.pairs.size;
  }

  /** Destroys every proxied connection (both sides). */
  cutAll(): void {
    for (const [a, b] of [...this.pairs]) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  /** Stops listening and cuts everything. */
  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
