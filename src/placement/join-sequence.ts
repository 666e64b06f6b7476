import { firstAtOrAfter, ringDistance } from './hash-ring.js';

/**
 * One topic's replicas, built the way a stateful cluster would have moved them: members are added
 * one at a time in the order they first joined, and each newcomer takes over just its share from
 * busier members, the partitions nearest its own vnodes first. Replaying that history from
 * (members, join order, topics) keeps placement a pure function while a join moves only the
 * newcomer's share (a memoryless ring with bounded loads cannot: see docs/benchmarks.md).
 *
 * Departed members stay in the order as placeholders ("departed", from the roster), so removing
 * one does not rewrite the history of everyone who joined after it; their replicas are handed to
 * live members at the end by a bounded-load ring walk, which moves exactly what they held.
 */

/** What the sequence needs about the members; shared by every topic of one computation. */
export interface SequenceContext {
  /** Each member's vnode positions, ascending, indexed by member. */
  readonly points: readonly Float64Array[];
  /** The ring (all vnodes of live members, ascending) and, per vnode, its member. */
  readonly livePositions: Float64Array;
  readonly liveOwners: Int32Array;
  /** Zone index of each member. */
  readonly zoneOf: Int32Array;
  /** Distinct zones among live members. */
  readonly zoneCount: number;
  /** Every member (departed ones included) in join order. */
  readonly order: readonly number[];
  /** 1 for a live member, 0 for a departed one. */
  readonly live: Uint8Array;
}

/** Clockwise ring distance from `from` to the nearest of `points` (ascending) at or after it. */
export function distanceToNode(points: Float64Array, from: number): number {
  return ringDistance(from, points[firstAtOrAfter(points, from)]!);
}

/** Number of distinct zones among `reps`. */
function zoneSpread(zoneOf: Int32Array, reps: readonly number[]): number {
  let count = 0;
  for (let i = 0; i < reps.length; i++) {
    const z = zoneOf[reps[i]!]!;
    let seen = false;
    for (let j = 0; j < i && !seen; j++) seen = zoneOf[reps[j]!] === z;
    if (!seen) count++;
  }
  return count;
}

/**
 * One topic's replicas while the members are replayed. Call `add` for every member in join order
 * (all topics in lockstep, see placeAll), then `handOffDeparted`.
 */
export class TopicSequence {
  /** Node indices per partition. */
  readonly replicas: number[][];
  /** Replicas of this topic per member. */
  readonly load: Int32Array;
  private readonly dist: Float64Array;
  private readonly byDistance: Int32Array;
  private added = 0;

  constructor(
    private readonly ctx: SequenceContext,
    readonly hashes: Float64Array,
    readonly rf: number,
  ) {
    this.replicas = Array.from({ length: hashes.length }, () => []);
    this.load = new Int32Array(ctx.zoneOf.length);
    this.dist = new Float64Array(hashes.length);
    this.byDistance = new Int32Array(hashes.length);
  }

  /**
   * Adds member `x`. `earlier` holds each member's replicas of the topics placed before this one
   * at this same point of the replay: the tie-breaker that spreads rounding across topics without
   * depending on anything a later member or a later topic changes.
   */
  add(x: number, earlier: Int32Array, earlierMean: number): void {
    const { replicas, load, hashes, dist, byDistance } = this;
    const parts = hashes.length;
    if (this.added++ < this.rf) {
      // Fewer members than replicas so far: the newcomer holds a copy of everything.
      for (const reps of replicas) reps.push(x);
      load[x]! += parts;
      return;
    }
    const pts = this.ctx.points[x]!;
    for (let p = 0; p < parts; p++) {
      dist[p] = distanceToNode(pts, hashes[p]!);
      byDistance[p] = p;
    }
    byDistance.sort((a, b) => dist[a]! - dist[b]! || a - b);
    // Takeovers that widen a partition's zone spread come first (a zone that had no member yet
    // repairs partitions stuck in fewer zones), then the ones that only even out the load.
    // x only takes from members carrying more than it, and nobody gains during its step: once it
    // carries as many as the busiest did at the start, no further takeover is possible.
    let busiest = 0;
    for (let n = 0; n < load.length; n++) if (n !== x && load[n]! > busiest) busiest = load[n]!;
    const passes = this.ctx.zoneCount > 1 ? [true, false] : [false];
    for (const widening of passes) {
      for (const p of byDistance) {
        if (load[x]! >= busiest) break;
        this.take(p, x, widening, earlier, earlierMean);
      }
    }
  }

