/** A 30-bit hash of a string (FNV-1a, then mixed): always a small integer. */
export function hashOf(s: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h & 0x3fffffff;
}

/**
 * A set of strings made for churn: every message id is added once and deleted soon after. A `Set`
 * fills its table with deleted entries and rebuilds it every so often (a runtime call and a new
 * table each time); here the table is open addressing with linear probing, and a deletion shifts
 * the entries after it back (no tombstones), so nothing is allocated once the table is big enough.
 */
export class StringSet {
  private keys: (string | undefined)[] = new Array<string | undefined>(16).fill(undefined);
  private hashes = new Int32Array(16);
  private mask = 15;
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(s: string): boolean {
    return this.find(s, hashOf(s)) >= 0;
  }

  /** Adds `s`: true when it was not in the set. */
  add(s: string): boolean {
    const h = hashOf(s);
    if (this.find(s, h) >= 0) return false;
    if ((this.count + 1) * 2 > this.keys.length) this.grow();
    this.insert(s, h);
    this.count += 1;
    return true;
  }

  /** Deletes `s`: true when it was in the set. */
  delete(s: string): boolean {
    let i = this.find(s, hashOf(s));
    if (i < 0) return false;
    const { keys, hashes, mask } = this;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (keys[j] === undefined) break;
      const home = (hashes[j] as number) & mask;
      // The entry at j stays unless its home lies cyclically outside (i, j].
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      keys[i] = keys[j];
      hashes[i] = hashes[j] as number;
      i = j;
    }
    keys[i] = undefined;
    this.count -= 1;
    return true;
  }

  private find(s: string, h: number): number {
    const { keys, hashes, mask } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === undefined) return -1;
      if (hashes[i] === h && k === s) return i;
    }
  }

  private insert(s: string, h: number): void {
    const { keys, mask } = this;
    let i = h & mask;
    while (keys[i] !== undefined) i = (i + 1) & mask;
    keys[i] = s;
    this.hashes[i] = h;
  }

  private grow(): void {
    const old = this.keys;
    const oldHashes = this.hashes;
    const size = old.length * 2;
    this.keys = new Array<string | undefined>(size).fill(undefined);
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
    for (let i = 0; i < old.length; i++) {
      const k = old[i];
      if (k !== undefined) this.insert(k, oldHashes[i] as number);
    }
  }
}
