/**
 * `/v1/cluster/...`: this node's view of the cluster, read by `gregorctl cluster status|nodes`.
 *
 *   GET /v1/cluster/status   -> ClusterStatusBody (summary: this node, joined?, counts)
 *   GET /v1/cluster/members  -> { clusterName, self, members: ClusterMember[] }
 *
 * The routes exist from the moment the HTTP port opens, before the cluster layer has loaded
 * (it joins after the client port is open); until then they answer 503 with `state: "starting"`,
 * and 503 with `state: "stopped"` once the node left.
 */

import type { ClusterLayerSource, ClusterSummary } from '../broker/cluster-membership.js';
import type { ClusterMember } from '../cluster/cluster-node.js';
import type { HttpServer, RouteResult } from './http-server.js';

/** Lifecycle of the cluster layer as the routes report it. */
export type ClusterLayerState = ClusterLayerSource['state'];

/** Body of `GET /v1/cluster/status`. */
export interface ClusterStatusBody extends Partial<ClusterSummary> {
  state: ClusterLayerState;
  /** Why the layer failed to start (state "failed"). */
  error?: string;
}

/** Body of `GET /v1/cluster/members`. */
export interface ClusterMembersBody {
  state: ClusterLayerState;
  clusterName?: string;
  /** This node's id. */
  self?: string;
  members: ClusterMember[];
}

/** What the routes read; gregormq.ts hands the same object to `startClusterLayer`. */
export type ClusterRouteSource = ClusterLayerSource;

function notRunning(src: ClusterRouteSource, extra: object): RouteResult {
  return {
    status: 503,
    json: { state: src.state, ...(src.error ? { error: src.error } : {}), ...extra },
  };
}

/** Registers the cluster routes on `http`; `source` is read on every request. */
export function registerClusterRoutes(http: HttpServer, source: ClusterRouteSource): void {
  http
    .route('GET', '/v1/cluster/status', () => {
      const c = source.cluster;
      if (source.state !== 'running' || !c || !source.summarize) return notRunning(source, { joined: false });
      const body: ClusterStatusBody = { state: 'running', ...source.summarize(c) };
      return { json: body };
    })
    .route('GET', '/v1/cluster/members', () => {
      const c = source.cluster;
      if (source.state !== 'running' || !c) return notRunning(source, { members: [] });
      const members = c.node
        .members()
        .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
      const body: ClusterMembersBody = {
        state: 'running',
        clusterName: c.node.clusterName,
        self: c.node.id,
        members,
      };
      return { json: body };
    });
}