  private take(p: number, x: number, widening: boolean, earlier: Int32Array, earlierMean: number): void {
    const reps = this.replicas[p]!;
    if (reps.includes(x)) return;
    const load = this.load;
    const zoneOf = this.ctx.zoneOf;
    const multiZone = this.ctx.zoneCount > 1;
    const spread = multiZone ? zoneSpread(zoneOf, reps) : 0;
    let slot = -1;
    for (let i = 0; i < reps.length; i++) {
      const d = reps[i]!;
      // Hand over when clearly busier, or (rounding) one busier here and busier on earlier topics.
      const gap = load[d]! - load[x]!;
      const gives = widening
        ? gap >= 1
        : gap >= 2 || (gap === 1 && earlier[x]! < earlierMean && earlier[d]! > earlierMean);
      if (!gives) continue;
      if (slot >= 0) {
        const b = reps[slot]!;
        if (load[d]! < load[b]! || (load[d] === load[b] && earlier[d]! <= earlier[b]!)) continue;
      }
      if (multiZone) {
        reps[i] = x;
        const after = zoneSpread(zoneOf, reps);
        reps[i] = d;
        // Never narrow a partition's zone spread; a widening pass only takes swaps that widen it.
        if (after < spread || (widening && after === spread)) continue;
      }
      slot = i;
    }
    if (slot < 0) return;
    load[reps[slot]!]!--;
    reps[slot] = x;
    load[x]!++;
  }

  /** See handOffDeparted. */
  handOffDeparted(total: Int32Array, totalCap: number): void {
    handOffDeparted(this.ctx, this.hashes, this.replicas, this.load, total, totalCap);
  }
}

/**
 * Replays every member over every topic: members in join order, and for each member the topics in
 * order, so a topic's rounding tie-breaks see only topics before it. Then hands departed members'
 * replicas to live ones. Returns one TopicSequence per topic, in input order.
 */
export function placeAll(
  ctx: SequenceContext,
  topics: readonly { hashes: Float64Array; rf: number }[],
): TopicSequence[] {
  const seqs = topics.map((t) => new TopicSequence(ctx, t.hashes, t.rf));
  const earlier = new Int32Array(ctx.zoneOf.length);
  ctx.order.forEach((x, i) => {
    earlier.fill(0);
    let sum = 0;
    for (const s of seqs) {
      s.add(x, earlier, sum / (i + 1));
      for (let n = 0; n < earlier.length; n++) {
        earlier[n]! += s.load[n]!;
        sum += s.load[n]!;
      }
    }
  });
  // Live members' replicas as the replay left them, then each topic's hand-off adds to it.
  const total = new Int32Array(ctx.zoneOf.length);
  let slots = 0;
  let liveCount = 0;
  for (let n = 0; n < ctx.live.length; n++) if (ctx.live[n]) liveCount++;
  for (const s of seqs) {
    for (let n = 0; n < total.length; n++) if (ctx.live[n]) total[n]! += s.load[n]!;
    for (const reps of s.replicas) slots += Math.min(reps.length, liveCount);
  }
  const totalCap = liveCount ? Math.ceil(slots / liveCount) : 0;
  for (const s of seqs) s.handOffDeparted(total, totalCap);
  return seqs;
}

/**
 * The bound of bounded loads, enforced last: while a live member carries more than `cap` replicas,
 * one of them (the partition farthest from its vnodes first) goes to the first live member on the
 * partition's ring walk that is below `cap - 1`, not yet a replica, and keeps the zone spread.
 * The replay keeps loads within a replica or two of fair for topics with at least as many
 * partitions as members, so this only acts on many small topics. Returns false when some member
 * stays above `cap` (nobody can take its replicas without breaking a rule).
 */
