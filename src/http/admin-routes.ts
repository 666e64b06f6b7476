import type { Broker } from '../broker/broker.js';
import type { TopicSpec } from '../broker/topic-definition.js';
import { type GregorConfig, LOG_LEVELS, type LogLevel, maskSecrets } from '../config/index.js';
import { GregorError } from '../errors.js';
import { getLogLevels, setLogLevel } from '../observability/logger.js';
import { describeTopic, toTopicConfig } from '../server/request-handlers.js';

/** The package version, reported by `/v1/node`. */
export const VERSION = '0.1.0';

function body(b: unknown): Record<string, unknown> {
  if (b === undefined) return {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) {
    throw new GregorError('INVALID_ARGUMENT', 'request body must be a JSON object');
  }
  return b as Record<string, unknown>;
}

function optionalInt(b: Record<string, unknown>, field: string): number | undefined {
  const v = b[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new GregorError(
      'INVALID_ARGUMENT',
      `field "${field}" must be an integer, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/**
 * The `/v1` admin API: the same operations as the wire protocol's admin ops, as JSON over HTTP,
 * with errors in the same code table.
 */
export function registerAdminRoutes(broker: Broker, config?: GregorConfig): void {
  const ctx = broker.serverContext;
  broker.http
    .route('GET', '/v1/topics', () => ({ json: { topics: broker.service.listTopics().map(toTopicConfig) } }))
    .route('POST', '/v1/topics', async (_req, _params, raw) => {
      const b = body(raw);
      if (typeof b.name !== 'string')
        throw new GregorError('INVALID_ARGUMENT', 'field "name" (the topic name) is required');
      const kind = b.kind ?? 'durable';
      if (kind !== 'durable' && kind !== 'ephemeral') {
        throw new GregorError(
          'INVALID_ARGUMENT',
          `field "kind" must be "durable" or "ephemeral", got ${JSON.stringify(kind)}`,
        );
      }
      const spec: TopicSpec = { name: b.name, durable: kind === 'durable' };
      for (const f of ['partitions', 'retentionMs', 'retentionBytes', 'replicationFactor'] as const) {
        const v = optionalInt(b, f);
        if (v !== undefined) spec[f] = v;
      }
      await broker.service.createTopic(spec);
      return { status: 201, json: describeTopic(ctx, b.name) };
    })
    .route('GET', '/v1/topics/:name', (_req, p) => ({ json: describeTopic(ctx, p.name!) }))
    .route('DELETE', '/v1/topics/:name', async (_req, p) => {
      await broker.service.deleteTopic(p.name!);
      return { json: { deleted: true } };
    })
    .route('GET', '/v1/node', () => ({
      json: {
        name: broker.options.nodeName,
        version: VERSION,
        startedAt: new Date(broker.startedAt).toISOString(),
        uptimeMs: Date.now() - broker.startedAt,
        ports: { client: broker.port, http: broker.httpPort },
        dataDir: broker.options.dataDir,
        connections: broker.server.connectionCount,
        topics: broker.service.listTopics().length,
      },
    }))
    .route('GET', '/v1/config', () => {
      if (!config)
        throw new GregorError('INVALID_ARGUMENT', 'this broker was started without a configuration');
      return { json: maskSecrets(config) };
    })
    .route('GET', '/v1/log-level', () => ({ json: getLogLevels(broker.options.logger) }))
    .route('PUT', '/v1/log-level', (_req, _params, raw) => {
      const b = body(raw);
      const level = b.level;
      if (typeof level !== 'string' || !(LOG_LEVELS as readonly string[]).includes(level)) {
        throw new GregorError(
          'INVALID_ARGUMENT',
          `field "level" must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`,
        );
      }
      const component = b.component;
      if (component !== undefined && typeof component !== 'string') {
        throw new GregorError('INVALID_ARGUMENT', 'field "component" must be a string');
      }
      setLogLevel(broker.options.logger, level as LogLevel, component);
      return { json: getLogLevels(broker.options.logger) };
    });
}
