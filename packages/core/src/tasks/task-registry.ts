import { type Observable, type SchedulerLike, Subject } from 'rxjs';
import { StoppedError, TaskFailedError } from '../errors.js';
import type { TaskState } from '../protocol/bodies.js';
import type { Clock } from '../time/clock.js';
import { onAbort } from '../time/on-abort.js';
import { TaskTimeoutError } from './task-timeout-error.js';
import type { TaskOutcome, TaskRecord, TaskRole } from './types.js';

const FINAL: ReadonlySet<TaskState> = new Set(['completed', 'failed', 'canceled']);
/** The states a task moves through before it ends: never back to an earlier one. */
const ORDER: readonly TaskState[] = ['submitted', 'accepted', 'working'];
/** States of a task still waited for (not answered, not given up on). */
const OPEN: ReadonlySet<TaskState> = new Set(['submitted', 'accepted', 'working', 'input-required']);

/** Task states an agent can still move out of (a timed-out task may still complete late). */
export const isFinal = (state: TaskState): boolean => FINAL.has(state);

/**
 * The lifecycle of every task an agent sent or received: submitted → accepted → working →
 * completed | failed | canceled (or timed_out while waited for). Bounded: the oldest finished
 * records go first.
 */
export class TaskRegistry {
  // Made on first use: ten thousand idle agents should cost little.
  private recordsMap: Map<string, TaskRecord> | undefined;
  /** Keys of records that ended, in the order they ended (what `evict` may drop). */
  private ended: string[] = [];
  private endedHead = 0;
  private changes: Subject<TaskRecord> | undefined;
  /** Answers to sent tasks not opened yet, by task id (made on first use). */
  private earlyMap: Map<string, { state: TaskState; patch: Partial<TaskRecord> }[]> | undefined;
  /** Called with every changed record (`first` listens here: its task ids grow as it goes). */
  private waitersSet: Set<(changed: TaskRecord) => void> | undefined;
  /** Called with the changes of one task id (`collect` listens here: O(1) per answer, however many wait). */
  private waitersById: Map<string, Set<(changed: TaskRecord) => void>> | undefined;
  private readonly clock: Clock;
  private readonly maxRecords: number;
  /** Per assignee: sent tasks still open (submitted, accepted, working) plus TASKs queued to go out. */
  private loadMap: Map<string, number> | undefined;
  /**
   * Open sent tasks by what answers them without naming them: `r:` + their TASK's message id,
   * `c:` + their callback subject (task ids, oldest first). What `answeredBy` reads: O(1).
   */
  private answerIndex: Map<string, Set<string>> | undefined;

  /** Emits a record after each change. */
  get changes$(): Observable<TaskRecord> {
    this.changes ??= new Subject();
    return this.changes.asObservable();
  }

  private get records(): Map<string, TaskRecord> {
    this.recordsMap ??= new Map();
    return this.recordsMap;
  }

  private get waiters(): Set<(changed: TaskRecord) => void> {
    this.waitersSet ??= new Set();
    return this.waitersSet;
  }

  constructor(clock: Clock, maxRecords = 10_000) {
    this.clock = clock;
    this.maxRecords = maxRecords;
  }

  /**
   * How many tasks `peer` has from this agent that are not answered: queued to go out (from the
   * moment `delegate` is called) or sent and still open. O(1): what `smallest-mailbox` weighs.
   */
  openTo(peer: string): number {
    return this.loadMap?.get(peer) ?? 0;
  }

  /** Counts a TASK queued for `peer` until the returned function is called (it was sent, or not). */
  queued(peer: string): () => void {
    this.addLoad(peer, 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.addLoad(peer, -1);
    };
  }

  private addLoad(peer: string, n: number): void {
    this.loadMap ??= new Map();
    const next = (this.loadMap.get(peer) ?? 0) + n;
    if (next > 0) this.loadMap.set(peer, next);
    else this.loadMap.delete(peer);
  }

  get(taskId: string, role: TaskRole = 'sent'): TaskRecord | undefined {
    return this.recordsMap?.get(`${role}:${taskId}`);
  }

  list(filter: { role?: TaskRole; state?: TaskState } = {}): TaskRecord[] {
    return [...this.records.values()].filter(
      (r) =>
        (filter.role === undefined || r.role === filter.role) &&
        (filter.state === undefined || r.state === filter.state),
    );
  }

  /**
   * The open task this agent sent that `message` answers without naming it: the message replies to
   * its TASK, or carries its `callback_subject` (an index kept as tasks open and end: O(1)).
   */
  answeredBy(message: { in_reply_to?: string | null; subject?: string | null }): string | undefined {
    const index = this.answerIndex;
    if (index === undefined) return undefined;
    const { in_reply_to: parent, subject } = message;
    const byParent = parent ? index.get(`r:${parent}`) : undefined;
    if (byParent) return byParent.values().next().value;
    const bySubject = subject ? index.get(`c:${subject}`) : undefined;
    return bySubject?.values().next().value;
  }

