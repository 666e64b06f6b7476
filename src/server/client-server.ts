import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import { GregorError } from '../errors.js';
import { ClientConnection } from './connection.js';
import type { ServerContext } from './server-context.js';

export interface ClientServerOptions {
  host: string;
  port: number;
  maxConnections: number;
  onConnectionsChanged?: (open: number, opened: boolean) => void;
}

/**
 * The client-protocol listener (port 9440). Owns the set of live connections so shutdown can stop
 * accepting, let in-flight requests finish, and only then close sockets.
 */
export class ClientServer {
  private server?: Server;
  private readonly connections = new Set<ClientConnection>();
  private nextId = 1;

  constructor(
    private readonly ctx: ServerContext,
    private readonly opts: ClientServerOptions,
  ) {}

  get connectionCount(): number {
    return this.connections.size;
  }

  async listen(): Promise<number> {
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  private accept(socket: Socket): void {
    if (this.connections.size >= this.opts.maxConnections) {
      this.ctx.logger.warn(
        { remote: socket.remoteAddress, max: this.opts.maxConnections },
        'connection refused: too many connections',
      );
      socket.destroy();
      return;
    }
    const conn = new ClientConnection(socket, this.ctx, this.nextId++);
    this.connections.add(conn);
    this.opts.onConnectionsChanged?.(this.connections.size, true);
    socket.on('close', () => {
      this.connections.delete(conn);
      this.opts.onConnectionsChanged?.(this.connections.size, false);
    });
  }

  /**
   * Graceful stop: refuse new connections, stop reading requests, wait up to `graceMs` for the
   * in-flight ones to be answered, then tell each client the broker is going away and close.
   */
  async close(graceMs = 5000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...this.connections].map((c) => c.drain(graceMs)));
    for (const c of this.connections)
      c.fail(new GregorError('BROKER_SHUTTING_DOWN', 'broker is shutting down'));
    const deadline = Date.now() + 2000;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.connections) c.socket.destroy();
    await closed;
  }
}
