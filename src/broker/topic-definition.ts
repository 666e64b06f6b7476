import { GregorError } from '../errors.js';

/** A topic as stored in metadata and shown by `topics describe`. */
export interface TopicDefinition {
  name: string;
  partitions: number;
  /** Delete closed segments older than this (ms); -1 keeps forever. */
  retentionMs: number;
  /** Keep at most this many bytes per partition; -1 means no limit. */
  retentionBytes: number;
  /** Durable topics are logs on disk; ephemeral ones fan out to live subscribers and store nothing. */
  durable: boolean;
  replicationFactor: number;
  /** ms since epoch; the tie-breaker when two nodes create the same topic at once. */
  createdAt: number;
}

/** Names the way Kafka allows them, so a Kafka listener can expose the same topics. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
export const MAX_PARTITIONS = 10_000;

export function validateTopicName(name: unknown): string {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new GregorError(
      'INVALID_TOPIC',
      `topic name ${JSON.stringify(name)} is invalid: use 1-249 characters of a-z A-Z 0-9 . _ - (not "." or "..")`,
    );
  }
  if (name.startsWith('__')) {
    throw new GregorError(
      'INVALID_TOPIC',
      `topic name "${name}" is invalid: names starting with "__" are internal`,
    );
  }
  return name;
}

export interface TopicSpec {
  name: string;
  partitions?: number;
  retentionMs?: number;
  retentionBytes?: number;
  durable?: boolean;
  replicationFactor?: number;
}

export interface TopicDefaults {
  partitions: number;
  retentionMs: number;
  retentionBytes: number;
}

function intField(spec: TopicSpec, field: keyof TopicSpec, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new GregorError(
      'INVALID_TOPIC',
      `topic "${spec.name}": ${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** Fills defaults and checks every field, naming the one that is wrong. */
export function buildTopicDefinition(
  spec: TopicSpec,
  defaults: TopicDefaults,
  now = Date.now(),
  internal = false,
): TopicDefinition {
  if (!internal) validateTopicName(spec.name);
  const maxSafe = Number.MAX_SAFE_INTEGER;
  return {
    name: spec.name,
    partitions: intField(spec, 'partitions', spec.partitions ?? defaults.partitions, 1, MAX_PARTITIONS),
    retentionMs: intField(spec, 'retentionMs', spec.retentionMs ?? defaults.retentionMs, -1, maxSafe),
    retentionBytes: intField(
      spec,
      'retentionBytes',
      spec.retentionBytes ?? defaults.retentionBytes,
      -1,
      maxSafe,
    ),
    durable: spec.durable ?? true,
    replicationFactor: intField(spec, 'replicationFactor', spec.replicationFactor ?? 1, 1, 16),
    createdAt: now,
  };
}
