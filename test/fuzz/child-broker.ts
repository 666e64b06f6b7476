import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerChild, localBrokerArgs } from '../helpers/broker-child.js';

/** A broker running in its own process, as an operator would run it, for the fuzz test. */
export interface ChildBroker {
  /** The process. */
  proc: BrokerChild['proc'];
  port: number;
  httpPort: number;
  dataDir: string;
  /** Resident set size of the child now, bytes (from /proc/<pid>/status VmRSS). */
  rssBytes(): number;
  /** Log lines with level >= 50 (error, fatal) the broker printed so far (the first 100). */
  errors: string[];
  /** SIGTERM, wait for exit (SIGKILL after `graceMs`), remove the data dir. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `gregormq` in a child process on free ports and waits for its "listening" log line. */
export async function startChildBroker(
  extraArgs: string[] = [],
  startTimeoutMs = 20_000,
): Promise<ChildBroker> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gregor-fuzz-'));
  // A fuzz run logs a warning per bad frame: keep only the error lines, not every line.
  const b = new BrokerChild({
    args: [...localBrokerArgs(dataDir), '--log-pretty', 'false', ...extraArgs],
    keepLines: false,
  });
  const errors: string[] = [];
  b.onLine((line) => {
    if (line.level >= 50 && errors.length < 100) errors.push(JSON.stringify(line));
  });
  const stop = async (graceMs = 5000) => {
    await b.stop('SIGTERM', graceMs);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await b.listening(startTimeoutMs);
  } catch (err) {
    await stop(0);
    throw err;
  }
  return {
    proc: b.proc,
    port: b.port,
    httpPort: b.httpPort,
    dataDir,
    errors,
    rssBytes: () => b.rssBytes(),
    stop,
  };
}
