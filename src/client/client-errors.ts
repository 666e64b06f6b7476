import { type ErrorCode, GregorError } from '../errors.js';

/*
 * The client's own error classes. Each is a GregorError (so `instanceof GregorError`,
 * `isGregorError`, `code` and `retriable` keep working) with a stable `name` for logs and for
 * checks that must survive two copies of the package. Errors the server sends back arrive as plain
 * GregorErrors built from the shared table in src/errors.ts.
 */

/** The connection to a broker failed or closed; requests in flight on it have an unknown outcome. */
export class ConnectionError extends GregorError {
  override readonly name: string = 'ConnectionError';
  /** `host:port` of the broker. */
  readonly address: string;

  constructor(address: string, message: string, options?: { cause?: unknown }) {
    super('CONNECTION_CLOSED', `${address}: ${message}`, options);
    this.address = address;
  }
}

/** A request got no answer in time. Retriable; the request may or may not have taken effect. */
export class RequestTimeoutError extends GregorError {
  override readonly name: string = 'RequestTimeoutError';

  constructor(message: string) {
    super('TIMEOUT', message);
  }
}

/** An option passed to the SDK is invalid; the message names the option. */
export class InvalidOptionError extends GregorError {
  override readonly name: string = 'InvalidOptionError';
  /** Dotted name of the offending option, e.g. `producer.lingerMs`. */
  readonly option: string;

  constructor(option: string, problem: string) {
    super('INVALID_ARGUMENT', `${option} ${problem}`);
    this.option = option;
  }
}

/** A call on a client, producer or consumer after `close()`. */
export class ClientClosedError extends GregorError {
  override readonly name: string = 'ClientClosedError';

  constructor(what: string) {
    super('CLIENT_CLOSED', `${what} is closed`);
  }
}

/** Builds a GregorError for a per-partition error code in a response. */
export function partitionError(
  wire: number,
  message: string | null,
  where: string,
  codeForWire: (w: number) => ErrorCode,
): GregorError {
  const code = codeForWire(wire);
  return new GregorError(code, `${where}: ${message ?? code}`);
}

/** Checks that `value` is an integer in [min, max]; throws InvalidOptionError naming `option`. */
export function checkInt(option: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
    throw new InvalidOptionError(option, `must be an integer ${range}, got ${JSON.stringify(value)}`);
  }
  return value;
}
