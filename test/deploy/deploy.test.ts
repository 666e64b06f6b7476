/**
 * Static checks of what ships for deployment: the Grafana dashboard against the metrics the broker
 * really exports, the Helm chart (no helm binary here: structure, value references, ports, and a
 * YAML skeleton of every template), and the Dockerfile (ports, user, health check, entry point).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { buildSchema } from '../../src/config/schema.js';
import {
  allPanels,
  blockProblems,
  type Dashboard,
  dashboardQueries,
  findRepoRoot,
  gregorEnvNames,
  hasValuePath,
  isExportedSeries,
  type MetricKind,
  metricNamesInPromql,
  parseDockerfile,
  templateNames,
  valuesReferences,
  yamlSkeleton,
} from './static-checks.js';

const ROOT = findRepoRoot(import.meta.url);
const CHART = join(ROOT, 'charts', 'gregormq');
const PORTS = { client: 9440, http: 9441, cluster: 9442 };

const read = (...parts: string[]): string => readFileSync(join(ROOT, ...parts), 'utf8');

/** The parts of values.yaml these checks read. */
interface ValuesShape {
  replicaCount: unknown;
  service: { ports: unknown };
  dashboard: { labels: Record<string, unknown> };
  metrics: { serviceMonitor: { enabled: unknown } };
  persistence: { size: unknown };
  podSecurityContext: { runAsNonRoot: unknown };
}

/** The parts of a rendered-skeleton container these checks read. */
interface ContainerShape {
  name: string;
  env: { name: string; value?: unknown }[];
  ports: { name: string }[];
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string } };
}

interface StatefulSetShape {
  spec: { template: { spec: { containers: ContainerShape[]; terminationGracePeriodSeconds?: unknown } } };
}

interface ServiceShape {
  spec: { clusterIP?: string; publishNotReadyAddresses?: boolean; ports: { name: string }[] };
}

function loadDashboard(): Dashboard {
  return JSON.parse(read('charts', 'gregormq', 'dashboards', 'gregormq.json')) as Dashboard;
}

/**
 * Metric names and kinds the broker exports, read from the exposition text of the registry that
 * `createMetrics()` (src/observability/metrics.ts) builds. Imported by URL so this file compiles
 * whatever that module's exact typing is.
 */
async function exportedMetrics(): Promise<Map<string, MetricKind>> {
  const url = pathToFileURL(join(ROOT, 'dist', 'src', 'observability', 'metrics.js')).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(
      `cannot load the broker's metrics module (src/observability/metrics.ts): ${(err as Error).message}`,
    );
  }
  const create = mod.createMetrics;
  assert.equal(typeof create, 'function', 'src/observability/metrics.ts must export createMetrics()');
  const metrics = (create as (opts?: unknown) => { registry?: { metrics(): Promise<string> | string } })({
    processMetrics: true,
  });
  const registry = metrics.registry;
  assert.ok(registry && typeof registry.metrics === 'function', 'createMetrics() must return { registry }');
  const text = await registry.metrics();
  const kinds = new Map<string, MetricKind>();
  for (const m of text.matchAll(/^# TYPE (\S+) (counter|gauge|histogram|summary)\s*$/gm)) {
    kinds.set(m[1]!, m[2] as MetricKind);
  }
  return kinds;
}

test('dashboard: valid JSON, unique panel ids, a query in every panel, a datasource variable', () => {
  const d = loadDashboard();
  assert.ok((d.schemaVersion ?? 0) >= 36, `schemaVersion ${d.schemaVersion} is older than Grafana 9`);
  assert.ok(d.uid, 'dashboard needs a stable uid so re-imports replace it');
  const panels = allPanels(d);
  assert.ok(panels.length > 10, `only ${panels.length} panels`);
  const ids = panels.map((p) => p.id);
  for (const id of ids) assert.equal(typeof id, 'number', `a panel has no numeric id: ${JSON.stringify(id)}`);
  const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
  assert.deepEqual(dupes, [], `duplicate panel ids: ${dupes.join(', ')}`);
  for (const p of panels) {
    if (p.type === 'row') continue;
    const exprs = (p.targets ?? []).filter((t) => typeof t.expr === 'string' && t.expr.trim() !== '');
    assert.ok(exprs.length > 0, `panel ${p.id} "${p.title}" has no query`);
    const refIds = (p.targets ?? []).map((t) => t.refId);
    assert.equal(new Set(refIds).size, refIds.length, `panel ${p.id} "${p.title}" repeats a refId`);
  }
  const vars = d.templating?.list ?? [];
  assert.ok(
    vars.some((v) => v.type === 'datasource' && v.name === 'datasource'),
    'a $datasource variable lets the dashboard work with any Prometheus data source',
  );
  // Hard-coded data source uids break on every Grafana but the author's.
  const uids = new Set<string>();
  JSON.stringify(d, (key, value: unknown) => {
    if (key === 'datasource' && value && typeof value === 'object')
      uids.add(String((value as { uid?: string }).uid));
    return value;
  });
  // Grafana's own variable syntax, not a JS template.
  const dsVar = ['$', '{datasource}'].join('');
  uids.delete(dsVar);
  uids.delete('-- Grafana --');
  assert.deepEqual([...uids], [], `panels must use the ${dsVar} variable`);
});

