import { Fifo } from '../time/fifo.js';

/** Up to this many keys a `KeySet` keeps in an array. */
const FEW = 32;

/**
 * A set of keys that is mostly a handful (one per running item): an array while it is small, a
 * `Set` past `FEW`. Each message adds its key and deletes it again; a `Set` that sees a new string
 * every time rehashes its table every few calls, a scan of a few pointers costs next to nothing.
 */
class KeySet {
  private few: string[] = [];
  private many: Set<string> | undefined;

  has(key: string): boolean {
    return this.many ? this.many.has(key) : this.indexOf(key) >= 0;
  }

  /** A plain loop (no builtin call per message; most of the time the array is empty). */
  private indexOf(key: string): number {
    const few = this.few;
    for (let i = 0; i < few.length; i++) if (few[i] === key) return i;
    return -1;
  }

  add(key: string): void {
    if (this.many) this.many.add(key);
    else if (this.indexOf(key) < 0) {
      this.few.push(key);
      if (this.few.length > FEW) {
        this.many = new Set(this.few);
        this.few = [];
      }
    }
  }

  delete(key: string): void {
    if (this.many) {
      this.many.delete(key);
      if (this.many.size === 0) this.many = undefined;
      return;
    }
    const few = this.few;
    const i = this.indexOf(key);
    if (i < 0) return;
    few[i] = few[few.length - 1] as string;
    few.pop();
  }
}

/**
 * Where an agent's messages wait to run: one FIFO lane per ordering key (a thread, or the key the
 * agent names), at most `limit` items running at once, and never two of one lane. A lane whose
 * head waits to run again (a retry's backoff) stays closed to its later items, so that a thread's
 * messages run in arrival order even across retries. Synchronous bookkeeping only: `run` starts
 * the work and reports back with {@link Lanes.done}, possibly before `run` returns. @internal
 */
export class Lanes<T> {
  /** Items waiting, per key (a key with a running or held head may have some too); lanes are short: arrays. */
  private readonly waiting = new Map<string, T[]>();
  /** Keys whose head runs now, or waits out a backoff: their later items wait. */
  private readonly busy = new KeySet();
  /** Keys with items waiting and nothing running: taken in turn. */
  private readonly ready = new Fifo<string>();
  /** Items held for a later run, with how to cancel the wait. */
  private readonly held = new Map<T, { key: string; cancel: () => void }>();
  private runningCount = 0;
  private pumping = false;
  private waitingCount = 0;

  constructor(
    private readonly limit: number,
    private readonly keyOf: (item: T) => string,
    private readonly run: (item: T, key: string) => void,
    private readonly later: (ms: number, fn: () => void) => () => void,
  ) {}

  /** Items running now. */
  get running(): number {
    return this.runningCount;
  }

  /** Items waiting for a slot or a backoff. */
  get pending(): number {
    return this.waitingCount + this.held.size;
  }

  /**
   * A newly arrived item: at the end of its lane. `urgent`: its lane, if it was idle, goes before
   * the lanes already waiting (answers to this agent's own tasks pass new work).
   */
  push(item: T, urgent = false): void {
    const key = this.keyOf(item);
    // The common case, taken without queueing: a free slot, nothing waiting, the key idle.
    if (
      this.runningCount < this.limit &&
      this.ready.length === 0 &&
      !this.busy.has(key) &&
      (this.waiting.size === 0 || !this.waiting.has(key))
    ) {
      this.busy.add(key);
      this.runningCount += 1;
      this.run(item, key);
      return;
    }
    const lane = this.laneOf(key);
    lane.push(item);
    this.waitingCount += 1;
    if (lane.length === 1 && !this.busy.has(key)) {
      if (urgent) this.ready.unshift(key);
      else this.ready.push(key);
    }
    this.pump();
  }

  /**
   * The running item of `key` is over. `again`: it runs again, first in its lane, after `afterMs`
   * (on a later turn of the event loop even when 0; its lane stays closed meanwhile; its slot goes
   * to other lanes).
   */
  done(key: string, again?: { item: T; afterMs: number }): void {
    this.runningCount -= 1;
    if (!again) {
      this.open(key);
    } else {
      // Even "at once" goes through the timer: an item that keeps failing at once (its reply
      // cannot be sent) must let the event loop turn, never spin in microtasks.
      const cancel = this.later(Math.max(0, again.afterMs), () => {
        this.held.delete(again.item);
        this.requeue(key, again.item);
        this.pump();
      });
      this.held.set(again.item, { key, cancel });
    }
    this.pump();
  }

  /** Takes every item not running (waiting or held), in lane order: the agent stops or crashed. */
  drain(): T[] {
    const out: T[] = [];
    for (const [item, { key, cancel }] of this.held) {
      cancel();
      this.busy.delete(key);
      out.push(item);
    }
    this.held.clear();
    for (const lane of this.waiting.values()) out.push(...lane);
    this.waiting.clear();
    this.ready.drain();
    this.waitingCount = 0;
    return out;
  }

  private requeue(key: string, item: T): void {
    this.laneOf(key).unshift(item);
    this.waitingCount += 1;
    this.busy.delete(key);
    this.ready.unshift(key);
  }

  private laneOf(key: string): T[] {
    let lane = this.waiting.get(key);
    if (!lane) {
      lane = [];
      this.waiting.set(key, lane);
    }
    return lane;
  }

  private open(key: string): void {
    this.busy.delete(key);
    if (this.waiting.size === 0) return;
    const lane = this.waiting.get(key);
    if (!lane) return;
    if (lane.length === 0) this.waiting.delete(key);
    else this.ready.push(key);
  }

  private pump(): void {
    // `run` may end its item at once (a handler that returned synchronously), calling `done` and
    // so `pump` again from inside this loop: the outer loop takes the next items, not a recursion
    // as deep as the lanes are long.
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.pumpNow();
    } finally {
      this.pumping = false;
    }
  }

  private pumpNow(): void {
    while (this.runningCount < this.limit) {
      const key = this.ready.shift();
      if (key === undefined) return;
      const lane = this.waiting.get(key);
      const item = lane?.shift();
      if (!lane || item === undefined) continue;
      if (lane.length === 0) this.waiting.delete(key);
      this.waitingCount -= 1;
      this.busy.add(key);
      this.runningCount += 1;
      this.run(item, key);
    }
  }
}
