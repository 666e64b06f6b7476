/**
 * `gregorctl cluster status|nodes`: one node's view of the cluster, read from its HTTP admin API
 * (`/v1/cluster/status`, `/v1/cluster/members`). Membership lives in the cluster layer, not in the
 * client protocol, so these commands talk HTTP: `--http HOST:PORT`, else env GREGOR_HTTP, else the
 * host of `--broker`/GREGOR_BROKER on the default HTTP port 9441 (127.0.0.1:9441 when neither is set).
 */
import type { ClusterMember } from '../../src/cluster/cluster-node.js';
import { GregorError } from '../../src/index.js';
import { formatDurationMs, table } from './output.js';
import { type CommandContext, type FlagSpec, registerCommand, UsageError } from './registry.js';

/** Default HTTP port of a node (DESIGN.md section 2). */
const DEFAULT_HTTP_PORT = 9441;

/** The `--http HOST:PORT` flag of commands that talk to a node's HTTP port (metrics, cluster). */
export const HTTP_FLAG: FlagSpec = {
  name: 'http',
  type: 'string',
  value: 'HOST:PORT',
  description: `node's HTTP address (env GREGOR_HTTP; default the --broker host on port ${DEFAULT_HTTP_PORT})`,
};

const HOST_PORT = /^(\[[^\]]+\]|[^:\s[\]]+):(\d{1,5})$/;

/** The HTTP address to ask, from --http, GREGOR_HTTP or the broker host. */
export function httpAddress(ctx: CommandContext, command: string): string {
  const given = (ctx.flags.http as string | undefined) ?? process.env.GREGOR_HTTP;
  if (given !== undefined) {
    const m = HOST_PORT.exec(given);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
      throw new UsageError(`--http must be host:port, got "${given}"`, command);
    return given;
  }
  const host = /^(\[[^\]]+\]|[^:]+)/.exec(ctx.broker)?.[1] ?? '127.0.0.1';
  return `${host}:${DEFAULT_HTTP_PORT}`;
}

interface NotRunning {
  state: string;
  error?: string;
}

async function getJson<T>(http: string, path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`http://${http}${path}`, { signal: AbortSignal.timeout(5000) });
  } catch (err) {
    const why = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new GregorError('CONNECTION_CLOSED', `http://${http}${path}: ${why}`);
  }
  const body = (await res.json().catch(() => undefined)) as T | NotRunning | { error?: { message?: string } };
  if (res.status === 503 && body && typeof (body as NotRunning).state === 'string') {
    const b = body as NotRunning;
    throw new GregorError(
      'TIMEOUT',
      `the cluster layer of ${http} is ${b.state}${b.error ? `: ${b.error}` : ''}; try again shortly`,
    );
  }
  if (!res.ok) {
    const msg = (body as { error?: { message?: string } } | undefined)?.error?.message ?? res.statusText;
    throw new GregorError('UNKNOWN', `GET http://${http}${path}: HTTP ${res.status}: ${msg}`);
  }
  return body as T;
}

/** Shortens a libp2p peer id for the table; `--json` has the full one. */
function shortId(id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id;
}

/** `/ip4/1.2.3.4/tcp/9442/p2p/…` -> `1.2.3.4:9442`, preferring a non-loopback address. */
function clusterAddress(addrs: string[]): string {
  const parsed = addrs
    .map((a) => /^\/(?:ip4|ip6|dns|dns4|dns6)\/([^/]+)\/tcp\/(\d+)/.exec(a))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => (m[1]!.includes(':') ? `[${m[1]}]:${m[2]}` : `${m[1]}:${m[2]}`));
  return parsed.find((a) => !a.startsWith('127.') && !a.startsWith('[::1]')) ?? parsed[0] ?? '-';
}

function uptime(ms: number): string {
  if (ms <= 0) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return formatDurationMs(Math.floor(s / 86_400) * 86_400_000);
}

function noArgs(ctx: CommandContext, command: string): void {
  if (ctx.args.length > 0)
    throw new UsageError(`${command} takes no arguments, got "${ctx.args[0]}"`, command);
}

interface MembersBody {
  clusterName: string;
  self: string;
  members: ClusterMember[];
}

interface StatusBody {
  clusterName: string;
  self: { id: string; name: string; generation: number; status: string };
  joined: boolean;
  members: number;
  byStatus: Record<string, number>;
  byLiveness: Record<string, number>;
}

registerCommand({
  name: 'cluster nodes',
  summary: 'list cluster members as one node sees them',
  args: [],
  flags: [HTTP_FLAG],
  details: [
    'Columns: NAME (* = the node asked), ID, STATUS (announced: JOINING, NORMAL, LEAVING, LEFT),',
    "LIVENESS (the asked node's judgement: alive, suspect, dead), PHI (suspicion), CLIENT and CLUSTER",
    'addresses, ZONE, GEN (boot counter), UPTIME.',
    '--json prints one JSON array of member objects: id, name, status, liveness, phi, addresses',
    '{client, http, cluster[]}, zone, generation, heartbeat, startedAt, uptimeMs, isSelf, facts.',
  ].join('\n'),
  async run(ctx) {
    noArgs(ctx, 'cluster nodes');
    const body = await getJson<MembersBody>(httpAddress(ctx, 'cluster nodes'), '/v1/cluster/members');
    if (ctx.json) {
      ctx.out.json(body.members);
      return 0;
    }
    ctx.out.line(
      table(
        ['NAME', 'ID', 'STATUS', 'LIVENESS', 'PHI', 'CLIENT', 'CLUSTER', 'ZONE', 'GEN', 'UPTIME'],
        body.members.map((m) => [
          `${m.name}${m.isSelf ? ' *' : ''}`,
          shortId(m.id),
          m.status,
          m.liveness,
          m.isSelf ? '-' : m.phi.toFixed(2),
          m.addresses.client ?? '-',
          clusterAddress(m.addresses.cluster),
          m.zone || '-',
          m.generation,
          uptime(m.uptimeMs),
        ]),
      ),
    );
    return 0;
  },
});

registerCommand({
  name: 'cluster status',
  summary: 'summary of the cluster as one node sees it',
  args: [],
  flags: [HTTP_FLAG],
  details:
    '--json prints { state, clusterName, self {id, name, generation, status}, joined, members, byStatus, byLiveness }.',
  async run(ctx) {
    noArgs(ctx, 'cluster status');
    const s = await getJson<StatusBody>(httpAddress(ctx, 'cluster status'), '/v1/cluster/status');
    if (ctx.json) {
      ctx.out.json(s);
      return 0;
    }
    const counts = (o: Record<string, number>, order: string[]) =>
      order
        .filter((k) => (o[k] ?? 0) > 0)
        .map((k) => `${k.toLowerCase()} ${o[k]}`)
        .join(', ') || '-';
    ctx.out.line(
      [
        `cluster:   ${s.clusterName}`,
        `this node: ${s.self.name} (${s.self.id}) generation ${s.self.generation}, ${s.self.status}`,
        `joined:    ${s.joined ? 'yes' : 'no'}`,
        `members:   ${s.members}`,
        `  status:   ${counts(s.byStatus, ['JOINING', 'NORMAL', 'LEAVING', 'LEFT'])}`,
        `  liveness: ${counts(s.byLiveness, ['alive', 'suspect', 'dead'])}`,
      ].join('\n'),
    );
    return 0;
  },
});
