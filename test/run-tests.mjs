#!/usr/bin/env node
// Runs every compiled `*.test.js` under dist/test with node's test runner. Node 20's `--test`
// takes no globs and would also run helper scripts that live beside the tests.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return find(p);
    return e.name.endsWith('.test.js') ? [p] : [];
  });
}

/** Newest mtime (ms) of the .js files under `dir`. */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.js')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

// Tests spawn the shipped binaries in dist/bundle/; after a bare `tsc` they would be stale.
const bundled = 'dist/bundle/gregormq.js';
if (!existsSync(bundled) || statSync(bundled).mtimeMs < Math.max(newest('dist/src'), newest('dist/cli'))) {
  const b = spawnSync(process.execPath, ['dist/cli/bundle.js'], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

const filter = process.argv.slice(2);
const files = find('dist/test')
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  // A compiled test whose source was deleted or renamed lingers in dist/ until it is cleaned.
  .filter((f) => existsSync(f.replace(/^dist[/\\]/, '').replace(/\.js$/, '.ts')))
  .sort();
if (files.length === 0) {
  process.stderr.write('run-tests: no test files found under dist/test (did the build run?)\n');
  process.exit(1);
}
// No test may hang CI: each gets 5 minutes unless it sets its own timeout (soaks get an hour),
// and a file whose tests are done exits even if a stray handle would keep it alive.
const timeout = process.env.GREGOR_SOAK === '1' ? 3_600_000 : 300_000;
const r = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', `--test-timeout=${timeout}`, '--test-force-exit', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
