/**
 * Child process for crash.test.ts: appends to the log in argv[2] with fsync `always`, a few
 * appends in flight at a time (so group commit is exercised), and prints `ack <base> <last>`
 * for every append that resolved, i.e. was fsynced. The parent SIGKILLs it at random points.
 * Run without arguments it does nothing (the test runner may load it).
 */
import { openFileLog } from '../../src/storage/file-log.js';
import { batchFor } from './crash-batches.js';

const IN_FLIGHT = 4;
const MAX_BATCHES = 2_000_000;
const MAX_RUN_MS = 120_000;

async function main(dir: string): Promise<void> {
  const log = await openFileLog(dir, {
    fsync: { kind: 'always' },
    segmentBytes: 48 * 1024,
    indexIntervalBytes: 1024,
  });
  process.stdout.write(`open ${log.endOffset}\n`);
  const started = Date.now();
  let inFlight = 0;
  let sent = 0;
  const pump = (): void => {
    while (inFlight < IN_FLIGHT && sent < MAX_BATCHES && Date.now() - started < MAX_RUN_MS) {
      const base = log.endOffset;
      inFlight++;
      sent++;
      log.append(batchFor(base)).then(
        (r) => {
          if (r.baseOffset !== base || !r.durable) {
            process.stdout.write(`error append at ${base} resolved ${JSON.stringify(r)}\n`);
            process.exit(2);
          }
          process.stdout.write(`ack ${r.baseOffset} ${r.lastOffset}\n`);
          inFlight--;
          pump();
        },
        (err: Error) => {
          process.stdout.write(`error ${err.message}\n`);
          process.exit(3);
        },
      );
    }
    if (inFlight === 0) void log.close().then(() => process.exit(0));
  };
  pump();
}

const dir = process.argv[2];
if (dir) {
  main(dir).catch((err: Error) => {
    process.stdout.write(`error ${err.message}\n`);
    process.exit(1);
  });
}
