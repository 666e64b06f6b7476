/**
 * Load-generator entry: `node load.js '<LoadSpec JSON>'` runs one scenario against one system in
 * this process (never the broker's) and prints its LoadResult as the last stdout line.
 */
import { gregorLoad } from './gregor-load.js';
import { natsLoad } from './nats-load.js';
import type { LoadSpec } from './procs.js';
import { redisLoad } from './redis-load.js';
import type { LoadResult } from './stats.js';

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  let result: LoadResult;
  if (spec.system === 'gregormq') result = await gregorLoad(spec);
  else if (spec.system === 'nats') result = await natsLoad(spec);
  else if (spec.system === 'redis') result = await redisLoad(spec);
  else throw new Error(`load: unknown system ${JSON.stringify(spec.system)}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: String((err as Error)?.stack ?? err) })}\n`);
  process.exit(1);
});