export function enforceCap(ctx: SequenceContext, seqs: readonly TopicSequence[], cap: number): boolean {
  const load = new Int32Array(ctx.zoneOf.length);
  const held: { s: TopicSequence; p: number }[][] = Array.from({ length: load.length }, () => []);
  for (const s of seqs) {
    s.replicas.forEach((reps, p) => {
      for (const n of reps) {
        load[n]!++;
        held[n]!.push({ s, p });
      }
    });
  }
  const vnodes = ctx.livePositions.length;
  let ok = true;
  for (let n = 0; n < load.length; n++) {
    if (load[n]! <= cap) continue;
    const pts = ctx.points[n]!;
    const mine = held[n]!.map((h) => ({ ...h, d: distanceToNode(pts, h.s.hashes[h.p]!) }));
    mine.sort((a, b) => b.d - a.d);
    for (const { s, p } of mine) {
      if (load[n]! <= cap) break;
      const reps = s.replicas[p]!;
      const slot = reps.indexOf(n);
      const spread = zoneSpread(ctx.zoneOf, reps);
      const start = firstAtOrAfter(ctx.livePositions, s.hashes[p]!);
      for (let step = 0; step < vnodes; step++) {
        const m = ctx.liveOwners[(start + step) % vnodes]!;
        if (load[m]! >= cap || reps.includes(m)) continue;
        reps[slot] = m;
        if (zoneSpread(ctx.zoneOf, reps) < spread) {
          reps[slot] = n;
          continue;
        }
        load[n]!--;
        load[m]!++;
        s.load[n]!--;
        s.load[m]!++;
        break;
      }
    }
    if (load[n]! > cap) ok = false;
  }
  return ok;
}

/**
 * Gives the replicas still held by departed members to live ones: a ring walk from the
 * partition's hash to the first live member that is not yet a replica, keeps the zone spread, and
 * is below both the topic's fair share and the overall fair share, each rounded up (bounded
 * loads). The bounds loosen step by step if nobody fits; a replica is dropped only when every live
 * member already holds the partition. `total` counts each live member's replicas of every topic
 * handed off so far plus this one's, and is updated.
 */
function handOffDeparted(
  ctx: SequenceContext,
  hashes: Float64Array,
  replicas: number[][],
  load: Int32Array,
  total: Int32Array,
  totalCap: number,
): void {
  let liveCount = 0;
  let liveSlots = 0;
  for (let n = 0; n < ctx.live.length; n++) if (ctx.live[n]) liveCount++;
  for (const reps of replicas) liveSlots += Math.min(reps.length, liveCount);
  const topicCap = liveCount ? Math.ceil(liveSlots / liveCount) : 0;
  const vnodes = ctx.livePositions.length;
  const rules: { zoned: boolean; capped: boolean }[] = [
    { zoned: true, capped: true },
    { zoned: true, capped: false },
    { zoned: false, capped: true },
  ];
  for (let p = 0; p < replicas.length; p++) {
    const reps = replicas[p]!;
    for (let i = 0; i < reps.length; i++) {
      const gone = reps[i]!;
      if (ctx.live[gone]) continue;
      load[gone]!--;
      const fits = (n: number, rule: { zoned: boolean; capped: boolean }): boolean => {
        if (reps.includes(n) || load[n]! >= topicCap) return false;
        if (rule.capped && total[n]! >= totalCap) return false;
        if (!rule.zoned || ctx.zoneCount < 2) return true;
        const before = zoneSpread(ctx.zoneOf, reps);
        reps[i] = n;
        const after = zoneSpread(ctx.zoneOf, reps);
        reps[i] = gone;
        return after >= before;
      };
      let pick = -1;
      const start = vnodes ? firstAtOrAfter(ctx.livePositions, hashes[p]!) : 0;
      for (const rule of rules) {
        for (let s = 0; s < vnodes && pick < 0; s++) {
          const n = ctx.liveOwners[(start + s) % vnodes]!;
          if (fits(n, rule)) pick = n;
        }
        if (pick >= 0) break;
      }
      if (pick < 0) {
        for (let n = 0; n < ctx.live.length; n++) {
          if (ctx.live[n] && !reps.includes(n) && (pick < 0 || load[n]! < load[pick]!)) pick = n;
        }
      }
      if (pick < 0) {
        reps.splice(i, 1);
        i--;
        continue;
      }
      reps[i] = pick;
      load[pick]!++;
      total[pick]!++;
    }
  }
}
