import { describe, expect, it } from 'vitest';
import { Lanes } from './lanes.js';

type Item = { key: string; n: number };

/** Lanes whose runs end when the test says; backoffs wait until the test fires them. */
function lanes(limit: number) {
  const running: Item[] = [];
  const ran: Item[] = [];
  const timers: (() => void)[] = [];
  const l = new Lanes<Item>(
    limit,
    (item) => item.key,
    (item) => {
      running.push(item);
      ran.push(item);
    },
    (_ms, fn) => {
      timers.push(fn);
      return () => {};
    },
  );
  const end = (item: Item, again?: boolean) => {
    running.splice(running.indexOf(item), 1);
    l.done(item.key, again ? { item, afterMs: 0 } : undefined);
  };
  return { l, running, ran, timers, end };
}

describe('Lanes', () => {
  it('runs one item per key at a time, in order, past the small-set size of busy keys (40 keys held)', () => {
    const { l, running, ran, timers, end } = lanes(100);
    const items = Array.from({ length: 40 }, (_, k) => [0, 1, 2].map((n) => ({ key: `thr_${k}`, n }))).flat();
    for (const item of items) l.push(item);
    // One per key runs; the rest of each lane waits.
    expect(running.map((i) => i.n)).toEqual(Array(40).fill(0));
    // Every head goes into a backoff: 40 keys stay busy with nothing running.
    for (const item of [...running]) end(item, true);
    expect(running).toEqual([]);
    expect(l.pending).toBe(120);
    for (const fire of timers.splice(0)) fire();
    expect(running.map((i) => i.n)).toEqual(Array(40).fill(0));
    // Each lane then runs its items in order, once each.
    while (running.length > 0) for (const item of [...running]) end(item);
    for (let k = 0; k < 40; k++) {
      expect(ran.filter((i) => i.key === `thr_${k}`).map((i) => i.n)).toEqual([0, 0, 1, 2]);
    }
    expect(l.running).toBe(0);
    expect(l.pending).toBe(0);
  });

  it('a freed slot goes to the lanes in the order they became ready; the limit holds', () => {
    const { l, running, end } = lanes(2);
    const a0 = { key: 'a', n: 0 };
    l.push(a0);
    l.push({ key: 'a', n: 1 });
    l.push({ key: 'b', n: 0 });
    l.push({ key: 'c', n: 0 });
    expect(running.map((i) => `${i.key}${i.n}`)).toEqual(['a0', 'b0']);
    end(a0);
    expect(running.map((i) => `${i.key}${i.n}`)).toEqual(['b0', 'c0']);
    expect(l.drain().map((i) => `${i.key}${i.n}`)).toEqual(['a1']);
  });
});
