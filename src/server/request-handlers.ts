import type { OffsetSpec as ServiceOffsetSpec } from '../broker/broker-service.js';
import type { TopicDefinition } from '../broker/topic-definition.js';
import { ERRORS, GregorError, isGregorError } from '../errors.js';
import { groupCoordinatorOf } from '../groups/index.js';
import {
  MIN_PROTOCOL_VERSION,
  negotiateVersion,
  type OffsetSpec,
  type OpName,
  PROTOCOL_VERSION,
  type RequestOf,
  type RequestOp,
  type ResponseInput,
  type ResponseOp,
  type TopicConfig,
  type TopicDescription,
} from '../protocol/index.js';
import { BATCH_LENGTH_PREFIX_BYTES, OFF_BATCH_LENGTH, splitBatches } from '../storage/record-batch.js';
import type { ClientConnection } from './connection.js';
import type { ServerContext } from './server-context.js';

/** A handler answers with a response body, or `undefined` when the op sends nothing back. */
type Handler<K extends RequestOp> = (
  body: RequestOf<K>,
  conn: ClientConnection,
  ctx: ServerContext,
) => Promise<(K extends ResponseOp ? ResponseInput<K> : never) | undefined>;

function errorFields(err: unknown): { errorCode: number; errorMessage: string | null } {
  if (isGregorError(err)) return { errorCode: err.wire, errorMessage: err.message };
  return { errorCode: ERRORS.UNKNOWN.wire, errorMessage: ERRORS.UNKNOWN.message };
}

export function toTopicConfig(d: TopicDefinition): TopicConfig {
  return {
    name: d.name,
    partitions: d.partitions,
    replicationFactor: d.replicationFactor,
    retentionMs: d.retentionMs,
    retentionBytes: d.retentionBytes,
    kind: d.durable ? 'durable' : 'ephemeral',
  };
}

export function describeTopic(ctx: ServerContext, name: string): TopicDescription {
  const d = ctx.service.describeTopic(name);
  // In a cluster only the owned partitions are open here; the others show -1 offsets.
  const local = new Map(d.partitions.map((p) => [p.partition, p]));
  const owners = ctx.service.metadata([name]).topics[0]?.partitions ?? [];
  return {
    config: toTopicConfig(d.definition),
    partitions: Array.from({ length: d.definition.partitions }, (_, partition) => {
      const p = local.get(partition);
      const o = owners[partition];
      const leader = o?.owner ?? ctx.nodeName;
      const replicas = o?.replicas ?? [leader];
      return {
        partition,
        logStartOffset: p ? p.startOffset : -1,
        highWatermark: p ? p.endOffset : -1,
        leader,
        leaderEpoch: 0,
        replicas,
        isr: replicas,
      };
    }),
  };
}

function toServiceSpec(spec: OffsetSpec): ServiceOffsetSpec {
  return spec.kind === 'timestamp' ? { timestamp: spec.timestampMs } : spec.kind;
}

/** Splits a produce payload into batches, refusing bytes that are not whole batches. */
function wholeBatches(records: Buffer, where: string): Buffer[] {
  const batches = splitBatches(records);
  let used = 0;
  for (const b of batches) used += b.length;
  if (used !== records.length || batches.length === 0) {
    const at = used + (records.length - used >= BATCH_LENGTH_PREFIX_BYTES ? OFF_BATCH_LENGTH : 0);
    throw new GregorError(
      'CORRUPT_MESSAGE',
      `${where}: records hold ${records.length} bytes but whole batches cover ${used} (batch length at byte ${at} runs past the end)`,
    );
  }
  return batches;
}

/**
 * PUBLISH to an ephemeral topic that exists, done on the tick its frame arrived: an ephemeral
 * publish never waits for anything, and the general path's promises, closures and async frames
 * were most of the broker's garbage per message (young-generation collections several times a
 * second at 10k msgs/s). Returns the subscriber count of the last batch, or undefined when the
 * general handler must take it (topic unknown or durable). Throws what that handler would.
 */
export function publishNow(body: RequestOf<'PUBLISH'>, ctx: ServerContext): number | undefined {
  const topics = ctx.service.topics;
  if (!topics.has(body.topic) || !topics.ephemeral(body.topic)) return undefined;
  let subscribers = 0;
  for (const batch of wholeBatches(body.records, `PUBLISH ${body.topic}/${body.partition}`))
    subscribers = ctx.service.publishEphemeral(body.topic, body.partition, batch) ?? 0;
  return subscribers;
}

