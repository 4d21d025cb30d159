/**
 * An append-only list whose items can be hidden, with "next shown item at or after i" in
 * near-constant amortised time (a union-find over positions with path compression). Reading a
 * page therefore costs O(page) however much hidden mail lies before it.
 *
 * One list can be read through several views, each with its own idea of "shown" (an inbox: every
 * message not deleted, and the unread ones): the items are held once, each view has its own
 * union-find. View 0 is the default.
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
   * Per view, indexes into `slots` (positions less `base`): parent[i] === i: item i is shown; the
   * slot after the last item is a sentinel for "the end". Typed arrays, grown by doubling: the
   * collector never looks into them.
   */
  private parents: Int32Array[];
  /** Dropped items at the front of `slots` (counted so far). */
  private droppedHead = 0;
  private readonly shown: readonly ((item: T) => boolean)[];

  /** One view per `shown` predicate, in order. */
  constructor(...shown: ((item: T) => boolean)[]) {
    this.shown = shown;
    this.parents = shown.map(() => new Int32Array(16));
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
    if (i + 1 >= (this.parents[0] as Int32Array).length) this.resize(2 * (i + 2));
    for (let v = 0; v < this.parents.length; v++) {
      const parent = this.parents[v] as Int32Array;
      // The old sentinel slot becomes the new item; a new sentinel follows it.
      parent[i] = (this.shown[v] as (item: T) => boolean)(item) ? i : i + 1;
      parent[i + 1] = i + 1;
    }
    return pos;
  }

  /** Parent arrays of `size` slots, the first `slots.length + 1` of each kept. */
  private resize(size: number): void {
    this.parents = this.parents.map((old) => {
      const parent = new Int32Array(size);
      parent.set(old.subarray(0, this.slots.length + 1));
      return parent;
    });
  }

  /** Every item not dropped, oldest first. */
  *values(): IterableIterator<T> {
    for (const item of this.slots) if (item !== undefined) yield item;
  }

  /** Call after the item at `pos` stopped being shown in `view` (every view when none is named). */
  hide(pos: number, view?: number): void {
    if (pos < this.base || pos >= this.length) return;
    const i = pos - this.base;
    if (view !== undefined) (this.parents[view] as Int32Array)[i] = i + 1;
    else for (const parent of this.parents) parent[i] = i + 1;
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
      const n = this.slots.length;
      this.parents = this.parents.map((old) => {
        const parent = new Int32Array(Math.max(16, 2 * (n + 1)));
        for (let i = 0; i <= n; i++) parent[i] = (old[i + cut] as number) - cut;
        return parent;
      });
      this.base += cut;
      this.droppedHead = 0;
    }
  }

  /** Recomputes `view` after an item became shown there again (rare: O(n)). */
  rebuild(view = 0): void {
    const n = this.slots.length;
    const shown = this.shown[view] as (item: T) => boolean;
    // The same size as the other views' (`push` grows them all together).
    const parent = new Int32Array((this.parents[view] as Int32Array).length);
    let next = n;
    parent[n] = next;
    for (let i = n - 1; i >= 0; i--) {
      const item = this.slots[i];
      if (item !== undefined && shown(item)) next = i;
      parent[i] = next;
    }
    this.parents[view] = parent;
  }

  /** The first position at or after `pos` shown in `view` (`length` when none). */
  next(pos: number, view = 0): number {
    const parent = this.parents[view] as Int32Array;
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

  /** Up to `limit` items shown in `view` from `pos` on, and the position to continue from. */
  page(pos: number, limit: number, view = 0): { items: T[]; next: number; hasMore: boolean } {
    const out: T[] = [];
    const end = this.length;
    let i = this.next(Math.min(pos, end), view);
    while (i < end && out.length < limit) {
      out.push(this.slots[i - this.base] as T);
      i = this.next(i + 1, view);
    }
    return { items: out, next: i, hasMore: i < end };
  }
}
