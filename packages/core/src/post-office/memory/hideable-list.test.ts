import { describe, expect, it } from 'vitest';
import { HideableList } from './hideable-list.js';

type Item = { n: number; shown: boolean; dropped: boolean; starred: boolean };

/** A tiny deterministic random source (the same run every time). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('HideableList', () => {
  it('pages as a plain scan of the shown items would, through hides, drops, cut fronts and rebuilds', () => {
    const rnd = random(17);
    // View 0: shown; view 1: shown and starred (hidden there alone when its star goes).
    const list = new HideableList<Item>(
      (i) => i.shown,
      (i) => i.shown && i.starred,
    );
    const all: Item[] = [];
    const expectPage = (from: number, limit: number, view = 0) => {
      const shown = all.filter((i, pos) => pos >= from && i.shown && !i.dropped && (view === 0 || i.starred));
      const page = list.page(from, limit, view);
      expect(page.items.map((i) => i.n)).toEqual(shown.slice(0, limit).map((i) => i.n));
      expect(page.hasMore).toBe(shown.length > limit);
    };
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < 200; k++) {
        const item = { n: all.length, shown: rnd() < 0.8, dropped: false, starred: rnd() < 0.5 };
        expect(list.push(item)).toBe(all.length);
        all.push(item);
      }
      // Drop most of the oldest items (so that the front is cut), hide some others.
      for (let pos = 0; pos < all.length - 300; pos++) {
        const item = all[pos] as Item;
        if (!item.dropped && (pos < all.length - 2000 || rnd() < 0.5)) {
          item.dropped = true;
          item.shown = false;
          list.drop(pos);
        }
      }
      for (let k = 0; k < 50; k++) {
        const pos = Math.floor(rnd() * all.length);
        const item = all[pos] as Item;
        if (item.shown) {
          item.shown = false;
          list.hide(pos);
        }
      }
      for (let k = 0; k < 50; k++) {
        const pos = Math.floor(rnd() * all.length);
        const item = all[pos] as Item;
        if (item.starred) {
          item.starred = false;
          list.hide(pos, 1);
        }
      }
      if (round % 7 === 3) {
        // Shown again (mail marked unread): only a rebuild finds them.
        for (const item of all) if (!item.dropped && !item.shown && rnd() < 0.3) item.shown = true;
        list.rebuild(0);
        list.rebuild(1);
      }
      if (round % 5 === 2) {
        for (const item of all) if (!item.dropped && !item.starred && rnd() < 0.3) item.starred = true;
        list.rebuild(1);
      }
      expectPage(0, 100);
      expectPage(Math.floor(rnd() * all.length), 7);
      expectPage(all.length - 5, 10);
      expectPage(0, 100, 1);
      expectPage(Math.floor(rnd() * all.length), 7, 1);
      expect(list.length).toBe(all.length);
    }
    expect([...list.values()].length).toBe(all.filter((i) => !i.dropped).length);
  });
});