const HANDLERS: { [K in RequestOp]: Handler<K> } = {
  async HELLO(body, conn, ctx) {
    const version = negotiateVersion(body, {
      minVersion: MIN_PROTOCOL_VERSION,
      maxVersion: PROTOCOL_VERSION,
    });
    conn.setVersion(version, body.clientId);
    return {
      version,
      nodeName: ctx.nodeName,
      clusterName: ctx.clusterName,
      limits: {
        maxFrameBytes: ctx.maxFrameBytes,
        maxBatchBytes: ctx.maxBatchBytes,
        maxInFlightRequests: ctx.maxInFlightPerConnection,
      },
    };
  },

  async PING(body) {
    return { nonce: body.nonce, serverTimeMs: Date.now() };
  },

  async METADATA(body, _conn, ctx) {
    const names = body.topics ?? ctx.service.listTopics().map((t) => t.name);
    const md = ctx.service.metadata([]);
    return {
      nodes: md.nodes,
      topics: names.map((name) => {
        try {
          const r = ctx.service.metadata([name]).topics[0]!;
          return {
            name,
            errorCode: 0,
            kind: r.definition.durable ? ('durable' as const) : ('ephemeral' as const),
            partitions: r.partitions.map((p) => ({
              partition: p.partition,
              leader: p.owner,
              leaderEpoch: 0,
              replicas: p.replicas,
              isr: p.replicas,
            })),
          };
        } catch (err) {
          return { name, errorCode: errorFields(err).errorCode, kind: 'durable' as const, partitions: [] };
        }
      }),
    };
  },

  async CREATE_TOPIC(body, _conn, ctx) {
    const t = body.topic;
    try {
      await ctx.service.createTopic({
        name: t.name,
        partitions: t.partitions ?? undefined,
        replicationFactor: t.replicationFactor ?? undefined,
        retentionMs: t.retentionMs ?? undefined,
        retentionBytes: t.retentionBytes ?? undefined,
        durable: t.kind === 'durable',
      });
    } catch (err) {
      if (!(body.ifNotExists && isGregorError(err) && err.code === 'TOPIC_EXISTS')) throw err;
    }
    return describeTopic(ctx, t.name);
  },

  async DELETE_TOPIC(body, _conn, ctx) {
    try {
      await ctx.service.deleteTopic(body.name);
      return { deleted: true };
    } catch (err) {
      if (body.ifExists && isGregorError(err) && err.code === 'UNKNOWN_TOPIC') return { deleted: false };
      throw err;
    }
  },

  async LIST_TOPICS(_body, _conn, ctx) {
    return { topics: ctx.service.listTopics().map(toTopicConfig) };
  },

  async DESCRIBE_TOPIC(body, _conn, ctx) {
    return describeTopic(ctx, body.name);
  },

  async PRODUCE(body, _conn, ctx) {
    const partitions = await Promise.all(
      body.partitions.map(async (p) => {
        try {
          let first = -1;
          let last = -1;
          for (const batch of wholeBatches(p.records, `PRODUCE ${p.topic}/${p.partition}`)) {
            const r = await ctx.service.produce(p.topic, p.partition, batch, body.acks);
            if (first < 0) first = r.baseOffset;
            last = r.lastOffset;
          }
          const logStartOffset = ctx.service.topics.ephemeral(p.topic)
            ? -1
            : ctx.service.topics.partition(p.topic, p.partition).startOffset;
          return {
            topic: p.topic,
            partition: p.partition,
            errorCode: 0,
            errorMessage: null,
            baseOffset: first,
            lastOffset: last,
            logStartOffset,
          };
        } catch (err) {
          return {
            topic: p.topic,
            partition: p.partition,
            ...errorFields(err),
            baseOffset: -1,
            lastOffset: -1,
            logStartOffset: -1,
          };
        }
      }),
    );
    return body.acks === 0 ? undefined : { partitions };
  },

  async FETCH(body, conn, ctx) {
    let budget = body.maxBytes;
    const results = await ctx.service.fetch(
      body.partitions.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        offset: p.offset,
        maxBytes: p.maxBytes,
      })),
      { maxWaitMs: body.maxWaitMs, minBytes: body.minBytes, signal: conn.signal },
    );
    return {
      partitions: results.map((r) => {
        // The response-wide byte cap: once spent, later partitions answer with no records.
        let records = r.bytes;
        if (records.length > budget && budget < body.maxBytes) records = Buffer.alloc(0);
        budget = Math.max(0, budget - records.length);
        return {
          topic: r.topic,
          partition: r.partition,
          ...(r.error ? errorFields(r.error) : { errorCode: 0, errorMessage: null }),
          highWatermark: r.highWatermark,
          logStartOffset: r.logStartOffset,
          records,
        };
      }),
    };
  },

  async LIST_OFFSETS(body, _conn, ctx) {
    return {
      partitions: await Promise.all(
        body.partitions.map(async (p) => {
          try {
            const offset = await ctx.service.listOffset(p.topic, p.partition, toServiceSpec(p.spec));
            return {
              topic: p.topic,
              partition: p.partition,
              errorCode: 0,
              errorMessage: null,
              offset,
              timestampMs: -1,
            };
          } catch (err) {
            return {
              topic: p.topic,
              partition: p.partition,
              ...errorFields(err),
              offset: -1,
              timestampMs: -1,
            };
          }
        }),
      ),
    };
  },

  async INIT_PRODUCER_ID(_body, _conn, ctx) {
    return ctx.service.initProducerId();
  },

  async PUBLISH(body, _conn, ctx) {
    let subscribers = 0;
    for (const batch of wholeBatches(body.records, `PUBLISH ${body.topic}/${body.partition}`)) {
      subscribers = (await ctx.service.produce(body.topic, body.partition, batch, body.acks)).delivered ?? 0;
    }
    return body.acks === 0 ? undefined : { subscribers };
  },

  async SUBSCRIBE(body, conn, ctx) {
    if (ctx.service.topics.has(body.topic) && !ctx.service.topics.ephemeral(body.topic)) {
      const count = ctx.service.topics.definition(body.topic).partitions;
      for (const p of body.partitions ?? Array.from({ length: count }, (_, i) => i))
        if (p < count) ctx.service.assertOwner(body.topic, p);
    }
    return conn.subscribe(body);
  },

  async UNSUBSCRIBE(body, conn) {
    conn.unsubscribe(body.subscriptionId);
    return { subscriptionId: body.subscriptionId };
  },

  async CREDIT(body, conn) {
    conn.grant(body.subscriptionId, { messages: body.messages, bytes: body.bytes });
    return undefined;
  },

  // Consumer groups: src/groups/ does the work; see GroupCoordinator.
  JOIN_GROUP: (b, conn, ctx) =>
    groupCoordinatorOf(ctx.service).join(b, {
      host: conn.socket.remoteAddress ?? '',
      signal: conn.signal,
    }),
  SYNC_GROUP: async (b, _conn, ctx) => groupCoordinatorOf(ctx.service).sync(b),
  HEARTBEAT: async (b, _conn, ctx) => groupCoordinatorOf(ctx.service).heartbeat(b),
  LEAVE_GROUP: async (b, _conn, ctx) => groupCoordinatorOf(ctx.service).leave(b),
  COMMIT_OFFSETS: async (b, _conn, ctx) => groupCoordinatorOf(ctx.service).commit(b),
  FETCH_OFFSETS: async (b, _conn, ctx) => groupCoordinatorOf(ctx.service).fetchOffsets(b),
  ACK: async (b, _conn, ctx) => groupCoordinatorOf(ctx.service).ack(b),
  NACK: async (b, _conn, ctx) => groupCoordinatorOf(ctx.service).nack(b),
  LIST_GROUPS: async (_b, _conn, ctx) => ({ groups: groupCoordinatorOf(ctx.service).list() }),
  DESCRIBE_GROUPS: async (b, _conn, ctx) => ({
    groups: groupCoordinatorOf(ctx.service).describe(b.groupIds),
  }),
  GROUP_FETCH: async (b, conn, ctx) => groupCoordinatorOf(ctx.service).fetch(b, conn.signal),
};

/** Runs the handler for a decoded request. */
export function handleRequest(
  op: OpName,
  body: unknown,
  conn: ClientConnection,
  ctx: ServerContext,
): Promise<unknown> {
  const h = HANDLERS[op as RequestOp] as unknown as Handler<RequestOp> | undefined;
  if (!h) return Promise.reject(new GregorError('UNKNOWN_OP', `${op} is not a request`));
  return h(body as never, conn, ctx);
}
