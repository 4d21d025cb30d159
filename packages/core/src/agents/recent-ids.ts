const EMPTY: Set<string> = new Set();

/** A set that remembers the last `capacity` ids added (oldest forgotten first), in O(1) per call. */
export class RecentIds {
  private ids: Set<string> = EMPTY;
  /** Grows up to `capacity`, then is overwritten oldest first. */
  private readonly ring: string[] = [];
  private readonly capacity: number;
  private head = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (this.ids === EMPTY) this.ids = new Set();
    const size = this.ids.size;
    this.ids.add(id);
    if (this.ids.size === size) return; // already there
    if (this.ring.length < this.capacity) {
      this.ring.push(id);
    } else {
      this.ids.delete(this.ring[this.head] as string);
      this.ring[this.head] = id;
      this.head = (this.head + 1) % this.capacity;
    }
  }
}
