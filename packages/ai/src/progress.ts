import type { Logger } from 'pino';
import type { SchedulerLike, Subscription } from 'rxjs';
import type { Usage } from './usage.js';

/** What a model-backed agent is doing, as it happens (a local stream: no mail, no quota). */
export type ProgressEvent =
  | { type: 'text'; taskId: string; delta: string }
  | { type: 'tool-call'; taskId: string; tool: string; toolCallId: string; input: unknown }
  | { type: 'tool-result'; taskId: string; tool: string; toolCallId: string; ok: boolean }
  | { type: 'step'; taskId: string; step: number; usage: Usage }
  | { type: 'finish'; taskId: string; usage: Usage; ok: boolean };

/**
 * STATUS mail at most once per `intervalMs`, counted from the task's start: a report waits until
 * the interval since the last STATUS (or the start) has passed, and only the newest report is sent.
 * A task that ends within one interval sends none; `close()` drops what still waits.
 */
export class CoalescedStatus {
  private lastSentAt: number;
  private pending: string | undefined;
  private timer: Subscription | undefined;
  private closed = false;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly intervalMs: number,
    private readonly send: (note: string) => Promise<unknown>,
    private readonly log: Logger,
  ) {
    this.lastSentAt = scheduler.now();
  }

  report(note: string): void {
    if (this.closed) return;
    this.pending = note;
    if (this.timer) return;
    const due = this.lastSentAt + this.intervalMs - this.scheduler.now();
    if (due <= 0) this.flush();
    else this.timer = this.scheduler.schedule(() => this.flush(), due);
  }

  close(): void {
    this.closed = true;
    this.timer?.unsubscribe();
    this.timer = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    const note = this.pending;
    if (note === undefined || this.closed) return;
    this.pending = undefined;
    this.lastSentAt = this.scheduler.now();
    this.send(note).catch((err: unknown) => this.log.warn({ err }, 'could not send a STATUS; the task goes on'));
  }
}
