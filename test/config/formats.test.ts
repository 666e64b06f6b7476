import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseBoolean,
  parseByteSize,
  parseDurationMs,
  parseHostPort,
  parseHostPortList,
} from '../../src/config/index.js';

test('byte sizes: numbers, IEC and SI units, case-insensitive', () => {
  const cases: Array<[unknown, number]> = [
    [4096, 4096],
    ['4096', 4096],
    ['0', 0],
    ['128MiB', 128 * 1024 * 1024],
    ['128mib', 128 * 1024 * 1024],
    ['128Mi', 128 * 1024 * 1024],
    ['128M', 128 * 1024 * 1024],
    ['64KiB', 65536],
    ['1.5KiB', 1536],
    ['1 GiB', 1024 ** 3],
    ['2TiB', 2 * 1024 ** 4],
    ['1MB', 1_000_000],
    ['1kb', 1000],
    ['10B', 10],
  ];
  for (const [input, want] of cases) assert.equal(parseByteSize(input), want, `input ${String(input)}`);
});

test('byte sizes: refuses negatives, fractions of a byte, unknown units and non-strings', () => {
  for (const bad of [-1, '-1', 1.5, '1.5B', '0.3KB' + 'x', '12XB', 'abc', '', true, null, [1]]) {
    assert.throws(() => parseByteSize(bad), /must be a size in bytes/, `input ${String(bad)}`);
  }
  assert.throws(() => parseByteSize('1.0001KiB'), /whole number of bytes/);
});

test('durations: milliseconds or a unit', () => {
  const cases: Array<[unknown, number]> = [
    [250, 250],
    ['250', 250],
    ['500ms', 500],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1.5m', 90_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['3 S', 3000],
  ];
  for (const [input, want] of cases) assert.equal(parseDurationMs(input), want, `input ${String(input)}`);
});

test('durations: refuses negatives, unknown units and sub-millisecond results', () => {
  for (const bad of [-5, '-5', '2 weeks', 'soon', 1.2, '', false]) {
    assert.throws(() => parseDurationMs(bad), /must be a duration/, `input ${String(bad)}`);
  }
  assert.throws(() => parseDurationMs('1.0005s'), /whole number of milliseconds/);
});

test('booleans: strict words only', () => {
  for (const t of [true, 'true', 'TRUE', 'yes', 'on', '1']) assert.equal(parseBoolean(t), true);
  for (const f of [false, 'false', 'no', 'off', '0']) assert.equal(parseBoolean(f), false);
  for (const bad of ['nope', '', 2, null]) assert.throws(() => parseBoolean(bad), /must be true or false/);
});

test('host:port entries: names, IPv4, bracketed IPv6, bare DNS names', () => {
  assert.deepEqual(parseHostPort('gregor-0.gregor-headless:9442'), {
    host: 'gregor-0.gregor-headless',
    port: 9442,
  });
  assert.deepEqual(parseHostPort('10.0.0.5:9442'), { host: '10.0.0.5', port: 9442 });
  assert.deepEqual(parseHostPort('[::1]:9442'), { host: '::1', port: 9442 });
  assert.deepEqual(parseHostPort('gregor-headless'), { host: 'gregor-headless', port: undefined });
  assert.deepEqual(parseHostPort('::1'), { host: '::1', port: undefined });
  for (const bad of ['a:0', 'a:99999', 'a:b:c', 'a b:1', 'host:', ':9442', 'http://x:1']) {
    assert.throws(() => parseHostPort(bad), Error, bad);
  }
});

test('host:port lists: comma text or arrays, blanks dropped, bad entry named', () => {
  assert.deepEqual(parseHostPortList('a:1, b ,,[::1]:2'), ['a:1', 'b', '[::1]:2']);
  assert.deepEqual(parseHostPortList(['a:1', ' b:2 ']), ['a:1', 'b:2']);
  assert.deepEqual(parseHostPortList(''), []);
  assert.throws(() => parseHostPortList('a:1,b:70000'), /"b:70000" is not/);
  assert.throws(() => parseHostPortList([1]), /must be a list/);
  assert.throws(() => parseHostPortList(5), /must be a list/);
});
