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
  /** parent[i - base] === i: item i is shown; the last slot is a sentinel for "the end". */
  private parent: number[] = [0];
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
    this.slots.push(item);
    // The old sentinel slot becomes the new item; a new sentinel follows it.
    this.parent[pos - this.base] = this.shown(item) ? pos : pos + 1;
    this.parent.push(pos + 1);
    return pos;
  }

  /** Every item not dropped, oldest first. */
  *values(): IterableIterator<T> {
    for (const item of this.slots) if (item !== undefined) yield item;
  }

  /** Call after the item at `pos` stopped being shown. */
  hide(pos: number): void {
    if (pos >= this.base && pos < this.length) this.parent[pos - this.base] = pos + 1;
  }

  /** Hides the item at `pos` for good and lets it go; cuts a long dropped run off the front. */
  drop(pos: number): void {
    if (pos < this.base || pos >= this.length) return;
    this.hide(pos);
    this.slots[pos - this.base] = undefined;
    while (this.droppedHead < this.slots.length && this.slots[this.droppedHead] === undefined) this.droppedHead += 1;
    if (this.droppedHead >= 1024 && this.droppedHead * 2 >= this.slots.length) {
      this.slots = this.slots.slice(this.droppedHead);
      this.parent = this.parent.slice(this.droppedHead);
      this.base += this.droppedHead;
      this.droppedHead = 0;
    }
  }

  /** Recomputes the structure after an item became shown again (rare: O(n)). */
  rebuild(): void {
    const n = this.slots.length;
    const parent = new Array<number>(n + 1);
    let next = this.base + n;
    parent[n] = next;
    for (let i = n - 1; i >= 0; i--) {
      const item = this.slots[i];
      if (item !== undefined && this.shown(item)) next = this.base + i;
      parent[i] = next;
    }
    this.parent = parent;
  }

  /** The first shown position at or after `pos` (`length` when none). */
  next(pos: number): number {
    const parent = this.parent;
    const base = this.base;
    const from = Math.max(pos, base);
    let root = from;
    while (parent[root - base]! !== root) root = parent[root - base]!;
    let i = from;
    while (i !== root) {
      const up = parent[i - base]!;
      parent[i - base] = root;
      i = up;
    }
    return root;
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
