/**
 * An append-only list whose items can be hidden, with "next shown item at or after i" in
 * near-constant amortised time (a union-find over positions with path compression). Reading a
 * page therefore costs O(page) however much hidden mail lies before it.
 *
 * Positions are absolute and never reused (cursors hold them). An item can also be dropped for
 * good: its slot keeps nothing alive, and a long run of dropped items at the front is cut off.
 */
export class HideableList<T> {
  /** Items from position `base` on; `undefined`: dropped. */
  private slots: (T | undefined)[] = [];
  /** Absolute position of `slots[0]`. */
  private base = 0;
  /**
   * Indexes into `slots` (positions less `base`): parent[i] === i: item i is shown; the slot after
   * the last item is a sentinel for "the end". A typed array, grown by doubling: the collector
   * never looks into it.
   */
  private parent = new Int32Array(16);
  /** Dropped items at the front of `slots` (counted so far). */
  private droppedHead = 0;
  private readonly shown: (item: T) => boolean;

  constructor(shown: (item: T) => boolean) {
    this.shown = shown;
  }

  /** One past the last position. */
  get length(): number {
    return this.base + this.slots.length;
  }

  /** Appends an item, returning its position. */
  push(item: T): number {
    const pos = this.length;
    const i = this.slots.length;
    this.slots.push(item);
    if (i + 1 >= this.parent.length) this.resize(2 * (i + 2));
    // The old sentinel slot becomes the new item; a new sentinel follows it.
    this.parent[i] = this.shown(item) ? i : i + 1;
    this.parent[i + 1] = i + 1;
    return pos;
  }

  /** A parent array of `size` slots, the first `slots.length + 1` of them kept. */
  private resize(size: number): void {
    const parent = new Int32Array(size);
    parent.set(this.parent.subarray(0, this.slots.length + 1));
    this.parent = parent;
  }

  /** Every item not dropped, oldest first. */
  *values(): IterableIterator<T> {
    for (const item of this.slots) if (item !== undefined) yield item;
  }

  /** Call after the item at `pos` stopped being shown. */
  hide(pos: number): void {
    if (pos >= this.base && pos < this.length) this.parent[pos - this.base] = pos - this.base + 1;
  }

  /** Hides the item at `pos` for good and lets it go; cuts a long dropped run off the front. */
  drop(pos: number): void {
    if (pos < this.base || pos >= this.length) return;
    this.hide(pos);
    this.slots[pos - this.base] = undefined;
    while (this.droppedHead < this.slots.length && this.slots[this.droppedHead] === undefined) this.droppedHead += 1;
    if (this.droppedHead >= 1024 && this.droppedHead * 2 >= this.slots.length) {
      const cut = this.droppedHead;
      this.slots = this.slots.slice(cut);
      const parent = new Int32Array(Math.max(16, 2 * (this.slots.length + 1)));
      for (let i = 0; i <= this.slots.length; i++) parent[i] = (this.parent[i + cut] as number) - cut;
      this.parent = parent;
      this.base += cut;
      this.droppedHead = 0;
    }
  }

  /** Recomputes the structure after an item became shown again (rare: O(n)). */
  rebuild(): void {
    const n = this.slots.length;
    const parent = new Int32Array(Math.max(16, 2 * (n + 1)));
    let next = n;
    parent[n] = next;
    for (let i = n - 1; i >= 0; i--) {
      const item = this.slots[i];
      if (item !== undefined && this.shown(item)) next = i;
      parent[i] = next;
    }
    this.parent = parent;
  }

  /** The first shown position at or after `pos` (`length` when none). */
  next(pos: number): number {
    const parent = this.parent;
    const from = Math.max(pos - this.base, 0);
    let root = from;
    while (parent[root]! !== root) root = parent[root]!;
    let i = from;
    while (i !== root) {
      const up = parent[i]!;
      parent[i] = root;
      i = up;
    }
    return root + this.base;
  }

  /** Up to `limit` shown items from `pos` on, and the position to continue from. */
  page(pos: number, limit: number): { items: T[]; next: number; hasMore: boolean } {
    const out: T[] = [];
    const end = this.length;
    let i = this.next(Math.min(pos, end));
    while (i < end && out.length < limit) {
      out.push(this.slots[i - this.base] as T);
      i = this.next(i + 1);
    }
    return { items: out, next: i, hasMore: i < end };
  }
}
