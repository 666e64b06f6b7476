/**
 * GregorMQ client wire protocol: frame envelope, streaming decoder, op table and typed payloads.
 * The TCP server and the client SDK import everything from here.
 */
export * from './codec.js';
export * from './frame.js';
export * from './frame-decoder.js';
export * from './messages-admin.js';
export * from './messages-data.js';
export * from './messages-groups.js';
export * from './messages-subscribe.js';
export * from './ops.js';
export {
  CBOR_OPTIONS,
  type EncodedPayload,
  PAYLOAD_PREFIX_BYTES,
  type PayloadCodec,
  type RawInput,
} from './payload.js';
export type { WireItem, WithRawInput } from './raw-codec.js';
export { type Check, FieldProblem, MAX_ARRAY_ITEMS, MAX_STRING_CHARS } from './schema.js';
