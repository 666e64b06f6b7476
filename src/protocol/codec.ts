import { codeForWire, ERRORS, GregorError, isGregorError } from '../errors.js';
import {
  encodeFrame,
  FLAG_ERROR,
  FLAG_PUSH,
  FLAG_RESPONSE,
  type Frame,
  FrameError,
  frameKind,
  PROTOCOL_VERSION,
} from './frame.js';
import {
  CONNECTION_ERROR_OP,
  OPS,
  type OpName,
  type OpSpec,
  opLabel,
  opName,
  type PushInput,
  type PushOf,
  type PushOp,
  type RequestInput,
  type RequestOf,
  type RequestOp,
  type ResponseInput,
  type ResponseOf,
  type ResponseOp,
} from './ops.js';
import { controlCodec, type EncodedPayload, type PayloadCodec } from './payload.js';
import { bool, FieldProblem, object, optional, str, u16 } from './schema.js';

/**
 * Whole-frame encode/decode on top of the op table: what the server and the client SDK call.
 * Encoders return the buffers to write back to back (see encodeFrame); decoders take a Frame from
 * FrameDecoder and return typed bodies, throwing FrameError (non-fatal: answerable) when the
 * payload does not match its op.
 */

// --- Error body -------------------------------------------------------------------------------

/**
 * Payload of an error frame (flags RESPONSE|ERROR with the request's op and correlation id, or
 * PUSH|ERROR with op 0 for a connection error). `code` is the wire number from src/errors.ts;
 * `name` and `retriable` let an older client that does not know a newer code still log it and
 * decide whether to retry.
 */
export interface ErrorBody {
  code: number;
  name: string;
  message: string;
  retriable: boolean;
}

const errorBodyCodec = controlCodec(
  object<ErrorBody>({
    code: u16,
    name: optional(str(0, 64), ''),
    message: str(0, 65_536),
    retriable: optional(bool, false),
  }),
);

/** Error body for any thrown value; non-Gregor errors become UNKNOWN without leaking internals. */
export function toErrorBody(err: unknown): ErrorBody {
  if (isGregorError(err))
    return { code: err.wire, name: err.code, message: err.message, retriable: err.retriable };
  const u = ERRORS.UNKNOWN;
  return { code: u.wire, name: 'UNKNOWN', message: u.message, retriable: u.retriable };
}

/** The GregorError an error body stands for; a code this build does not know becomes UNKNOWN, named in the message. */
export function errorFromBody(body: ErrorBody): GregorError {
  const code = codeForWire(body.code);
  if (code !== 'UNKNOWN' || body.code === ERRORS.UNKNOWN.wire) return new GregorError(code, body.message);
  return new GregorError('UNKNOWN', `${body.message} (server error ${body.code} ${body.name})`);
}

// --- Encoding ---------------------------------------------------------------------------------

function encodeWith<In>(
  codec: PayloadCodec<unknown, In>,
  value: In,
  what: string,
  header: { version: number; flags: number; op: number; correlationId: number },
): Buffer[] {
  let payload: EncodedPayload;
  try {
    payload = codec.encode(value);
  } catch (err) {
    if (err instanceof FieldProblem) throw new GregorError('INVALID_ARGUMENT', `${what}: ${err.message}`);
    throw err;
  }
  return encodeFrame(header, payload.head, payload.raw);
}

/** Encodes a request frame (client -> server). */
export function encodeRequest<K extends RequestOp>(
  op: K,
  correlationId: number,
  body: RequestInput<K>,
  version = PROTOCOL_VERSION,
): Buffer[] {
  const spec: OpSpec = OPS[op];
  return encodeWith(spec.request!, body, `${op} request`, {
    version,
    flags: 0,
    op: spec.code,
    correlationId,
  });
}

/** Encodes a success response frame (server -> client). */
export function encodeResponse<K extends ResponseOp>(
  op: K,
  correlationId: number,
  body: ResponseInput<K>,
  version = PROTOCOL_VERSION,
): Buffer[] {
  const spec: OpSpec = OPS[op];
  return encodeWith(spec.response!, body, `${op} response`, {
    version,
    flags: FLAG_RESPONSE,
    op: spec.code,
    correlationId,
  });
}

/** Encodes a server push frame (correlation id 0). */
export function encodePush<K extends PushOp>(
  op: K,
  body: PushInput<K>,
  version = PROTOCOL_VERSION,
): Buffer[] {
  const spec: OpSpec = OPS[op];
  return encodeWith(spec.push!, body, `${op} push`, {
    version,
    flags: FLAG_PUSH,
    op: spec.code,
    correlationId: 0,
  });
}

/**
 * Encodes the error answer to a request. `op` is the request's op number (echoed even when this
 * build does not know it, e.g. for UNKNOWN_OP); `err` is usually a GregorError.
 */
export function encodeErrorResponse(
  op: number | OpName,
  correlationId: number,
  err: unknown,
  version = PROTOCOL_VERSION,
): Buffer[] {
  const code = typeof op === 'number' ? op : OPS[op].code;
  return encodeWith(errorBodyCodec, toErrorBody(err), 'error response', {
    version,
    flags: FLAG_RESPONSE | FLAG_ERROR,
    op: code,
    correlationId,
  });
}

/** Encodes the last frame before the server closes a connection (op 0, correlation 0). */
export function encodeConnectionError(err: unknown, version = PROTOCOL_VERSION): Buffer[] {
  return encodeWith(errorBodyCodec, toErrorBody(err), 'connection error', {
    version,
    flags: FLAG_PUSH | FLAG_ERROR,
    op: CONNECTION_ERROR_OP,
    correlationId: 0,
  });
}

