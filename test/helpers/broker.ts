import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type Broker, type BrokerOptions, startBroker } from '../../src/broker/broker.js';
import type { ServiceRouter } from '../../src/broker/broker-service.js';

/** A broker on 127.0.0.1 with free ports in a fresh temp dir; stopped and removed after the test. */
export async function startTestBroker(
  t: Pick<TestContext, 'after'>,
  opts: Partial<BrokerOptions> = {},
): Promise<Broker & { dataDir: string }> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'gregor-test-')));
  const broker = await startBroker({
    host: '127.0.0.1',
    httpHost: '127.0.0.1',
    port: 0,
    httpPort: 0,
    nodeName: 'test-node',
    ...opts,
    dataDir,
  });
  t.after(async () => {
    await broker.stop(1000);
    if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  return Object.assign(broker, { dataDir });
}

/**
 * A stand-in for cluster routing on an in-process broker: topic admin goes to the broker's own
 * TopicManager (recording each create), and every partition has the owner `owner()` names, ''
 * meaning none (what metadata shows while a cluster has not placed a partition yet).
 */
export function fakeRouter(
  broker: Broker,
  owner: () => string = () => '',
): ServiceRouter & { created: string[] } {
  const created: string[] = [];
  return {
    created,
    assertOwner: () => undefined,
    nodes: () => [],
    owners: (def) =>
      Array.from({ length: def.partitions }, () => {
        const o = owner();
        return { owner: o === '' ? null : o, replicas: o === '' ? [] : [o] };
      }),
    createTopic: async (spec) => {
      created.push(spec.name);
      return broker.topics.create(spec);
    },
    deleteTopic: (name) => broker.topics.delete(name),
    addPartitions: (name, count) => broker.topics.addPartitions(name, count),
  };
}
