import { hashOf } from '../inbox/string-set.js';

const EMPTY_TABLE = new Int32Array(0);

/**
 * A set that remembers the last `capacity` ids added (oldest forgotten first), in O(1) per call.
 *
 * The ids sit in a ring (oldest first once full); an open-addressing table of (ring slot, hash)
 * pairs in one typed array finds them. An agent asks it once per message, against up to 100 000
 * ids: a `Set` of strings costs several cache misses a lookup there (its chains point at the
 * strings), the table one, and it holds no references for the collector to trace. Equal hashes
 * are confirmed against the id itself, so it never takes one id for another.
 */
export class RecentIds {
  private readonly ring: string[] = [];
  /** Hash of each ring slot's id. */
  private readonly ringHash: number[] = [];
  private readonly capacity: number;
  /** Next ring slot to overwrite once the ring is full (its oldest id). */
  private head = 0;
  /** Pairs: ring slot + 1 (0: empty), hash. Sized a power of two, at most half full; grown on use. */
  private table: Int32Array = EMPTY_TABLE;
  private mask = -1;

  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
  }

  /** The id last hashed, and its hash: a host asks `has(id)` and then `add(id)` of the same id. */
  private lastId: string | undefined;
  private lastHash = 0;

  has(id: string): boolean {
    return this.table.length > 0 && this.find(id, this.hash(id)) >= 0;
  }

  add(id: string): void {
    const h = this.hash(id);
    if (this.table.length > 0 && this.find(id, h) >= 0) return;
    let slot: number;
    if (this.ring.length < this.capacity) {
      if ((this.ring.length + 1) * 2 > this.table.length / 2) this.grow();
      slot = this.ring.length;
      this.ring.push(id);
      this.ringHash.push(h);
    } else {
      slot = this.head;
      this.remove(this.ring[slot] as string, this.ringHash[slot] as number);
      this.ring[slot] = id;
      this.ringHash[slot] = h;
      this.head = (this.head + 1) % this.capacity;
    }
    this.insert(slot, h);
  }

  private hash(id: string): number {
    if (id !== this.lastId) {
      this.lastId = id;
      this.lastHash = hashOf(id);
    }
    return this.lastHash;
  }

  /** The table index of `id`, or -1. */
  private find(id: string, h: number): number {
    const t = this.table;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const slot = t[2 * i] as number;
      if (slot === 0) return -1;
      if (t[2 * i + 1] === h && this.ring[slot - 1] === id) return i;
    }
  }

  private insert(slot: number, h: number): void {
    const t = this.table;
    let i = h & this.mask;
    while (t[2 * i] !== 0) i = (i + 1) & this.mask;
    t[2 * i] = slot + 1;
    t[2 * i + 1] = h;
  }

  /** Takes `id` out of the table, shifting back the entries after it (linear probing, no tombstones). */
  private remove(id: string, h: number): void {
    const t = this.table;
    let i = this.find(id, h);
    if (i < 0) return;
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      if (t[2 * j] === 0) break;
      const home = (t[2 * j + 1] as number) & this.mask;
      // The entry at j stays unless its home lies cyclically outside (i, j].
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      t[2 * i] = t[2 * j] as number;
      t[2 * i + 1] = t[2 * j + 1] as number;
      i = j;
    }
    t[2 * i] = 0;
  }

  /** Doubles the table (first use: a small one) and puts every ring slot back in. */
  private grow(): void {
    const max = 2 ** Math.ceil(Math.log2(this.capacity * 2));
    const size = Math.min(max, Math.max(64, this.table.length)); // table.length is 2 × the old size
    if (size * 2 === this.table.length) return;
    this.table = new Int32Array(size * 2);
    this.mask = size - 1;
    for (let slot = 0; slot < this.ring.length; slot++) this.insert(slot, this.ringHash[slot] as number);
  }
}
