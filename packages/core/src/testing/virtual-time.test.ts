import { timer } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { VirtualTime } from './virtual-time.js';

describe('VirtualTime.until', () => {
  it('runs virtual time, action by action, until the work settles, and returns its value', async () => {
    const vt = new VirtualTime(1_000);
    const work = new Promise<number>((resolve) => {
      timer(5_000, vt.scheduler).subscribe(() => resolve(vt.now()));
    });
    await expect(vt.until(work)).resolves.toBe(6_000);
    expect(vt.now()).toBe(6_000);
  });

  it('rejects as the work does', async () => {
    const vt = new VirtualTime();
    const work = new Promise((_, reject) => {
      timer(10, vt.scheduler).subscribe(() => reject(new Error('boom')));
    });
    await expect(vt.until(work)).rejects.toThrow('boom');
  });

  it('rejects when the work waits with nothing left to run, or past maxMs', async () => {
    const vt = new VirtualTime();
    await expect(vt.until(new Promise(() => {}))).rejects.toThrow(/nothing left to run/);
    timer(0, 1_000, vt.scheduler).subscribe(() => {});
    await expect(vt.until(new Promise(() => {}), { maxMs: 10_000 })).rejects.toThrow(/after 10000 ms/);
    expect(vt.now()).toBe(10_000);
  });
});
