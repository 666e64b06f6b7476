import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type Broker, type BrokerOptions, startBroker } from '../../src/broker/broker.js';

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
