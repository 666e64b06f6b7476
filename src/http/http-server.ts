import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ERRORS, GregorError, isGregorError } from '../errors.js';

/** What a route handler returns: a JSON body (default) or raw text with its content type. */
export type RouteResult =
  | { status?: number; json: unknown }
  | { status?: number; text: string; contentType: string };

export type RouteHandler = (
  req: IncomingMessage,
  params: Record<string, string>,
  body: unknown,
) => Promise<RouteResult> | RouteResult;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: RouteHandler;
}

/** Largest admin request body accepted (bytes). */
const MAX_BODY_BYTES = 1024 * 1024;

const STATUS_BY_CODE: Partial<Record<keyof typeof ERRORS, number>> = {
  UNKNOWN_TOPIC: 404,
  UNKNOWN_PARTITION: 404,
  UNKNOWN_GROUP: 404,
  UNKNOWN_NODE: 404,
  TOPIC_EXISTS: 409,
  GROUP_NOT_EMPTY: 409,
  INVALID_ARGUMENT: 400,
  INVALID_TOPIC: 400,
  INVALID_CONFIG: 400,
  BROKER_SHUTTING_DOWN: 503,
  NOT_OWNER: 421,
};

/**
 * The HTTP side of a node (port 9441): health, metrics and the `/v1` admin API. A tiny router
 * over node:http — the surface is small and a framework would cost start-up time.
 * Errors answer as `{ error: { code, wire, retriable, message } }`, the wire protocol's table.
 */
export class HttpServer {
  private readonly routes: Route[] = [];
  private server?: Server;

  /** Registers `handler` for `method path`, where path segments like `:name` are captured. */
  route(method: string, path: string, handler: RouteHandler): this {
    const names: string[] = [];
    const pattern = new RegExp(
      `^${path.replace(/:([a-zA-Z]+)/g, (_m, n: string) => {
        names.push(n);
        return '([^/]+)';
      })}/?$`,
    );
    this.routes.push({ method, pattern, names, handler });
    return this;
  }

  async listen(port: number, host: string): Promise<number> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 5000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let pathMatched = false;
    try {
      for (const r of this.routes) {
        const m = r.pattern.exec(url.pathname);
        if (!m) continue;
        pathMatched = true;
        if (r.method !== req.method) continue;
        const params: Record<string, string> = {};
        r.names.forEach((n, i) => {
          params[n] = decodeURIComponent(m[i + 1] ?? '');
        });
        for (const [k, v] of url.searchParams) if (!(k in params)) params[k] = v;
        const body = await readJsonBody(req);
        send(res, await r.handler(req, params, body));
        return;
      }
      if (pathMatched)
        send(
          res,
          errorResult(
            new GregorError('INVALID_ARGUMENT', `method ${req.method} is not allowed on ${url.pathname}`),
            405,
          ),
        );
      else
        send(
          res,
          errorResult(
            new GregorError('INVALID_ARGUMENT', `no such endpoint: ${req.method} ${url.pathname}`),
            404,
          ),
        );
    } catch (err) {
      send(res, errorResult(err));
    }
  }
}

function errorResult(err: unknown, status?: number): RouteResult {
  const e = isGregorError(err) ? err : new GregorError('UNKNOWN', (err as Error)?.message ?? String(err));
  return {
    status: status ?? STATUS_BY_CODE[e.code] ?? (e.retriable ? 503 : 500),
    json: { error: { code: e.code, wire: e.wire, retriable: e.retriable, message: e.message } },
  };
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE') return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new GregorError('INVALID_ARGUMENT', `request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(c as Buffer);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new GregorError('INVALID_ARGUMENT', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

function send(res: ServerResponse, r: RouteResult): void {
  if ('json' in r) {
    const body = `${JSON.stringify(r.json, null, 2)}\n`;
    res.writeHead(r.status ?? 200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  } else {
    res.writeHead(r.status ?? 200, {
      'content-type': r.contentType,
      'content-length': Buffer.byteLength(r.text),
    });
    res.end(r.text);
  }
}
