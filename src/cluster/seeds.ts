/**
 * Seed addresses: `host:port`, `[ipv6]:port` or a bare host (cluster port 9442). A host may be a
 * DNS name that resolves to many addresses (a Kubernetes headless service), so a seed is resolved
 * on every attempt and each address is dialled as `/ip4/<addr>/tcp/<port>` (or `/ip6/...`).
 */

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { GregorError } from '../errors.js';

/** Default cluster port (DESIGN.md section 2). */
export const DEFAULT_CLUSTER_PORT = 9442;

/** A parsed seed. */
export interface Seed {
  /** As given by the user, for logs. */
  spec: string;
  host: string;
  port: number;
}

/** Parses one seed; throws INVALID_CONFIG naming the seed. */
export function parseSeed(spec: string): Seed {
  const s = spec.trim();
  let host = s;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
  } else if (s.includes(':') && isIP(s) !== 6) {
    const i = s.lastIndexOf(':');
    host = s.slice(0, i);
    portText = s.slice(i + 1);
  }
  const port = portText === undefined ? DEFAULT_CLUSTER_PORT : Number(portText);
  if (host.length === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new GregorError('INVALID_CONFIG', `seeds: "${spec}" is not host:port (port 1-65535)`);
  }
  return { spec, host, port };
}

/** Resolves a seed to multiaddr strings, at most `max` of them. */
export async function resolveSeed(seed: Seed, max = 32): Promise<string[]> {
  const kind = isIP(seed.host);
  const addrs =
    kind !== 0
      ? [{ address: seed.host, family: kind }]
      : await lookup(seed.host, { all: true, verbatim: true });
  return addrs.slice(0, max).map((a) => `/${a.family === 6 ? 'ip6' : 'ip4'}/${a.address}/tcp/${seed.port}`);
}
