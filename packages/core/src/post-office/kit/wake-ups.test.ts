import { describe, expect, it } from 'vitest';
import { WakeUps } from './wake-ups.js';

describe('WakeUps', () => {
  it('wakes the listeners of an address, each once a notify, until they leave', () => {
    const wake = new WakeUps();
    const seen: string[] = [];
    const a1 = wake.for('a@x').subscribe(() => seen.push('a1'));
    const a2 = wake.for('a@x').subscribe(() => seen.push('a2'));
    wake.for('b@x').subscribe(() => seen.push('b'));
    wake.notify('a@x');
    wake.notify('nobody@x');
    expect(seen).toEqual(['a1', 'a2']);
    a1.unsubscribe();
    wake.notify('a@x');
    wake.notify('b@x');
    expect(seen).toEqual(['a1', 'a2', 'a2', 'b']);
    a2.unsubscribe();
    a2.unsubscribe();
    wake.notify('a@x');
    expect(seen).toEqual(['a1', 'a2', 'a2', 'b']);
  });

  it('wakes every listener of every address with notifyAll (after wake-ups may have been missed)', () => {
    const wake = new WakeUps();
    const seen: string[] = [];
    wake.for('a@x').subscribe(() => seen.push('a'));
    wake.for('b@x').subscribe(() => seen.push('b1'));
    const b2 = wake.for('b@x').subscribe(() => seen.push('b2'));
    b2.unsubscribe();
    wake.notifyAll();
    expect(seen.sort()).toEqual(['a', 'b1']);
  });

  it('reaches, within one notify, those listening when it began: one leaving or joining then changes the next', () => {
    const wake = new WakeUps();
    const seen: string[] = [];
    const wakes = wake.for('a@x');
    let second: { unsubscribe(): void } | undefined;
    wakes.subscribe(() => {
      seen.push('first');
      second?.unsubscribe();
      wakes.subscribe(() => seen.push('late'));
    });
    second = wakes.subscribe(() => seen.push('second'));
    wake.notify('a@x');
    expect(seen).toEqual(['first']);
    wake.notify('a@x');
    expect(seen).toEqual(['first', 'first', 'late']);
  });

  it('completes every stream on complete, and serves new listeners after it', () => {
    const wake = new WakeUps();
    let completed = 0;
    let woken = 0;
    wake.for('a@x').subscribe({ complete: () => (completed += 1) });
    wake.for('b@x').subscribe({ complete: () => (completed += 1) });
    wake.complete();
    expect(completed).toBe(2);
    wake.for('a@x').subscribe(() => (woken += 1));
    wake.notify('a@x');
    expect(woken).toBe(1);
  });
});
