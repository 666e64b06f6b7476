import { randomUUID } from 'node:crypto';
import { GregorError } from '../errors.js';
import type { GroupMode } from '../protocol/messages-groups.js';
import { assignSticky } from './sticky-assignor.js';

/** Timing defaults of a group (from config `groups.*`). */
export interface GroupDefaults {
  /** Remove a member silent for this long, ms. Default 45000. */
  sessionTimeoutMs: number;
  /** How often members heartbeat (the SDK parks each heartbeat this long), ms. Default 3000. */
  heartbeatIntervalMs: number;
  /** Wait this long for more members before the first assignment of an empty group, ms. Default 3000. */
  rebalanceDelayMs: number;
  /** Queue mode: redeliver an unacknowledged message after this long, ms. Default 30000. */
  ackWaitMs: number;
  /** Queue mode: dead-letter after this many deliveries; -1 = never. Default -1. */
  maxDeliveries: number;
  /** Forget a group (offsets, ack state) once it has had no members and no commits this long, ms. Default 7 days. */
  offsetsRetentionMs: number;
}

/** Built-in group defaults (the config schema's defaults). */
export const DEFAULT_GROUP_DEFAULTS: GroupDefaults = {
  sessionTimeoutMs: 45_000,
  heartbeatIntervalMs: 3000,
  rebalanceDelayMs: 3000,
  ackWaitMs: 30_000,
  maxDeliveries: -1,
  offsetsRetentionMs: 7 * 24 * 3600 * 1000,
};

type Waiter<T> = { resolve: (v: T) => void; reject: (e: unknown) => void };

/** One live member of a group. */
export interface Member {
  id: string;
  clientId: string;
  host: string;
  topics: string[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  lastSeen: number;
  /** Rejoined during the current round. */
  joined: boolean;
  joinWaiter?: Waiter<number>;
  /** Partitions (tp keys) the member was told it owns at the current generation. */
  assigned: Set<string>;
  /** Fanout mode: partitions it was told to give up and has not yet confirmed releasing. */
  releasing: Set<string>;
  /** A parked heartbeat, answered early when a round starts. */
  heartbeat?: { waiter: Waiter<void>; timer: NodeJS.Timeout };
  /** Called when the member leaves for any reason. */
  onGone?: () => void;
}

/** Group lifecycle as LIST_GROUPS shows it. */
export type GroupState = 'empty' | 'preparing-rebalance' | 'stable';

/**
 * Membership and assignment of one consumer group: join rounds, generations, sticky cooperative
 * assignment, heartbeats and departures. A round starts when someone joins, leaves, times out
 * or a moved partition is released; it completes as soon as every member has rejoined (members
 * learn of the round at once through their parked heartbeat), after `rebalanceDelayMs` for the
 * first assignment of an empty group, or after the longest rebalance timeout, dropping stragglers.
 *
 * Fanout mode hands a moved partition to its new owner only after the old owner confirmed the
 * release (a heartbeat at the new generation, sent after it committed), so no offset range is
 * processed by two members at once. Queue mode needs no such handshake: its read cursor is per
 * group, not per member.
 */
export class Group {
  readonly members = new Map<string, Member>();
  generation = 0;
  state: GroupState = 'empty';
  private roundTimer?: NodeJS.Timeout;
  /** Partitions assigned at the last completion but still held by their previous owner. */
  pendingMoves = 0;
  /** Last round's stats (bench and logs). */
  lastRound = { moved: 0, completedAt: 0 };
  ackWaitMs: number;
  maxDeliveries: number;

  constructor(
    readonly id: string,
    public mode: GroupMode,
    private readonly defaults: GroupDefaults,
    private readonly partitionCounts: () => Map<string, number>,
    private readonly onChange: (g: Group) => void,
  ) {
    this.ackWaitMs = defaults.ackWaitMs;
    this.maxDeliveries = defaults.maxDeliveries;
  }

  /** Every topic some member subscribes to. */
  topics(): Set<string> {
    const out = new Set<string>();
    for (const m of this.members.values()) for (const t of m.topics) out.add(t);
    return out;
  }