// --- Decoding ---------------------------------------------------------------------------------

/** A decoded request, discriminated by `op`. */
export type RequestMessage = {
  [K in RequestOp]: { op: K; correlationId: number; version: number; body: RequestOf<K> };
}[RequestOp];

/** A decoded success response, discriminated by `op` (check `error === null` first). */
export type SuccessResponse = {
  [K in ResponseOp]: { op: K; correlationId: number; version: number; error: null; body: ResponseOf<K> };
}[ResponseOp];

/** A decoded error response: `op` is undefined when this build does not know the echoed op number. */
export interface ErrorResponse {
  op: OpName | undefined;
  correlationId: number;
  version: number;
  error: GregorError;
  body: null;
}

/** What `decodeResponse` returns. */
export type ResponseMessage = SuccessResponse | ErrorResponse;

/** A decoded push: a delivery, or (op null) the connection error sent before the server closes. */
export type PushMessage =
  | { [K in PushOp]: { op: K; version: number; error: null; body: PushOf<K> } }[PushOp]
  | { op: null; version: number; error: GregorError; body: null };

function invalid(frame: Frame, what: string, problem: string, cause?: unknown): FrameError {
  return new FrameError(
    'INVALID_FRAME',
    `frame at stream byte ${frame.streamOffset} (${what}, correlation ${frame.correlationId}): ${problem}`,
    { fatal: false, streamOffset: frame.streamOffset, header: frame, cause },
  );
}

function decodeWith<T>(codec: PayloadCodec<T, unknown>, frame: Frame, what: string): T {
  try {
    return codec.decode(frame.payload);
  } catch (err) {
    if (err instanceof FieldProblem) throw invalid(frame, what, err.message);
    // Anything else is a bug or a hostile payload tripping the CBOR library: still answerable.
    throw invalid(
      frame,
      what,
      `payload could not be decoded: ${err instanceof Error ? err.message : String(err)}`,
      err,
    );
  }
}

function expectKind(frame: Frame, kind: 'request' | 'response' | 'push', what: string): void {
  const actual = frameKind(frame.flags);
  if (actual !== kind)
    throw invalid(
      frame,
      what,
      `expected a ${kind} frame, flags 0x${frame.flags.toString(16)} make it a ${actual}`,
    );
}

function requireOp(frame: Frame): OpName {
  const name = opName(frame.op);
  if (name === undefined)
    throw new FrameError(
      'UNKNOWN_OP',
      `frame at stream byte ${frame.streamOffset}: unknown op ${opLabel(frame.op)}`,
      {
        fatal: false,
        streamOffset: frame.streamOffset,
        header: frame,
      },
    );
  return name;
}

/** Decodes a request frame (server side). Throws non-fatal FrameError: answer it with encodeErrorResponse. */
export function decodeRequest(frame: Frame): RequestMessage {
  const name = requireOp(frame);
  const what = `${name} request`;
  expectKind(frame, 'request', what);
  if (frame.flags & FLAG_ERROR) throw invalid(frame, what, 'a request cannot carry the error flag');
  const codec = (OPS[name] as OpSpec).request;
  if (!codec) throw invalid(frame, what, `${name} is sent by the server only`);
  const body = decodeWith(codec, frame, what);
  return { op: name, correlationId: frame.correlationId, version: frame.version, body } as RequestMessage;
}

/** Decodes a response frame (client side): either a typed body or the server's error. */
export function decodeResponse(frame: Frame): ResponseMessage {
  expectKind(frame, 'response', `${opLabel(frame.op)} response`);
  const name = opName(frame.op);
  if (frame.flags & FLAG_ERROR) {
    const body = decodeWith(errorBodyCodec, frame, `${opLabel(frame.op)} error response`);
    return {
      op: name,
      correlationId: frame.correlationId,
      version: frame.version,
      error: errorFromBody(body),
      body: null,
    };
  }
  const known = requireOp(frame);
  const codec = (OPS[known] as OpSpec).response;
  if (!codec) throw invalid(frame, `${known} response`, `${known} has no response`);
  const body = decodeWith(codec, frame, `${known} response`);
  return {
    op: known,
    correlationId: frame.correlationId,
    version: frame.version,
    error: null,
    body,
  } as SuccessResponse;
}

/**
 * Decodes a response the caller expects to be for `op` (the client knows which op it sent under
 * each correlation id). Returns the body; throws the server's GregorError for an error frame, or
 * a FrameError if the frame is malformed or answers a different op.
 */
export function decodeResponseAs<K extends ResponseOp>(op: K, frame: Frame): ResponseOf<K> {
  const msg = decodeResponse(frame);
  if (msg.error !== null) throw msg.error;
  if (msg.op !== op) throw invalid(frame, `${msg.op} response`, `expected a ${op} response`);
  return msg.body as ResponseOf<K>;
}

/** Decodes a server push (client side). */
export function decodePush(frame: Frame): PushMessage {
  expectKind(frame, 'push', `${opLabel(frame.op)} push`);
  if (frame.flags & FLAG_ERROR) {
    const body = decodeWith(errorBodyCodec, frame, 'connection error');
    return { op: null, version: frame.version, error: errorFromBody(body), body: null };
  }
  const name = requireOp(frame);
  const codec = (OPS[name] as OpSpec).push;
  if (!codec) throw invalid(frame, `${name} push`, `${name} is not a push op`);
  const body = decodeWith(codec, frame, `${name} push`);
  return { op: name, version: frame.version, error: null, body } as PushMessage;
}
