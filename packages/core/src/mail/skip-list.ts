/**
 * An append-only list whose items can be hidden, with "next shown item at or after i" in
 * near-constant amortised time (a union-find over positions with path compression). Reading a
 * page therefore costs O(page) however much hidden mail lies before it.
 */
export class SkipList<T> {
  readonly items: T[] = [];
  /** parent[i] === i: item i is shown; the last slot is a sentinel for "the end". */
  private parent: number[] = [0];
  private readonly shown: (item: T) => boolean;

  constructor(shown: (item: T) => boolean) {
    this.shown = shown;
  }

  get length(): number {
    return this.items.length;
  }

  /** Appends an item, returning its position. */
  push(item: T): number {
    const pos = this.items.length;
    this.items.push(item);
    // The old sentinel slot becomes the new item; a new sentinel follows it.
    this.parent[pos] = this.shown(item) ? pos : pos + 1;
    this.parent.push(pos + 1);
    return pos;
  }

  /** Call after the item at `pos` stopped being shown. */
  hide(pos: number): void {
    this.parent[pos] = pos + 1;
  }

  /** Recomputes the structure after an item became shown again (rare: O(n)). */
  rebuild(): void {
    const n = this.items.length;
    const parent = new Array<number>(n + 1);
    let next = n;
    parent[n] = n;
    for (let i = n - 1; i >= 0; i--) {
      if (this.shown(this.items[i]!)) next = i;
      parent[i] = next;
    }
    this.parent = parent;
  }

  /** The first shown position at or after `pos` (`length` when none). */
  next(pos: number): number {
    const parent = this.parent;
    let root = pos;
    while (parent[root]! !== root) root = parent[root]!;
    let i = pos;
    while (i !== root) {
      const up = parent[i]!;
      parent[i] = root;
      i = up;
    }
    return root;
  }

  /** Up to `limit` shown items from `pos` on, and the position to continue from. */
  page(pos: number, limit: number): { items: T[]; next: number; hasMore: boolean } {
    const out: T[] = [];
    let i = this.next(Math.min(pos, this.items.length));
    while (i < this.items.length && out.length < limit) {
      out.push(this.items[i]!);
      i = this.next(i + 1);
    }
    return { items: out, next: i, hasMore: i < this.items.length };
  }
}