  /** Adds (or with `add` false removes) an open sent task to what `answeredBy` reads. */
  private indexAnswers(r: TaskRecord, add: boolean): void {
    this.answerIndex ??= new Map();
    for (const key of [r.messageId && `r:${r.messageId}`, r.callbackSubject && `c:${r.callbackSubject}`]) {
      if (!key) continue;
      let ids = this.answerIndex.get(key);
      if (add) {
        if (!ids) {
          ids = new Set();
          this.answerIndex.set(key, ids);
        }
        ids.add(r.taskId);
      } else if (ids?.delete(r.taskId) && ids.size === 0) {
        this.answerIndex.delete(key);
      }
    }
  }

  /** Records a task when first seen; returns the existing record otherwise. */
  open(record: Omit<TaskRecord, 'state' | 'history'>): TaskRecord {
    const key = `${record.role}:${record.taskId}`;
    const existing = this.records.get(key);
    if (existing) return existing;
    const full: TaskRecord = { ...record, state: 'submitted', history: [{ state: 'submitted', at: this.clock.now() }] };
    this.records.set(key, full);
    if (full.role === 'sent') {
      this.addLoad(full.peer, 1);
      this.indexAnswers(full, true);
    }
    this.evict();
    this.emit(full);
    const early = record.role === 'sent' ? this.earlyMap?.get(record.taskId) : undefined;
    if (early) {
      this.earlyMap?.delete(record.taskId);
      for (const a of early) this.update(record.taskId, 'sent', a.state, a.patch);
    }
    return full;
  }

  /**
   * An answer (ACK, STATUS, RESULT, ERROR) to a task this agent sent. When the task is not open
   * yet — the answer beat the send's own response, as after a retried send over HTTP — it is kept
   * (at most 1 000 such) and applied when the task opens, so that no answer is lost to `collect`.
   */
  answer(taskId: string, state: TaskState, patch: Partial<TaskRecord> = {}): boolean {
    if (this.recordsMap?.has(`sent:${taskId}`)) return this.update(taskId, 'sent', state, patch);
    this.earlyMap ??= new Map();
    const list = this.earlyMap.get(taskId);
    if (list) list.push({ state, patch });
    else this.earlyMap.set(taskId, [{ state, patch }]);
    if (this.earlyMap.size > 1000) this.earlyMap.delete(this.earlyMap.keys().next().value as string);
    return false;
  }

  /**
   * Moves a task to `state` with extra fields. A final state is never left; a move to an earlier
   * state (a late ACK after a RESULT) is ignored. Returns false when nothing changed.
   */
  update(taskId: string, role: TaskRole, state: TaskState, patch: Partial<TaskRecord> = {}): boolean {
    const record = this.records.get(`${role}:${taskId}`);
    if (!record || isFinal(record.state)) return false;
    if (ORDER.indexOf(state) >= 0 && ORDER.indexOf(state) < ORDER.indexOf(record.state)) return false;
    const wasOpen = role === 'sent' && OPEN.has(record.state);
    // Kept in the index (and in its order) while it stays open under the same keys.
    const rekeyed = patch.messageId !== undefined || patch.callbackSubject !== undefined;
    if (wasOpen && (rekeyed || !OPEN.has(state))) this.indexAnswers(record, false);
    Object.assign(record, patch);
    if (record.state !== state || patch.note !== undefined || patch.progress !== undefined) {
      if (record.state !== state) record.history.push({ state, at: this.clock.now() });
      if (wasOpen && !OPEN.has(state)) this.addLoad(record.peer, -1);
      record.state = state;
      if (isFinal(state) || state === 'timed_out') {
        this.ended.push(`${role}:${taskId}`);
        this.evict();
      }
      this.emit(record);
    }
    if (role === 'sent' && OPEN.has(record.state) && (rekeyed || !wasOpen)) this.indexAnswers(record, true);
    return true;
  }

  /**
   * Resolves with the outcome of each sent task once all have ended, or rejects with
   * `TaskTimeoutError` naming the missing ones after `timeoutMs` (they are marked `timed_out`).
   */
  collect(
    taskIds: readonly string[],
    timeoutMs: number,
    scheduler: SchedulerLike,
    stopped: AbortSignal,
  ): Promise<TaskOutcome[]> {
    return new Promise((resolve, reject) => {
      // Outcomes are kept here as they come: a record the registry evicts later (a collect over
      // more tasks than it keeps) is not lost to this collect.
      const got = new Map<string, TaskOutcome>();
      const wanted = new Set(taskIds);
      for (const id of wanted) {
        const r = this.get(id, 'sent');
        if (r && isFinal(r.state)) got.set(id, outcomeOf(r));
      }
      const inOrder = () => taskIds.flatMap((id) => (got.has(id) ? [got.get(id) as TaskOutcome] : []));
      if (got.size === wanted.size) return resolve(inOrder());
      // Each change is looked at once: O(1) per answer, not a scan of every task.
      const check = (changed: TaskRecord) => {
        if (changed.role !== 'sent' || !wanted.has(changed.taskId) || !isFinal(changed.state)) return;
        if (got.has(changed.taskId)) return;
        got.set(changed.taskId, outcomeOf(changed));
        if (got.size === wanted.size) finish(() => resolve(inOrder()));
      };
      const onStop = () => finish(() => reject(new StoppedError('the agent stopped while collecting')));
      const timeout = scheduler.schedule(() => {
        const missing = taskIds.filter((id) => !got.has(id));
        for (const id of missing) this.update(id, 'sent', 'timed_out');
        finish(() => reject(new TaskTimeoutError(missing, timeoutMs, { outcomes: inOrder() })));
      }, timeoutMs);
      let unlisten = () => {};
      const finish = (settle: () => void) => {
        for (const id of wanted) this.unwatch(id, check);
        timeout.unsubscribe();
        unlisten();
        settle();
      };
      for (const id of wanted) if (!got.has(id)) this.watch(id, check);
      unlisten = onAbort(stopped, onStop);
    });
  }

