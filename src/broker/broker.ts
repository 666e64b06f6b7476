import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import pino from 'pino';
import {
  attachGroupCoordinator,
  createMemoryGroupStore,
  GroupCoordinator,
  openFileGroupStore,
} from '../groups/index.js';
import { HttpServer } from '../http/http-server.js';
import { ClientServer } from '../server/client-server.js';
import type { ServerContext } from '../server/server-context.js';
import { DEFAULT_FSYNC_POLICY } from '../storage/partition-log.js';
import type { BrokerOptions } from './broker-options.js';
import { BrokerService } from './broker-service.js';
import { createFileLogFactory, createMemoryLogFactory } from './log-factory.js';
import { createFileMetadataStore, createMemoryMetadataStore } from './metadata-store.js';
import { createFileProducerIdAllocator, createMemoryProducerIdAllocator } from './producer-ids.js';
import { TopicManager } from './topic-manager.js';

export type { BrokerOptions } from './broker-options.js';

/** Defaults for everything a caller leaves out (the config layer passes every field). */
export function defaultBrokerOptions(): BrokerOptions {
  return {
    nodeName: hostname(),
    dataDir: './data',
    host: '0.0.0.0',
    port: 9440,
    httpHost: '0.0.0.0',
    httpPort: 9441,
    logOptions: { fsync: DEFAULT_FSYNC_POLICY },
    topicDefaults: { partitions: 1, retentionMs: 7 * 24 * 3600 * 1000, retentionBytes: -1 },
    autoCreateTopics: true,
    maxFrameBytes: 17 * 1024 * 1024,
    idleTimeoutMs: 10 * 60 * 1000,
    maxInFlightPerConnection: 256,
    maxConnections: 10_000,
    retentionCheckIntervalMs: 5 * 60 * 1000,
    logger: pino({ level: 'silent' }),
  };
}

/** Why the node is or is not ready, as `/health/ready` reports it. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

/**
 * One broker node: the one place that wires storage, topics, the client server and the HTTP
 * server together. `startBroker` opens the client port first and then reports ready; `stop`
 * shuts down in the reverse order (stop accepting, answer in-flight requests, fsync, close).
 */
export class Broker {
  /** Extra HTTP routes and readiness checks are added by the layers built on top (metrics, admin). */
  readonly http = new HttpServer();
  private readonly readiness: Readiness = {
    ready: false,
    checks: { storage: { ok: false, detail: 'opening' } },
  };
  private retentionTimer?: NodeJS.Timeout;
  private stopping?: Promise<void>;
  port = 0;
  httpPort = 0;
  /** The consumer-group coordinator role of this node. */
  groups!: GroupCoordinator;
  readonly startedAt = Date.now();

  private constructor(
    readonly options: BrokerOptions,
    readonly topics: TopicManager,
    readonly service: BrokerService,
    readonly server: ClientServer,
    /** Shared by every client connection; admin routes reuse its helpers. */
    readonly serverContext: ServerContext,
  ) {}

