/** The helpers the deployment checks rely on must themselves find what they claim to find. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  blockProblems,
  hasValuePath,
  isExportedSeries,
  type MetricKind,
  metricNamesInPromql,
  parseDockerfile,
  templateNames,
  valuesReferences,
  yamlSkeleton,
} from './static-checks.js';

test('metricNamesInPromql finds selected names, not labels, strings, functions or ranges', () => {
  const expr =
    'histogram_quantile(0.99, sum by (le, op) (rate(gregormq_request_duration_seconds_bucket{job=~"gregormq_fake", op!="x"}[$__rate_interval]))) / on (instance) group_left gregormq_connections';
  assert.deepEqual(metricNamesInPromql(expr, 'gregormq_'), [
    'gregormq_connections',
    'gregormq_request_duration_seconds_bucket',
  ]);
  assert.deepEqual(
    metricNamesInPromql('label_values(gregormq_connections{job=~"$job"}, instance)', 'gregormq_'),
    ['gregormq_connections'],
  );
  assert.deepEqual(metricNamesInPromql('sum(up{job="gregormq_x"})', 'gregormq_'), []);
});

test('isExportedSeries accepts histogram and summary suffixes only for those kinds', () => {
  const kinds = new Map<string, MetricKind>([
    ['a_seconds', 'histogram'],
    ['b_total', 'counter'],
    ['c', 'summary'],
  ]);
  assert.ok(isExportedSeries('a_seconds_bucket', kinds));
  assert.ok(isExportedSeries('a_seconds_sum', kinds));
  assert.ok(isExportedSeries('a_seconds_count', kinds));
  assert.ok(isExportedSeries('b_total', kinds));
  assert.ok(!isExportedSeries('b_total_bucket', kinds));
  assert.ok(isExportedSeries('c_count', kinds));
  assert.ok(!isExportedSeries('c_bucket', kinds));
  assert.ok(!isExportedSeries('d', kinds));
});

test('valuesReferences and hasValuePath agree on dotted paths', () => {
  const tpl = '{{ .Values.a.b }} {{- if .Values.c }}{{ .Values.a.b | quote }}{{ end }} {{ $.Values.d_e.f }}';
  assert.deepEqual(valuesReferences(tpl), ['a.b', 'c', 'd_e.f']);
  const values = { a: { b: 0 }, c: null, d_e: { f: [] } };
  assert.ok(hasValuePath(values, 'a.b'));
  assert.ok(hasValuePath(values, 'c'));
  assert.ok(hasValuePath(values, 'd_e.f'));
  assert.ok(!hasValuePath(values, 'a.x'));
  assert.ok(!hasValuePath(values, 'c.x'));
  assert.ok(!hasValuePath(values, 'toString'));
});

test('blockProblems reports unclosed blocks, stray ends and misplaced else', () => {
  assert.deepEqual(
    blockProblems('{{- if .A }}x{{- else if .B }}y{{- else }}z{{- end }}{{ with .C }}{{ end }}'),
    [],
  );
  assert.deepEqual(blockProblems('{{/* if not counted */}}{{ range .A }}'), [
    'line 1: "range .A" is never closed',
  ]);
  assert.deepEqual(blockProblems('a\n{{ end }}'), ['line 2: end without an open block']);
  assert.deepEqual(blockProblems('{{ define "x" }}{{ else }}{{ end }}'), [
    'line 1: else outside if/with/range',
  ]);
});

test('templateNames separates defines from includes', () => {
  const names = templateNames('{{- define "a.b" -}}{{ include "c" . }}{{ end }}{{ template "d" . }}');
  assert.deepEqual(names, { used: ['c', 'd'], defined: ['a.b'] });
});

test('yamlSkeleton drops action-only lines and turns inline actions into scalars', () => {
  const tpl = [
    '{{- if .X }}',
    'kind: A',
    'metadata:',
    '  name: {{ include "n" . }}',
    '  labels:',
    '    {{- include "l" . | nindent 4 }}',
    '{{- end }}',
  ].join('\n');
  assert.equal(yamlSkeleton(tpl), ['kind: A', 'metadata:', '  name: TPL', '  labels:'].join('\n'));
});

test('parseDockerfile joins continuations, skips comments and numbers stages', () => {
  const ins = parseDockerfile(
    [
      '# c',
      'FROM a AS b',
      'RUN x \\',
      '  # inner comment',
      '  && y',
      '',
      'FROM c',
      'EXPOSE 1 2',
      'ENTRYPOINT ["n", "m"]',
    ].join('\n'),
  );
  assert.deepEqual(
    ins.map((i) => [i.keyword, i.args, i.stage, i.line]),
    [
      ['FROM', 'a AS b', 0, 2],
      ['RUN', 'x && y', 0, 3],
      ['FROM', 'c', 1, 7],
      ['EXPOSE', '1 2', 1, 8],
      ['ENTRYPOINT', '["n", "m"]', 1, 9],
    ],
  );
});