  /**
   * Resolves with the first of the sent tasks to complete (later answers are left alone); rejects
   * with the failures when all ended without a RESULT, or with `TaskTimeoutError` after `timeoutMs`.
   */
  first(options: {
    /** The tasks sent so far (tail-chopping adds more over time). */
    taskIds: () => readonly string[];
    /** Whether a task id is one of them (O(1): called for every answer). */
    has: (taskId: string) => boolean;
    /** True while more tasks may still be sent. */
    morePending?: () => boolean;
    timeoutMs: number;
    scheduler: SchedulerLike;
    stopped: AbortSignal;
  }): Promise<TaskOutcome> {
    const { taskIds, has, timeoutMs, scheduler, stopped } = options;
    const more = options.morePending ?? (() => false);
    return new Promise((resolve, reject) => {
      // Failures are kept here as they come, so that eviction from the registry cannot hide one.
      const failed = new Map<string, TaskOutcome>();
      const check = (): boolean => {
        const ids = taskIds();
        for (const id of ids) {
          const r = failed.has(id) ? undefined : this.get(id, 'sent');
          if (r?.state === 'completed') {
            finish(() => resolve(outcomeOf(r)));
            return true;
          }
          if (r && isFinal(r.state)) failed.set(id, outcomeOf(r));
        }
        if (ids.length > 0 && ids.every((id) => failed.has(id)) && !more()) {
          const failures = ids.map((id) => failed.get(id));
          finish(() => reject(new TaskFailedError('AllFailed', `every routee failed: ${JSON.stringify(failures)}`)));
          return true;
        }
        return false;
      };
      const onStop = () => finish(() => reject(new StoppedError('stopped while waiting for the first answer')));
      const timeout = scheduler.schedule(() => {
        finish(() => reject(new TaskTimeoutError([...taskIds()], timeoutMs)));
      }, timeoutMs);
      let unlisten = () => {};
      const finish = (settle: () => void) => {
        this.waiters.delete(waiter);
        timeout.unsubscribe();
        unlisten();
        settle();
      };
      const waiter = (changed: TaskRecord) => {
        if (changed.role !== 'sent' || !isFinal(changed.state) || !has(changed.taskId)) return;
        if (changed.state === 'completed') {
          finish(() => resolve(outcomeOf(changed)));
          return;
        }
        failed.set(changed.taskId, outcomeOf(changed));
        check();
      };
      this.waiters.add(waiter);
      unlisten = onAbort(stopped, onStop);
      check();
    });
  }

  private emit(record: TaskRecord): void {
    this.changes?.next(record);
    const byId = this.waitersById?.get(record.taskId);
    if (byId) for (const w of [...byId]) w(record);
    if (this.waitersSet) for (const w of [...this.waitersSet]) w(record);
  }

  private watch(taskId: string, fn: (changed: TaskRecord) => void): void {
    this.waitersById ??= new Map();
    const set = this.waitersById.get(taskId);
    if (set) set.add(fn);
    else this.waitersById.set(taskId, new Set([fn]));
  }

  private unwatch(taskId: string, fn: (changed: TaskRecord) => void): void {
    const set = this.waitersById?.get(taskId);
    if (!set) return;
    set.delete(fn);
    if (set.size === 0) this.waitersById?.delete(taskId);
  }

  private evict(): void {
    // Only records that ended may go, oldest ended first: O(1) each, however many are still open.
    while (this.records.size > this.maxRecords && this.ended.length > this.endedHead) {
      const key = this.ended[this.endedHead++] as string;
      const r = this.records.get(key);
      if (r && (isFinal(r.state) || r.state === 'timed_out')) this.records.delete(key);
    }
    if (this.endedHead > 1024 && this.endedHead * 2 > this.ended.length) {
      this.ended = this.ended.slice(this.endedHead);
      this.endedHead = 0;
    }
  }
}

function outcomeOf(r: TaskRecord): TaskOutcome {
  if (r.state === 'completed') return { taskId: r.taskId, state: 'completed', result: r.result, from: r.answeredBy };
  if (r.state === 'failed') {
    return {
      taskId: r.taskId,
      state: 'failed',
      error: r.error ?? { type: 'Error', message: 'failed' },
      from: r.answeredBy,
    };
  }
  return { taskId: r.taskId, state: 'canceled', from: r.answeredBy };
}
