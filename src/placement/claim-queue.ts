/**
 * Min-heap of pending ring-walk steps, ordered by (distance, partition ordinal, step) so that ties
 * resolve the same way on every node. Entries live in parallel arrays: placement pushes a few
 * thousand of them per computation and objects would dominate the cost.
 */
export class ClaimQueue {
  private dist: number[] = [];
  private part: number[] = [];
  private step: number[] = [];

  /** Pending entries. */
  get size(): number {
    return this.dist.length;
  }

  /** Adds the step `step` of partition `part`, which reaches its vnode at ring distance `dist`. */
  push(dist: number, part: number, step: number): void {
    this.dist.push(dist);
    this.part.push(part);
    this.step.push(step);
    let i = this.dist.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes and returns the nearest entry; the caller checks `size` first. */
  pop(): { dist: number; part: number; step: number } {
    const top = { dist: this.dist[0]!, part: this.part[0]!, step: this.step[0]! };
    const last = this.dist.length - 1;
    this.swap(0, last);
    this.dist.pop();
    this.part.pop();
    this.step.pop();
    const n = this.dist.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const da = this.dist[a]!;
    const db = this.dist[b]!;
    if (da !== db) return da < db;
    const pa = this.part[a]!;
    const pb = this.part[b]!;
    if (pa !== pb) return pa < pb;
    return this.step[a]! < this.step[b]!;
  }

  private swap(a: number, b: number): void {
    const d = this.dist[a]!;
    this.dist[a] = this.dist[b]!;
    this.dist[b] = d;
    const p = this.part[a]!;
    this.part[a] = this.part[b]!;
    this.part[b] = p;
    const s = this.step[a]!;
    this.step[a] = this.step[b]!;
    this.step[b] = s;
  }
}
