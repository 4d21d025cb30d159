import { type SchedulerAction, type SchedulerLike, Subscription } from 'rxjs';

class ImmediateAction<T> extends Subscription implements SchedulerAction<T> {
  private immediate: NodeJS.Immediate | undefined;
  private timeout: NodeJS.Timeout | undefined;
  private readonly work: (this: SchedulerAction<T>, state?: T) => void;

  constructor(work: (this: SchedulerAction<T>, state?: T) => void) {
    super();
    this.work = work;
    this.add(() => this.clear());
  }

  schedule(state?: T, delay = 0): Subscription {
    this.clear();
    if (this.closed) return this;
    const run = () => {
      this.immediate = undefined;
      this.timeout = undefined;
      if (!this.closed) this.work.call(this, state);
    };
    if (delay > 0) this.timeout = setTimeout(run, delay);
    else this.immediate = setImmediate(run);
    return this;
  }

  private clear(): void {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timeout) clearTimeout(this.timeout);
    this.immediate = undefined;
    this.timeout = undefined;
  }
}

/**
 * The default scheduler: a delay of 0 runs on `setImmediate` (after pending I/O, without the
 * 1 ms floor of `setTimeout(0)`), other delays on `setTimeout`. Any RxJS scheduler can replace it,
 * `TestScheduler` included.
 */
export class ImmediateScheduler implements SchedulerLike {
  now(): number {
    return Date.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new ImmediateAction<T>(work).schedule(state, delay);
  }
}

/** The shared default scheduler instance. */
export const immediateScheduler: SchedulerLike = new ImmediateScheduler();

/**
 * One clock for many waiters: callbacks due at the same (rounded) time share one bucket, and
 * only the earliest bucket holds a scheduled action. Ten thousand idle agents cost one timer.
 */
export class SharedTimer {
  private readonly scheduler: SchedulerLike;
  private readonly resolutionMs: number;
  private readonly buckets = new Map<number, Set<() => void>>();
  private readonly heap: number[] = [];
  private current: { due: number; sub: Subscription } | undefined;

  /** @param resolutionMs due times are rounded up to a multiple of this. @default 1 */
  constructor(scheduler: SchedulerLike, resolutionMs = 1) {
    this.scheduler = scheduler;
    this.resolutionMs = Math.max(1, resolutionMs);
  }

  /** Number of callbacks waiting. */
  get size(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.size;
    return n;
  }

  /** Calls `fn` after `delayMs`; returns a function that cancels it. */
  after(delayMs: number, fn: () => void): () => void {
    const r = this.resolutionMs;
    const due = Math.ceil((this.scheduler.now() + Math.max(0, delayMs)) / r) * r;
    let bucket = this.buckets.get(due);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(due, bucket);
      this.push(due);
    }
    const entry = () => fn();
    bucket.add(entry);
    if (!this.current || due < this.current.due) this.arm();
    return () => {
      if (!bucket.delete(entry) || bucket.size > 0) return;
      this.buckets.delete(due);
      if (this.buckets.size === 0) {
        // Nothing waits any more: drop the scheduled action too.
        this.current?.sub.unsubscribe();
        this.current = undefined;
        this.heap.length = 0;
      }
    };
  }

  private arm(): void {
    this.current?.sub.unsubscribe();
    this.current = undefined;
    while (this.heap.length > 0 && !this.buckets.has(this.heap[0] as number)) this.pop();
    const due = this.heap[0];
    if (due === undefined) return;
    const sub = this.scheduler.schedule(() => this.fire(), Math.max(0, due - this.scheduler.now()));
    this.current = { due, sub };
  }

  private fire(): void {
    this.current = undefined;
    const now = this.scheduler.now();
    while (this.heap.length > 0 && (this.heap[0] as number) <= now) {
      const due = this.pop();
      const bucket = this.buckets.get(due);
      this.buckets.delete(due);
      if (bucket) for (const fn of bucket) fn();
    }
    if (!this.current) this.arm();
  }

  private push(value: number): void {
    const h = this.heap;
    h.push(value);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((h[p] as number) <= value) break;
      h[i] = h[p] as number;
      i = p;
    }
    h[i] = value;
  }

  private pop(): number {
    const h = this.heap;
    const top = h[0] as number;
    const last = h.pop() as number;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && (h[r] as number) < (h[l] as number) ? r : l;
        if ((h[c] as number) >= last) break;
        h[i] = h[c] as number;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
