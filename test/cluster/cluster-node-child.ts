/**
 * A cluster node in its own process, for multi-process tests (mDNS inside a network namespace).
 * Config comes as one JSON argument; it prints JSON lines on stdout:
 *   {"type":"started","id":...,"generation":...,"addresses":[...]}
 *   {"type":"members","members":[{"id","name","status","liveness"}...]}   every 200 ms
 * SIGTERM: leave gracefully, print {"type":"left"} and exit 0.
 */
import { startClusterNode } from '../../src/cluster/cluster-node.js';

const config = JSON.parse(process.argv[2] ?? '{}') as {
  dataDir: string;
  nodeName: string;
  clusterName?: string;
  mdns?: boolean;
  seeds?: string[];
  host?: string;
};

const node = await startClusterNode({
  dataDir: config.dataDir,
  nodeName: config.nodeName,
  clusterName: config.clusterName ?? 'gregormq',
  mdns: config.mdns ?? false,
  seeds: config.seeds ?? [],
  host: config.host ?? '127.0.0.1',
  clusterPort: 0,
});
const print = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
print({ type: 'started', id: node.id, generation: node.generation, addresses: node.listenAddresses() });
const timer = setInterval(() => {
  print({
    type: 'members',
    members: node.members().map((m) => ({ id: m.id, name: m.name, status: m.status, liveness: m.liveness })),
  });
}, 200);
process.on('SIGTERM', () => {
  clearInterval(timer);
  void node
    .leave()
    .then(() => node.stop())
    .then(() => {
      print({ type: 'left' });
      process.exit(0);
    });
});
