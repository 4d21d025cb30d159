/** '00'..'zz': the last two base-36 digits of an id. */
const LOW_DIGITS = Array.from({ length: 1296 }, (_, i) => i.toString(36).padStart(2, '0'));
/** The character code of each base-36 digit. */
const DIGIT_CODES = Array.from({ length: 36 }, (_, i) => i.toString(36).charCodeAt(0));
const fromCodes = String.fromCharCode;

/**
 * The stored messages by id. Ids are `<head><sequence in base 36>`, so a message's slot is its
 * sequence number: a lookup parses the id and reads an array (no hash table of every id). Slots of
 * forgotten messages are let go: a long run of them is cut off the front, and the few messages
 * still kept in a cut part (the first message of a live thread) move to a small map.
 */
export class MessageTable<T extends { id: string }> {
  /** Messages from sequence number `base` on; `undefined`: forgotten. */
  private slots: (T | undefined)[] = [];
  private base = 1;
  private seq = 0;
  private holes = 0;
  private high = -1;
  private highDigits = '';
  /** The codes of the head and the high digits (16 of them), or none when the id is longer. */
  private codes: number[] = [];
  /** Messages kept from a part of `slots` that was cut off. */
  private readonly early = new Map<string, T>();

  constructor(private readonly head: string) {}

  /**
   * The id of the next message: its sequence number in base 36, at least 6 digits (a flat string:
   * a concatenation would keep its parts alive). The last two digits come from a table, the
   * others change once every 1 296 ids.
   */
  nextId(): string {
    const n = this.seq + 1;
    const high = Math.floor(n / 1296);
    if (high !== this.high) {
      this.high = high;
      this.highDigits = high.toString(36).padStart(4, '0');
      this.codes =
        this.head.length === 12 && this.highDigits.length === 4 ? this.codesOf(this.head + this.highDigits) : [];
    }
    const low = n % 1296;
    const c = this.codes;
    // The common case, a 12-character head and 6 digits: made from character codes, about half the
    // cost of a join (an id is made for every message).
    if (c.length === 16) {
      const d1 = DIGIT_CODES[(low / 36) | 0] as number;
      const d0 = DIGIT_CODES[low % 36] as number;
      // biome-ignore format: one code per character
      return fromCodes(c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, c[10]!, c[11]!, c[12]!, c[13]!, c[14]!, c[15]!, d1, d0);
    }
    return [this.head, this.highDigits, LOW_DIGITS[low] as string].join('');
  }

  /** The character codes of `s`. */
  private codesOf(s: string): number[] {
    return Array.from({ length: s.length }, (_, i) => s.charCodeAt(i));
  }

  /** Stores the message of the id `nextId()` gave. */
  add(item: T): void {
    this.seq += 1;
    this.slots.push(item);
  }

  get(id: string): T | undefined {
    const n = this.indexOf(id);
    if (n === undefined) return undefined;
    if (n < this.base) return this.early.get(id);
    const i = n - this.base;
    if (i >= this.slots.length) return undefined;
    const item = this.slots[i];
    return item !== undefined && item.id === id ? item : undefined;
  }

  delete(id: string): void {
    const n = this.indexOf(id);
    if (n === undefined) return;
    if (n < this.base) {
      this.early.delete(id);
      return;
    }
    const i = n - this.base;
    if (i >= this.slots.length) return;
    const item = this.slots[i];
    if (item === undefined || item.id !== id) return;
    this.slots[i] = undefined;
    this.holes += 1;
    if (this.holes >= 1024 && this.holes * 2 >= this.slots.length) this.compact();
  }

  /**
   * The sequence number an id names (base 36 after the head), read in place; `undefined`: none. The
   * head is not compared here: `get` and `delete` compare the whole id with the one they find (a
   * pointer comparison for the id a view gave out), which a wrong head fails.
   */
  private indexOf(id: string): number | undefined {
    if (typeof id !== 'string' || id.length <= this.head.length) return undefined;
    let n = 0;
    for (let i = this.head.length; i < id.length; i++) {
      const c = id.charCodeAt(i);
      const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 122 ? c - 87 : -1;
      if (digit < 0) return undefined;
      n = n * 36 + digit;
      if (n > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return n;
  }

  /** Cuts off the front: up to the first kept message, or half the slots (their kept messages go to `early`). */
  private compact(): void {
    let cut = 0;
    while (cut < this.slots.length && this.slots[cut] === undefined) cut += 1;
    if (cut < this.slots.length >> 1) cut = this.slots.length >> 1;
    for (let i = 0; i < cut; i++) {
      const item = this.slots[i];
      if (item === undefined) this.holes -= 1;
      else this.early.set(item.id, item);
    }
    this.slots = this.slots.slice(cut);
    this.base += cut;
  }
}
