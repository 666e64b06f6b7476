/*
 * Sticky partition assignment: a pure function of (members and their topics, partition counts,
 * who owns what now). Members keep what they own as long as the spread stays within one
 * partition of even; only the surplus of over-full members and the partitions of departed
 * members move. Like Kafka's CooperativeStickyAssignor, but computed by the coordinator so every
 * member needs no assignor code and the answer is the same whoever asks.
 */

/** A member as the assignor sees it. */
export interface AssignorMember {
  memberId: string;
  topics: readonly string[];
  /** Partitions (`topic\0partition` keys) the member owns now. */
  owned: ReadonlySet<string>;
}

/** The assignment and how much of it moved. */
export interface AssignmentResult {
  /** memberId -> partition keys, every member present (possibly empty). */
  assignment: Map<string, Set<string>>;
  /** Partitions whose owner changed (including previously unowned ones given out). */
  moved: number;
}

/**
 * Assigns every partition of the members' topics to exactly one subscribed member.
 * `partitionCounts` maps topic -> partition count; topics missing from it are skipped.
 */
export function assignSticky(
  members: readonly AssignorMember[],
  partitionCounts: ReadonlyMap<string, number>,
): AssignmentResult {
  const sorted = [...members].sort((a, b) =>
    a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0,
  );
  const assignment = new Map<string, Set<string>>(sorted.map((m) => [m.memberId, new Set<string>()]));
  const subscribers = new Map<string, string[]>();
  for (const m of sorted) {
    for (const t of new Set(m.topics)) {
      if (!partitionCounts.has(t)) continue;
      const list = subscribers.get(t) ?? [];
      list.push(m.memberId);
      subscribers.set(t, list);
    }
  }
  const topicOf = (key: string) => key.slice(0, key.lastIndexOf('\0'));
  const all: string[] = [];
  for (const t of [...subscribers.keys()].sort()) {
    const n = partitionCounts.get(t) ?? 0;
    for (let p = 0; p < n; p++) all.push(`${t}\0${p}`);
  }
  const previous = new Map<string, string>();
  for (const m of sorted) for (const k of m.owned) if (!previous.has(k)) previous.set(k, m.memberId);

  // Fair share per member, assuming equal subscriptions (the common case); the balancing pass
  // below evens out heterogeneous subscriptions.
  const total = all.length;
  const count = sorted.length || 1;
  const base = Math.floor(total / count);
  let withExtra = total % count;
  const cap = new Map<string, number>();
  // Members already holding the most keep their extra slot first, so fewer partitions move.
  const bySize = [...sorted].sort((a, b) => b.owned.size - a.owned.size);
  for (const m of bySize) {
    cap.set(m.memberId, base + (withExtra > 0 ? 1 : 0));
    if (withExtra > 0) withExtra--;
  }

  const unowned: string[] = [];
  for (const key of all) {
    const prev = previous.get(key);
    const set = prev === undefined ? undefined : assignment.get(prev);
    const eligible = prev !== undefined && subscribers.get(topicOf(key))?.includes(prev);
    if (set && eligible && set.size < (cap.get(prev!) ?? 0)) set.add(key);
    else unowned.push(key);
  }
  for (const key of unowned) {
    const subs = subscribers.get(topicOf(key)) ?? [];
    let best: string | undefined;
    for (const id of subs) {
      if (best === undefined || assignment.get(id)!.size < assignment.get(best)!.size) best = id;
    }
    if (best !== undefined) assignment.get(best)!.add(key);
  }
  // Balancing pass for heterogeneous subscriptions: move from the fullest to an eligible
  // member at least two behind; bounded by the number of partitions.
  for (let i = 0; i < total; i++) {
    let movedOne = false;
    for (const [from, set] of assignment) {
      for (const key of set) {
        for (const to of subscribers.get(topicOf(key)) ?? []) {
          if (assignment.get(to)!.size + 1 < set.size) {
            set.delete(key);
            assignment.get(to)!.add(key);
            movedOne = true;
            break;
          }
        }
        if (movedOne) break;
      }
      if (movedOne) break;
      void from;
    }
    if (!movedOne) break;
  }
  let moved = 0;
  for (const [id, set] of assignment) for (const key of set) if (previous.get(key) !== id) moved++;
  return { assignment, moved };
}