  static async start(partial: Partial<BrokerOptions>): Promise<Broker> {
    const o: BrokerOptions = { ...defaultBrokerOptions(), ...partial };
    const log = o.logger;
    const dataDir = o.dataDir === null ? null : resolve(o.dataDir);
    if (dataDir) await mkdir(dataDir, { recursive: true });
    const metrics = o.metrics;
    const topics = await TopicManager.open({
      logs: dataDir ? createFileLogFactory(dataDir) : createMemoryLogFactory(),
      metadata: dataDir ? createFileMetadataStore(dataDir) : createMemoryMetadataStore(),
      defaults: o.topicDefaults,
      logOptions: metrics ? { ...o.logOptions, onFsync: (s) => metrics.observeFsync(s) } : o.logOptions,
      logger: log.child({ component: 'storage' }),
    });
    const advertisedHost =
      o.advertisedHost || (o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host);
    const node = { name: o.nodeName, host: advertisedHost, port: o.port };
    const service = new BrokerService({
      topics,
      producerIds: dataDir ? createFileProducerIdAllocator(dataDir) : createMemoryProducerIdAllocator(),
      node,
      autoCreateTopics: o.autoCreateTopics,
      maxBatchBytes: o.logOptions.maxBatchBytes ?? 16 * 1024 * 1024,
      logger: log,
      onProduced: metrics && ((topic, messages, bytes) => metrics.recordIn(topic, messages, bytes)),
      onFetched: metrics && ((topic, bytes, messages) => metrics.recordOut(topic, messages, bytes)),
    });
    const groupStore = dataDir
      ? await openFileGroupStore(dataDir, {
          onRecovery: (d) => log.warn(d, 'group state: cut a torn tail'),
        })
      : createMemoryGroupStore();
    const groups = new GroupCoordinator({
      service,
      store: groupStore,
      defaults: o.groups,
      logger: log.child({ component: 'groups' }),
    });
    attachGroupCoordinator(service, groups);
    const serverContext: ServerContext = {
      service,
      logger: log.child({ component: 'server' }),
      nodeName: o.nodeName,
      clusterName: null,
      maxFrameBytes: o.maxFrameBytes,
      maxBatchBytes: o.logOptions.maxBatchBytes ?? 16 * 1024 * 1024,
      maxInFlightPerConnection: o.maxInFlightPerConnection,
      idleTimeoutMs: o.idleTimeoutMs,
      onRequest: metrics && ((op, outcome, seconds) => metrics.observeRequest(op, outcome, seconds)),
      onInFlight: metrics && ((delta) => metrics.m.requestsInFlight.inc(delta)),
      onDelivered: metrics && ((topic, bytes, messages) => metrics.recordOut(topic, messages, bytes)),
    };
    const server = new ClientServer(serverContext, {
      host: o.host,
      port: o.port,
      maxConnections: o.maxConnections,
      onConnectionsChanged:
        metrics && ((_n, opened) => (opened ? metrics.connectionOpened() : metrics.connectionClosed())),
    });
    const broker = new Broker(o, topics, service, server, serverContext);
    broker.groups = groups;
    broker.readiness.checks.storage = { ok: true };
    broker.routeHealth();
    if (metrics) {
      metrics.setGroupLagProvider(() => groups.lagStats());
      metrics.setGroupMembersProvider(() => groups.memberStats());
      metrics.setLogStatsProvider(() =>
        [...topics.allPartitions()].map((p) => {
          const st = p.log.stats();
          return {
            topic: p.topic,
            partition: p.index,
            sizeBytes: st.sizeBytes,
            segments: st.segmentCount,
            startOffset: st.startOffset,
            endOffset: st.endOffset,
          };
        }),
      );
      broker.http.route('GET', '/metrics', async () => ({
        text: await metrics.render(),
        contentType: metrics.contentType,
      }));
    }
    try {
      broker.port = await server.listen();
      node.port = broker.port;
      if (o.httpPort >= 0) broker.httpPort = await broker.http.listen(o.httpPort, o.httpHost);
    } catch (err) {
      await broker.stop();
      throw err;
    }
    broker.readiness.ready = true;
    broker.retentionTimer = setInterval(() => void topics.applyRetention(), o.retentionCheckIntervalMs);
    broker.retentionTimer.unref();
    log.info({ port: broker.port, httpPort: broker.httpPort, dataDir }, 'listening');
    return broker;
  }

  /** Adds a named readiness check; the node is ready only while every check is ok. */
  setReadyCheck(name: string, ok: boolean, detail?: string): void {
    this.readiness.checks[name] = detail === undefined ? { ok } : { ok, detail };
  }

  private routeHealth(): void {
    this.http.route('GET', '/health/live', () => ({ json: { status: 'live', node: this.options.nodeName } }));
    this.http.route('GET', '/health/ready', () => {
      const ok = this.readiness.ready && Object.values(this.readiness.checks).every((c) => c.ok);
      return {
        status: ok ? 200 : 503,
        json: { status: ok ? 'ready' : 'not ready', checks: this.readiness.checks },
      };
    });
  }

  /** Graceful stop; safe to call more than once. */
  stop(graceMs = 5000): Promise<void> {
    this.stopping ??= (async () => {
      this.readiness.ready = false;
      clearInterval(this.retentionTimer);
      // Parked heartbeats and group fetches answer now instead of holding up the drain.
      await this.groups?.close();
      await this.server.close(graceMs);
      await this.http.close();
      await this.topics.close();
      this.options.logger.info('stopped');
    })();
    return this.stopping;
  }
}

/** Starts a broker node with defaults for every option not given. */
export function startBroker(options: Partial<BrokerOptions> = {}): Promise<Broker> {
  return Broker.start(options);
}
