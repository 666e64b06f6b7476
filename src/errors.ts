/**
 * The one error table of GregorMQ. The server turns a thrown `GregorError` into an error frame
 * carrying `wire`; the client turns that number back into the same class, so `code` and
 * `retriable` mean the same thing on both sides of the connection.
 *
 * Wire numbers are stable forever: add new rows at the end, never renumber.
 */
export const ERRORS = {
  UNKNOWN: { wire: 1, retriable: false, message: 'unexpected server error' },
  CORRUPT_MESSAGE: { wire: 2, retriable: false, message: 'record batch failed validation' },
  CORRUPT_LOG: { wire: 3, retriable: false, message: 'stored log data is damaged' },
  STORAGE_ERROR: { wire: 4, retriable: true, message: 'storage operation failed' },
  OFFSET_OUT_OF_RANGE: { wire: 5, retriable: false, message: 'offset is outside the log' },
  MESSAGE_TOO_LARGE: { wire: 6, retriable: false, message: 'record batch exceeds the size limit' },
  INVALID_ARGUMENT: { wire: 7, retriable: false, message: 'invalid argument' },
  LOG_CLOSED: { wire: 8, retriable: true, message: 'partition log is closed' },
  UNSUPPORTED_VERSION: { wire: 9, retriable: false, message: 'unsupported protocol version' },
  INVALID_FRAME: { wire: 10, retriable: false, message: 'malformed frame' },
  FRAME_TOO_LARGE: { wire: 11, retriable: false, message: 'frame exceeds the maximum frame size' },
  UNKNOWN_OP: { wire: 12, retriable: false, message: 'unknown operation' },
  UNKNOWN_TOPIC: { wire: 13, retriable: false, message: 'topic does not exist' },
  UNKNOWN_PARTITION: { wire: 14, retriable: false, message: 'partition does not exist' },
  TOPIC_EXISTS: { wire: 15, retriable: false, message: 'topic already exists' },
  INVALID_TOPIC: { wire: 16, retriable: false, message: 'invalid topic definition' },
  NOT_OWNER: { wire: 17, retriable: true, message: 'this node does not own the partition' },
  OUT_OF_ORDER_SEQUENCE: { wire: 18, retriable: false, message: 'producer sequence number out of order' },
  DUPLICATE_SEQUENCE: { wire: 19, retriable: false, message: 'batch was already written' },
  TIMEOUT: { wire: 20, retriable: true, message: 'request timed out' },
  BROKER_SHUTTING_DOWN: { wire: 21, retriable: true, message: 'broker is shutting down' },
  CONNECTION_CLOSED: { wire: 22, retriable: true, message: 'connection closed' },
  BACKPRESSURE: { wire: 23, retriable: true, message: 'too many requests in flight' },
  UNKNOWN_GROUP: { wire: 24, retriable: false, message: 'consumer group does not exist' },
  UNKNOWN_MEMBER: { wire: 25, retriable: false, message: 'member is not part of the group' },
  REBALANCE_IN_PROGRESS: { wire: 26, retriable: true, message: 'group is rebalancing' },
  GROUP_NOT_EMPTY: { wire: 27, retriable: false, message: 'group has live members' },
  NOT_COORDINATOR: { wire: 28, retriable: true, message: 'this node does not coordinate the group' },
  INVALID_CONFIG: { wire: 29, retriable: false, message: 'invalid configuration' },
  FENCED: { wire: 30, retriable: false, message: 'leader epoch is stale' },
  NOT_ENOUGH_REPLICAS: { wire: 31, retriable: true, message: 'not enough in-sync replicas' },
  UNAUTHORIZED: { wire: 32, retriable: false, message: 'not allowed' },
  CLIENT_CLOSED: { wire: 33, retriable: false, message: 'client, producer or consumer is closed' },
  UNKNOWN_NODE: { wire: 34, retriable: false, message: 'node is not in the cluster roster' },
} as const satisfies Record<string, { wire: number; retriable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

const BY_WIRE = new Map<number, ErrorCode>(
  (Object.keys(ERRORS) as ErrorCode[]).map((code) => [ERRORS[code].wire, code]),
);

/** Looks up the code for a wire number; unknown numbers map to `UNKNOWN` so old clients still cope. */
export function codeForWire(wire: number): ErrorCode {
  return BY_WIRE.get(wire) ?? 'UNKNOWN';
}

/** Every error GregorMQ raises on purpose. `name` is stable so checks survive two package copies. */
export class GregorError extends Error {
  override readonly name: string = 'GregorError';
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly wire: number;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].message, options);
    this.code = code;
    this.retriable = ERRORS[code].retriable;
    this.wire = ERRORS[code].wire;
  }
}

/** True for any GregorError, also one created by another copy of this module. */
export function isGregorError(err: unknown): err is GregorError {
  return err instanceof Error && typeof (err as GregorError).code === 'string' && 'retriable' in err;
}
