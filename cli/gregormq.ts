#!/usr/bin/env node
/**
 * gregormq: runs one broker node. Configuration comes from defaults < preset < --config file <
 * GREGOR_* environment < flags (see `gregormq --help`). SIGTERM or SIGINT stops it gracefully:
 * stop accepting, answer in-flight requests, fsync, close; a second signal exits at once.
 */
import { startBroker } from '../src/broker/broker.js';
import { brokerOptionsFromConfig } from '../src/broker/options-from-config.js';
import { cliActions, configHelp, formatConfig, isConfigError, loadConfig } from '../src/config/index.js';
import { isGregorError } from '../src/errors.js';
import { registerAdminRoutes, VERSION } from '../src/http/admin-routes.js';
import { type ClusterRouteSource, registerClusterRoutes } from '../src/http/cluster-routes.js';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';

async function main(argv: string[]): Promise<number> {
  const actions = cliActions(argv);
  if (actions.help) {
    process.stdout.write(`${configHelp()}\n`);
    return 0;
  }
  if (actions.version) {
    process.stdout.write(`gregormq ${VERSION}\n`);
    return 0;
  }
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig({ argv, env: process.env, cwd: process.cwd() });
  } catch (err) {
    if (isConfigError(err)) {
      process.stderr.write(`gregormq: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const { config } = loaded;
  if (actions.printConfig) {
    process.stdout.write(
      `${formatConfig(config, loaded.sources, { format: actions.printConfig, origins: loaded.origins })}\n`,
    );
    return 0;
  }
  const logger = createLogger(config);
  const metrics = config.metrics.enabled
    ? createMetrics({ processMetrics: config.metrics.processMetrics })
    : undefined;
  metrics?.setNodeInfo({
    node: config.node.name,
    cluster: config.cluster.name,
    version: VERSION,
    zone: config.node.zone,
  });
  let broker: Awaited<ReturnType<typeof startBroker>>;
  try {
    broker = await startBroker({ ...brokerOptionsFromConfig(config, logger), metrics });
  } catch (err) {
    logger.fatal({ err }, 'broker failed to start');
    process.stderr.write(`gregormq: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  registerAdminRoutes(broker, config);
  // The cluster layer (libp2p: ~0.8 s to load) joins after the client port is open.
  const clusterSource: ClusterRouteSource = { state: 'starting' };
  registerClusterRoutes(broker.http, clusterSource);
  broker.setReadyCheck('cluster', false, 'starting');
  const cluster = import('../src/broker/cluster-membership.js')
    .then((m) =>
      m.startClusterLayer(broker, { config, origins: loaded.origins, metrics, logger }, clusterSource),
    )
    .then(async (c) => {
      // Partition ownership, topic gossip and cross-node pub/sub ride on the membership node.
      const { attachClusterServices } = await import('../src/routing/attach.js');
      await attachClusterServices(broker, c.node, {
        dataDir: config.node.dataDir,
        logger,
        deadGraceMs: config.cluster.deadGracePeriodMs,
      });
      return c;
    });
  return new Promise<number>((resolve) => {
    let stopping = false;
    cluster.catch((err) => {
      logger.fatal({ err }, 'cluster layer failed to start');
      process.stderr.write(`gregormq: cannot join the cluster: ${(err as Error).message}\n`);
      stopping = true;
      broker.stop().finally(() => resolve(1));
    });
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'stopping');
      // Leave first (peers see LEFT, not a crash), then close the client port.
      cluster
        .then(
          (c) => c.leave(),
          () => undefined,
        )
        .catch((err) => logger.warn({ err }, 'leaving the cluster failed'))
        .then(() => broker.stop())
        .then(
          () => resolve(0),
          (err) => {
            logger.error({ err }, 'error while stopping');
            resolve(1);
          },
        );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(
      `gregormq: ${isGregorError(err) ? err.message : ((err as Error)?.stack ?? String(err))}\n`,
    );
    process.exit(1);
  },
);
