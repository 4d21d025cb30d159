import { describe, expect, it } from 'vitest';
import { StringSet } from './string-set.js';

describe('StringSet', () => {
  it('answers as a Set does through growth and churn (deletions in the middle of probe runs)', () => {
    const set = new StringSet();
    const model = new Set<string>();
    let seed = 7;
    const rnd = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    // Few distinct keys, so that adds, repeats and deletions of the same keys mix.
    const key = () => `msg_${Math.floor(rnd() * 3000).toString(36)}`;
    for (let step = 0; step < 60_000; step++) {
      const k = key();
      const r = rnd();
      if (r < 0.5) expect(set.add(k)).toBe(!model.has(k));
      else if (r < 0.9) expect(set.delete(k)).toBe(model.has(k));
      else expect(set.has(k)).toBe(model.has(k));
      if (r < 0.5) model.add(k);
      else if (r < 0.9) model.delete(k);
      expect(set.size).toBe(model.size);
    }
    for (let i = 0; i < 3000; i++) expect(set.has(`msg_${i.toString(36)}`)).toBe(model.has(`msg_${i.toString(36)}`));
  });
});
