import { Agent, type AgentContext, type TaskMail } from '../agents/agent.js';
import type { AckBody, CancelBody, ErrorBody, ResultBody, StatusBody } from '../protocol/bodies.js';
import type { Message } from '../wire/model.js';

/** One thing a Recorder saw. */
export type Seen =
  | { kind: 'result'; mail: TaskMail<ResultBody> }
  | { kind: 'error'; mail: TaskMail<ErrorBody> }
  | { kind: 'status'; mail: TaskMail<StatusBody> }
  | { kind: 'ack'; mail: TaskMail<AckBody> }
  | { kind: 'cancel'; mail: TaskMail<CancelBody> }
  | { kind: 'message'; message: Message };

/**
 * An agent for tests and examples that records what reaches it, and lets a caller wait for a
 * particular arrival without polling: `await recorder.next((s) => s.kind === 'result')`.
 */
export class Recorder extends Agent {
  readonly seen: Seen[] = [];
  private waiters: { match: (s: Seen) => boolean; resolve: (s: Seen) => void }[] = [];

  /** Resolves with the first recorded (or future) arrival that matches. */
  next(match: (s: Seen) => boolean = () => true): Promise<Seen> {
    const already = this.seen.find(match);
    if (already) return Promise.resolve(already);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Resolves once `count` arrivals match. */
  async count(match: (s: Seen) => boolean, count: number): Promise<Seen[]> {
    while (this.seen.filter(match).length < count)
      await new Promise<Seen>((resolve) => this.waiters.push({ match, resolve }));
    return this.seen.filter(match);
  }

  private record(s: Seen): void {
    this.seen.push(s);
    const ready = this.waiters.filter((w) => w.match(s));
    this.waiters = this.waiters.filter((w) => !w.match(s));
    for (const w of ready) w.resolve(s);
  }

  override onResult(mail: TaskMail<ResultBody>) {
    this.record({ kind: 'result', mail });
  }
  override onError(mail: TaskMail<ErrorBody>) {
    this.record({ kind: 'error', mail });
  }
  override onStatus(mail: TaskMail<StatusBody>) {
    this.record({ kind: 'status', mail });
  }
  override onAck(mail: TaskMail<AckBody>) {
    this.record({ kind: 'ack', mail });
  }
  override onCancel(mail: TaskMail<CancelBody>) {
    this.record({ kind: 'cancel', mail });
  }
  override onMessage(message: Message, _ctx: AgentContext) {
    this.record({ kind: 'message', message });
  }
}