test('dashboard: covers throughput, latency percentiles, lag, storage, process and cluster', () => {
  const all = dashboardQueries(loadDashboard())
    .filter((q) => q.where.startsWith('panel'))
    .map((q) => q.expr)
    .join('\n');
  for (const q of ['0.5', '0.99', '0.999']) {
    assert.match(
      all,
      new RegExp(
        `histogram_quantile\\(${q.replace('.', '\\.')}, [^\\n]*gregormq_request_duration_seconds_bucket`,
      ),
    );
  }
  for (const name of [
    'gregormq_messages_in_total',
    'gregormq_messages_out_total',
    'gregormq_bytes_in_total',
    'gregormq_bytes_out_total',
    'gregormq_requests_total',
    'gregormq_consumer_group_lag',
    'gregormq_log_size_bytes',
    'gregormq_fsync_duration_seconds_bucket',
    'gregormq_connections',
    'gregormq_process_resident_memory_bytes',
    'gregormq_cluster_members',
    'gregormq_cluster_member_phi',
    'gregormq_partitions_owned',
  ]) {
    assert.ok(all.includes(name), `no panel shows ${name}`);
  }
  // Counters are only meaningful as rates.
  for (const m of all.matchAll(/gregormq_[a-z0-9_]+_total\b/g)) {
    const at = m.index;
    const before = all.slice(Math.max(0, at - 12), at);
    assert.match(before, /rate\($/, `counter ${m[0]} is used without rate()`);
  }
});

test('dashboard: every metric it queries is exported by the broker', async () => {
  const exported = await exportedMetrics();
  assert.ok(exported.size > 0, 'the metrics registry exported nothing');
  const missing: string[] = [];
  for (const { where, expr } of dashboardQueries(loadDashboard())) {
    for (const name of metricNamesInPromql(expr, 'gregormq_')) {
      if (!isExportedSeries(name, exported)) missing.push(`${name} (${where})`);
    }
  }
  assert.deepEqual(missing, [], `queried but not exported:\n  ${missing.join('\n  ')}`);

  // The alert rules suggested in docs/operations.md must query real metrics too.
  const docExprs = [...read('docs', 'operations.md').matchAll(/^\s*expr: (.+)$/gm)].map((m) => m[1]!);
  assert.ok(docExprs.length > 0, 'docs/operations.md lost its alert examples');
  for (const expr of docExprs) {
    for (const name of metricNamesInPromql(expr, 'gregormq_')) {
      assert.ok(
        isExportedSeries(name, exported),
        `docs/operations.md alert queries ${name}, which is not exported`,
      );
    }
  }
});

test('chart: Chart.yaml and values.yaml parse and carry the documented defaults', () => {
  const chart = parseYaml(read('charts', 'gregormq', 'Chart.yaml')) as Record<string, unknown>;
  assert.equal(chart.apiVersion, 'v2');
  assert.equal(chart.name, 'gregormq');
  assert.match(String(chart.version), /^\d+\.\d+\.\d+/);
  const pkg = JSON.parse(read('package.json')) as { version: string };
  assert.equal(chart.appVersion, pkg.version, 'appVersion should follow package.json');

  const values = parseYaml(read('charts', 'gregormq', 'values.yaml')) as ValuesShape;
  assert.equal(values.replicaCount, 3);
  assert.deepEqual(values.service.ports, PORTS);
  assert.equal(values.dashboard.labels.grafana_dashboard, '1');
  assert.equal(values.metrics.serviceMonitor.enabled, false, 'ServiceMonitor needs CRDs: off by default');
  assert.equal(typeof values.persistence.size, 'string');
  assert.equal(values.podSecurityContext.runAsNonRoot, true);
});

test('chart: templates nest, reference only existing values, includes and files', () => {
  const values = parseYaml(read('charts', 'gregormq', 'values.yaml'));
  const dir = join(CHART, 'templates');
  const files = readdirSync(dir).filter((f) => /\.(ya?ml|tpl|txt)$/.test(f));
  assert.ok(
    files.includes('statefulset.yaml') && files.includes('_helpers.tpl') && files.includes('NOTES.txt'),
  );
  const defined = new Set<string>();
  const used: { file: string; name: string }[] = [];
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    assert.deepEqual(blockProblems(text), [], `${f}: unbalanced template blocks`);
    for (const ref of valuesReferences(text)) {
      assert.ok(hasValuePath(values, ref), `${f} uses .Values.${ref}, which values.yaml does not define`);
    }
    const names = templateNames(text);
    for (const n of names.defined) defined.add(n);
    for (const n of names.used) used.push({ file: f, name: n });
    for (const m of text.matchAll(/\.Files\.Get\s+"([^"]+)"/g)) {
      assert.doesNotThrow(
        () => readFileSync(join(CHART, m[1]!)),
        `${f} reads ${m[1]}, which the chart lacks`,
      );
    }
  }
  for (const u of used)
    assert.ok(defined.has(u.name), `${u.file} includes "${u.name}", which no template defines`);
});

