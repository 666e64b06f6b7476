/**
 * Every PromQL expression shipped to operators (dashboard panels and variables, the alert rules in
 * docs/operations.md) must parse. Prometheus' own parser decides: the expressions go into a rules
 * file that `promtool check rules` reads (CI installs promtool; without it the test is skipped).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { type Dashboard, dashboardQueries, findRepoRoot } from './static-checks.js';

const ROOT = findRepoRoot(import.meta.url);

function havePromtool(): string | false {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'promtool is not installed (Debian package prometheus)';
  }
}

/**
 * Turns a Grafana query into plain PromQL: interval variables become a duration, the other
 * template variables (only used inside regex matchers here) match anything, and
 * `label_values(selector, label)` becomes its selector.
 */
function toPromql(expr: string): string {
  const lv = /^label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\)$/.exec(expr.trim());
  const body = lv ? lv[1]! : expr;
  return body
    .replace(/\$__(rate_)?interval|\$__range/g, '5m')
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, '.*');
}

test('dashboard and documented alert expressions parse as PromQL', { skip: havePromtool() }, async (t) => {
  const dashboard = JSON.parse(
    await readFile(join(ROOT, 'charts', 'gregormq', 'dashboards', 'gregormq.json'), 'utf8'),
  ) as Dashboard;
  const exprs = dashboardQueries(dashboard).map((q) => ({ where: q.where, expr: toPromql(q.expr) }));
  const docs = await readFile(join(ROOT, 'docs', 'operations.md'), 'utf8');
  for (const m of docs.matchAll(/^\s*expr: (.+)$/gm))
    exprs.push({ where: 'docs/operations.md alert', expr: m[1]! });
  assert.ok(exprs.length > 20, `only ${exprs.length} expressions found`);

  const dir = await mkdtemp(join(tmpdir(), 'gregor-promql-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'rules.yml');
  const rules = exprs.map((e, i) => ({ record: `gregormq_check:expr_${i}`, expr: e.expr }));
  await writeFile(file, stringify({ groups: [{ name: 'dashboard', rules }] }));

  const result = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile('promtool', ['check', 'rules', file], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? 1 : 0, output: `${stdout}${stderr}` });
    });
  });
  if (result.code !== 0) {
    // promtool names the rule index; map it back to the panel it came from.
    const where = [...result.output.matchAll(/expr_(\d+)/g)].map((m) => {
      const e = exprs[Number(m[1])];
      return `${e?.where}: ${e?.expr}`;
    });
    assert.fail(`promtool rejected expressions:\n${result.output}\n${where.join('\n')}`);
  }
  assert.match(result.output, new RegExp(`SUCCESS: ${exprs.length} rules found`));
});