  /** True when no round runs, no move waits, and the membership is non-empty. */
  get settled(): boolean {
    return this.state === 'stable' && this.pendingMoves === 0;
  }

  /** Adds or refreshes a member and holds the answer until the round completes (resolves the generation). */
  join(
    memberId: string | null,
    info: Pick<Member, 'clientId' | 'host' | 'topics' | 'sessionTimeoutMs' | 'rebalanceTimeoutMs'>,
  ): { member: Member; generation: Promise<number> } {
    let m = memberId ? this.members.get(memberId) : undefined;
    const wasEmpty = this.members.size === 0;
    let changed = false;
    if (!m) {
      m = {
        id: memberId || `${info.clientId || 'member'}-${randomUUID()}`,
        ...info,
        lastSeen: Date.now(),
        joined: false,
        assigned: new Set(),
        releasing: new Set(),
      };
      this.members.set(m.id, m);
      changed = true;
    } else {
      changed = m.topics.join(',') !== info.topics.join(',');
      Object.assign(m, info);
      m.lastSeen = Date.now();
    }
    m.joinWaiter?.reject(new GregorError('REBALANCE_IN_PROGRESS', 'superseded by a newer JOIN_GROUP'));
    const generation = new Promise<number>((resolve, reject) => {
      m.joinWaiter = { resolve, reject };
    });
    generation.catch(() => undefined);
    if (this.state !== 'preparing-rebalance' || changed) this.startRound(wasEmpty);
    m.joined = true;
    this.maybeComplete();
    return { member: m, generation };
  }

  /** Starts a join round: parked heartbeats answer REBALANCE_IN_PROGRESS so members rejoin. */
  startRound(initial = false): void {
    if (this.members.size === 0) return;
    const fresh = this.state !== 'preparing-rebalance';
    this.state = 'preparing-rebalance';
    for (const m of this.members.values()) {
      // A member whose JOIN is still held is already part of this round.
      m.joined = m.joinWaiter !== undefined;
      if (m.heartbeat) {
        clearTimeout(m.heartbeat.timer);
        m.heartbeat.waiter.reject(
          new GregorError('REBALANCE_IN_PROGRESS', `group "${this.id}" is rebalancing`),
        );
        m.heartbeat = undefined;
      }
    }
    if (fresh || initial) {
      clearTimeout(this.roundTimer);
      const wait = initial
        ? this.defaults.rebalanceDelayMs
        : Math.max(1000, ...[...this.members.values()].map((m) => m.rebalanceTimeoutMs));
      this.initialDelay = initial && wait > 0;
      this.roundTimer = setTimeout(() => this.complete(), wait);
      this.roundTimer.unref();
    }
    this.onChange(this);
  }

  private initialDelay = false;

  private maybeComplete(): void {
    if (this.state !== 'preparing-rebalance' || this.initialDelay) return;
    for (const m of this.members.values()) if (!m.joined) return;
    this.complete();
  }

  /** Ends the round: drops members that did not rejoin, bumps the generation, assigns. */
  private complete(): void {
    clearTimeout(this.roundTimer);
    this.initialDelay = false;
    if (this.state !== 'preparing-rebalance') return;
    for (const m of [...this.members.values()]) if (!m.joined) this.remove(m.id, false);
    this.generation++;
    this.state = this.members.size ? 'stable' : 'empty';
    const members = [...this.members.values()];
    const { assignment, moved } = assignSticky(
      members.map((m) => ({
        memberId: m.id,
        topics: m.topics,
        owned: new Set([...m.assigned, ...m.releasing]),
      })),
      this.partitionCounts(),
    );
    const held = new Map<string, string>();
    if (this.mode === 'fanout') {
      for (const m of members) for (const k of [...m.assigned, ...m.releasing]) held.set(k, m.id);
    }
    this.pendingMoves = 0;
    for (const m of members) {
      const target = assignment.get(m.id) ?? new Set<string>();
      const next = new Set<string>();
      for (const k of target) {
        const owner = held.get(k);
        if (owner === undefined || owner === m.id) next.add(k);
        else this.pendingMoves++;
      }
      if (this.mode === 'fanout') for (const k of m.assigned) if (!target.has(k)) m.releasing.add(k);
      m.assigned = next;
    }
    this.lastRound = { moved, completedAt: Date.now() };
    for (const m of members) {
      m.joinWaiter?.resolve(this.generation);
      m.joinWaiter = undefined;
    }
    this.onChange(this);
  }

