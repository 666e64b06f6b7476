import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startTestBroker } from '../helpers/broker.js';
import { findRepoRoot } from '../helpers/repo-root.js';

test('the README SDK example runs as written against a broker', async (t) => {
  const root = findRepoRoot(import.meta.url);
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /## The SDK\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'README has a ts code block under "The SDK"');
  const broker = await startTestBroker(t);
  // Same code, pointed at the test broker. It lives inside the package so `import 'gregormq'`
  // resolves to this package, as it does for a user who installed it.
  const script = join(root, 'dist', `readme-example-${process.pid}.mjs`);
  writeFileSync(script, `${block.replace('127.0.0.1:9440', `127.0.0.1:${broker.port}`)}\nprocess.exit(0);\n`);
  t.after(() => rmSync(script, { force: true }));
  // Asynchronously: the broker runs in this process and must keep serving meanwhile.
  const r = await promisify(execFile)(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 });
  assert.match(r.stdout, /^\d+ 0 customer-42 \{"total": 12\}$/m, 'the consumer printed the produced message');
});
