import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecentIds } from './recent-ids.js';

/** What RecentIds must do, the slow and obvious way. */
class Model {
  private readonly order: string[] = [];
  constructor(private readonly capacity: number) {}
  has(id: string) {
    return this.order.includes(id);
  }
  add(id: string) {
    if (this.has(id)) return;
    this.order.push(id);
    if (this.order.length > this.capacity) this.order.shift();
  }
}

describe('RecentIds', () => {
  it('remembers the last ids added and forgets the oldest first', () => {
    const ids = new RecentIds(3);
    for (const id of ['a', 'b', 'c', 'a', 'd']) ids.add(id);
    expect(['a', 'b', 'c', 'd'].map((id) => ids.has(id))).toEqual([false, true, true, true]);
  });

  it('answers as a plain list of the last ids would, whatever the adds and the window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        // Few distinct ids (repeats, evictions and re-adds) and many (the table grows, entries shift back).
        fc.array(
          fc.oneof(
            fc.nat(40).map((n) => `msg_${n}`),
            fc.string({ maxLength: 4 }),
          ),
          { maxLength: 400 },
        ),
        (capacity, adds) => {
          const ids = new RecentIds(capacity);
          const model = new Model(capacity);
          for (const id of adds) {
            expect(ids.has(id)).toBe(model.has(id));
            ids.add(id);
            model.add(id);
          }
          for (const id of [...adds, 'never', '']) expect(ids.has(id)).toBe(model.has(id));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps a window of 100 000 across 250 000 ids', () => {
    const ids = new RecentIds(100_000);
    for (let i = 0; i < 250_000; i++) ids.add(`msg_${i}`);
    expect(ids.has('msg_149999')).toBe(false);
    expect(ids.has('msg_150000')).toBe(true);
    expect(ids.has('msg_249999')).toBe(true);
  });
});