  /** The member, or UNKNOWN_MEMBER naming the group. */
  member(memberId: string): Member {
    const m = this.members.get(memberId);
    if (!m) {
      throw new GregorError(
        'UNKNOWN_MEMBER',
        `member "${memberId}" is not part of group "${this.id}" (it left or its session timed out): rejoin`,
      );
    }
    m.lastSeen = Date.now();
    return m;
  }

  /** Checks that the member is at the current generation and no round is running. */
  checkGeneration(m: Member, generation: number): void {
    if (this.state === 'preparing-rebalance' || generation !== this.generation) {
      throw new GregorError(
        'REBALANCE_IN_PROGRESS',
        `group "${this.id}" is at generation ${this.generation}${this.state === 'preparing-rebalance' ? ' and rebalancing' : ''}; member "${m.id}" sent ${generation}: rejoin`,
      );
    }
  }

  /**
   * A heartbeat at the current generation: confirms the member released what it was told to
   * give up (a follow-up round hands those partitions to their new owners), then parks for up
   * to `waitMs`.
   */
  heartbeat(memberId: string, generation: number, waitMs: number): Promise<void> {
    const m = this.member(memberId);
    this.checkGeneration(m, generation);
    if (m.releasing.size > 0) {
      m.releasing.clear();
      if (this.pendingMoves > 0) {
        this.startRound();
        throw new GregorError('REBALANCE_IN_PROGRESS', `group "${this.id}" is moving released partitions`);
      }
    }
    if (waitMs <= 0) return Promise.resolve();
    if (m.heartbeat) {
      clearTimeout(m.heartbeat.timer);
      m.heartbeat.waiter.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        m.heartbeat = undefined;
        m.lastSeen = Date.now();
        resolve();
      }, waitMs);
      timer.unref();
      m.heartbeat = { waiter: { resolve, reject }, timer };
    });
  }

  /** Removes a member (leave, session timeout, closed connection) and rebalances the rest. */
  remove(memberId: string, rebalance = true): boolean {
    const m = this.members.get(memberId);
    if (!m) return false;
    this.members.delete(memberId);
    if (m.heartbeat) {
      clearTimeout(m.heartbeat.timer);
      m.heartbeat.waiter.resolve();
    }
    m.joinWaiter?.reject(new GregorError('UNKNOWN_MEMBER', `member "${memberId}" left group "${this.id}"`));
    m.onGone?.();
    if (this.members.size === 0) {
      clearTimeout(this.roundTimer);
      this.initialDelay = false;
      this.state = 'empty';
      this.generation++;
      this.pendingMoves = 0;
      this.onChange(this);
    } else if (rebalance) {
      if (this.state === 'preparing-rebalance') this.maybeComplete();
      else this.startRound();
    }
    return true;
  }

  /** Members whose session ran out (no heartbeat parked and silent for the session timeout). */
  expired(now: number): string[] {
    const out: string[] = [];
    for (const m of this.members.values()) {
      if (!m.heartbeat && !m.joinWaiter && now - m.lastSeen > m.sessionTimeoutMs) out.push(m.id);
    }
    return out;
  }

  /** Stops timers and fails waiting requests (broker shutdown). */
  close(): void {
    clearTimeout(this.roundTimer);
    for (const m of this.members.values()) {
      if (m.heartbeat) {
        clearTimeout(m.heartbeat.timer);
        m.heartbeat.waiter.reject(new GregorError('BROKER_SHUTTING_DOWN'));
      }
      m.joinWaiter?.reject(new GregorError('BROKER_SHUTTING_DOWN'));
    }
  }
}