test('chart: every template has a YAML skeleton of Kubernetes objects', () => {
  const dir = join(CHART, 'templates');
  const kinds = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    const docs = parseAllDocuments(yamlSkeleton(readFileSync(join(dir, f), 'utf8')), { uniqueKeys: false });
    for (const doc of docs) {
      assert.deepEqual(
        doc.errors.map((e) => e.message),
        [],
        `${f}: the template's static YAML does not parse`,
      );
      const obj = doc.toJS() as { apiVersion?: string; kind?: string; metadata?: unknown } | null;
      if (obj === null) continue;
      assert.ok(
        obj.apiVersion && obj.kind && obj.metadata,
        `${f}: a document lacks apiVersion/kind/metadata`,
      );
      kinds.add(obj.kind);
    }
  }
  for (const k of ['StatefulSet', 'Service', 'PodDisruptionBudget', 'ServiceMonitor', 'ConfigMap']) {
    assert.ok(kinds.has(k), `no template makes a ${k}`);
  }
});

test('chart: StatefulSet wires names, seeds, probes and ports the way the broker expects', () => {
  const text = read('charts', 'gregormq', 'templates', 'statefulset.yaml');
  const sts = parseYaml(yamlSkeleton(text), { uniqueKeys: false }) as StatefulSetShape;
  const pod = sts.spec.template.spec;
  const container = pod.containers.find((c) => c.name === 'gregormq');
  assert.ok(container, 'no container named gregormq');
  const env = new Map<string, unknown>(container.env.map((e) => [e.name, e.value]));
  assert.equal(env.get('GREGOR_NODE_NAME'), '$(POD_NAME)', 'node name must be the stable pod name');
  assert.equal(env.get('GREGOR_MDNS'), 'false', 'mDNS rarely crosses a CNI: seeds only');
  assert.ok(env.has('GREGOR_SEEDS'), 'pods need the headless service as seeds');
  assert.match(
    text,
    /name: GREGOR_SEEDS\s+value: \{\{ printf "%s:%v" \(include "gregormq\.headlessFqdn" \.\)/,
  );
  assert.equal(container.readinessProbe.httpGet.path, '/health/ready');
  assert.equal(container.livenessProbe.httpGet.path, '/health/live');
  assert.equal(container.readinessProbe.httpGet.port, 'http');
  assert.ok(pod.terminationGracePeriodSeconds, 'SIGTERM is a graceful leave: give it a grace period');
  const ports = new Map<string, string | undefined>(
    container.ports.map((p): [string, string | undefined] => [
      p.name,
      text.match(new RegExp(`- name: ${p.name}\\s+containerPort: \\{\\{ ([^}]+) \\}\\}`))?.[1],
    ]),
  );
  for (const name of Object.keys(PORTS)) {
    assert.equal(ports.get(name)?.trim(), `.Values.service.ports.${name}`, `container port ${name}`);
  }
  const headless = parseYaml(
    yamlSkeleton(read('charts', 'gregormq', 'templates', 'service-headless.yaml')),
  ) as ServiceShape;
  assert.equal(headless.spec.clusterIP, 'None');
  assert.equal(headless.spec.publishNotReadyAddresses, true, 'seeds must resolve before pods are ready');
  assert.deepEqual(
    headless.spec.ports.map((p) => p.name),
    ['client', 'http', 'cluster'],
  );
});

test('chart, image and docs: every GREGOR_* variable they name is a key of the config schema', () => {
  const known = new Set<string>();
  const walk = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const env = (node as { env?: unknown }).env;
    if (typeof env === 'string') known.add(env);
    for (const v of Object.values(node)) walk(v);
  };
  walk(buildSchema());
  assert.ok(known.has('GREGOR_DATA_DIR'), 'schema walk found no env names');
  const sources = {
    Dockerfile: read('Dockerfile'),
    'statefulset.yaml': read('charts', 'gregormq', 'templates', 'statefulset.yaml'),
    'docs/operations.md': read('docs', 'operations.md'),
  };
  for (const [file, text] of Object.entries(sources)) {
    for (const name of gregorEnvNames(text))
      assert.ok(known.has(name), `${file} sets ${name}, which the config schema lacks`);
  }
});

test('Dockerfile: non-root, ports, volume, health check, and an entry point the package bin maps to', () => {
  const ins = parseDockerfile(read('Dockerfile'));
  const last = Math.max(...ins.map((i) => i.stage));
  assert.ok(last >= 1, 'expected a multi-stage build');
  for (const from of ins.filter((i) => i.keyword === 'FROM')) assert.match(from.args, /node:20|NODE_IMAGE/);
  assert.match(
    ins.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='))?.args ?? '',
    /node:20-/,
  );
  const runtime = ins.filter((i) => i.stage === last);
  const one = (kw: string) => runtime.filter((i) => i.keyword === kw);

  const exposed = one('EXPOSE').flatMap((i) =>
    i.args.split(/\s+/).map((p) => Number(p.replace(/\/tcp$/, ''))),
  );
  assert.deepEqual(exposed.sort(), Object.values(PORTS).sort());
  const user = one('USER').at(-1)?.args.split(':')[0];
  assert.ok(user && user !== 'root' && user !== '0', `runtime must not run as root (USER ${user})`);
  assert.match(
    one('VOLUME')
      .map((i) => i.args)
      .join(' '),
    /\/data/,
  );
  assert.match(
    one('ENV')
      .map((i) => i.args)
      .join(' '),
    /GREGOR_DATA_DIR=\/data/,
  );
  const health = one('HEALTHCHECK').at(-1)?.args ?? '';
  assert.match(health, /\/health\/live/);
  assert.doesNotMatch(health, /\bcurl\b|\bwget\b/, 'the slim image has neither curl nor wget');

  const entry = JSON.parse(one('ENTRYPOINT').at(-1)?.args ?? 'null') as string[];
  assert.ok(Array.isArray(entry), 'ENTRYPOINT must be exec form so signals reach the broker');
  const workdir = one('WORKDIR').at(-1)?.args;
  const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> };
  assert.ok(pkg.bin.gregormq, 'package.json has no gregormq bin');
  assert.ok(
    entry.includes(`${workdir}/${pkg.bin.gregormq}`),
    `ENTRYPOINT ${entry} does not run ${pkg.bin.gregormq}`,
  );
  assert.ok(entry[0]?.endsWith('tini'), 'PID 1 should be an init that forwards SIGTERM and reaps');
  assert.match(one('CMD').at(-1)?.args ?? '', /"--data-dir",\s*"\/data"/);

  // The build stage must copy what `npm run build` compiles the bin from.
  const copies = ins.filter((i) => i.stage < last && i.keyword === 'COPY').map((i) => i.args);
  for (const src of ['package-lock.json', 'tsconfig.json', 'src ', 'cli ']) {
    assert.ok(
      copies.some((c) => `${c} `.includes(src)),
      `build stage does not copy ${src.trim()}`,
    );
  }
  const ignored = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const needed of ['src', 'cli', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    assert.ok(!ignored.includes(needed), `.dockerignore leaves out ${needed}, which the build needs`);
  }
  assert.ok(
    ignored.includes('node_modules') && ignored.includes('dist'),
    'host node_modules/dist must not leak in',
  );
});
