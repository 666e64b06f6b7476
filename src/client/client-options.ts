import { checkInt, InvalidOptionError } from './client-errors.js';

/**
 * Where a logger gets client events (pino-compatible: a pino logger can be passed as is).
 * Every method is optional so `{ warn: ... }` is enough.
 */
export interface ClientLogger {
  debug?(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
  error?(obj: object, msg?: string): void;
}

/** How a dropped connection is re-established. */
export interface ReconnectOptions {
  /** Wait before the first reconnect attempt, ms; doubled per failed attempt. Default 100. */
  initialDelayMs: number;
  /** Cap of the wait between attempts, ms. Default 5000. */
  maxDelayMs: number;
  /**
   * Consecutive failed attempts after which waiting requests fail with CONNECTION_CLOSED (the
   * next request starts a fresh round). Default: unlimited, requests fail by their own timeout.
   */
  maxAttempts?: number;
}

/** Options of `connect()`. */
export interface ConnectOptions {
  /** Bootstrap brokers, `host:port` (one string, a comma-separated list, or an array). */
  brokers: string | string[];
  /** Names this client in broker logs and metrics. Default `gregormq-js`. */
  clientId?: string;
  /** Give up on one TCP connect + HELLO after this long, ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Fail a request that got no answer after this long, ms (long-poll fetches add their wait). Default 30000. */
  requestTimeoutMs?: number;
  /** Reconnect backoff; merged over the defaults. */
  reconnect?: Partial<ReconnectOptions>;
  /** Where connection events are logged; default: nowhere. */
  logger?: ClientLogger;
}

/** A broker address. */
export interface BrokerAddress {
  host: string;
  port: number;
}

/** ConnectOptions with every default filled in and checked. */
export interface ResolvedConnectOptions {
  brokers: BrokerAddress[];
  clientId: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  reconnect: ReconnectOptions;
  logger: ClientLogger;
}

/** Default client protocol port (DESIGN.md section 2). */
export const DEFAULT_PORT = 9440;

/** Parses `host:port`, `host` (default port) or `[v6]:port`; throws naming `option`. */
export function parseAddress(text: string, option = 'brokers'): BrokerAddress {
  const s = text.trim();
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m?.[1]) throw new InvalidOptionError(option, `must be host:port, got ${JSON.stringify(text)}`);
  const port = m[2] === undefined ? DEFAULT_PORT : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new InvalidOptionError(
      option,
      `has port ${JSON.stringify(m[2])} outside 1..65535 in ${JSON.stringify(text)}`,
    );
  return { host: m[1], port };
}

/** Formats an address for messages: `host:port`. */
export function formatAddress(a: BrokerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Fills defaults and validates; every error names the option. */
export function resolveConnectOptions(opts: ConnectOptions): ResolvedConnectOptions {
  if (!opts || typeof opts !== 'object') throw new InvalidOptionError('connect()', 'needs an options object');
  const list = Array.isArray(opts.brokers)
    ? opts.brokers
    : typeof opts.brokers === 'string'
      ? opts.brokers.split(',')
      : undefined;
  if (!list || list.length === 0 || list.some((b) => typeof b !== 'string' || b.trim() === ''))
    throw new InvalidOptionError(
      'brokers',
      `must be one or more "host:port" strings, got ${JSON.stringify(opts.brokers)}`,
    );
  const r = opts.reconnect ?? {};
  const reconnect: ReconnectOptions = {
    initialDelayMs: checkInt('reconnect.initialDelayMs', r.initialDelayMs ?? 100, 0),
    maxDelayMs: checkInt('reconnect.maxDelayMs', r.maxDelayMs ?? 5000, 0),
  };
  if (r.maxAttempts !== undefined)
    reconnect.maxAttempts = checkInt('reconnect.maxAttempts', r.maxAttempts, 1);
  const clientId = opts.clientId ?? 'gregormq-js';
  if (typeof clientId !== 'string' || clientId.length > 255)
    throw new InvalidOptionError('clientId', 'must be a string of at most 255 characters');
  return {
    brokers: list.map((b) => parseAddress(b)),
    clientId,
    connectTimeoutMs: checkInt('connectTimeoutMs', opts.connectTimeoutMs ?? 10_000, 1),
    requestTimeoutMs: checkInt('requestTimeoutMs', opts.requestTimeoutMs ?? 30_000, 1),
    reconnect,
    logger: opts.logger ?? {},
  };
}

/**
 * Delay before reconnect attempt `attempt` (1-based): exponential from initialDelayMs, capped,
 * with "full jitter" over the upper half so many clients do not reconnect in lockstep after a
 * broker restart.
 */
export function backoffDelayMs(attempt: number, policy: ReconnectOptions, random = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
