import { type ActorSystemRef, dispatch as dispatchTo, type Ref, spawn, stop } from 'nact';
import type { Logger } from 'pino';
import type { Subscription } from 'rxjs';
import { RateLimitedError, TaskFailedError } from '../errors.js';
import { InFlight } from '../inbox/in-flight.js';
import { inboxStream } from '../inbox/inbox-stream.js';
import type { Mailbox } from '../mailbox/mailbox.js';
import type { SendScheduler } from '../outbox/send-scheduler.js';
import { decodeMessage, isDecodeFailure } from '../protocol/codec.js';
import { errorMail, type OutgoingMail } from '../protocol/outgoing.js';
import { recordTaskMail } from '../tasks/task-mail.js';
import { TaskRegistry } from '../tasks/task-registry.js';
import type { Message } from '../wire/model.js';
import type { Agent } from './agent.js';
import { Actions } from './agent-actions.js';
import { type AgentOptions, type ErrorInfo, errorInfo, type HostEnv } from './agent-options.js';
import { DEAD_LETTERED, released, SETTLED, type Settlement } from './delivery.js';
import { type DispatchEnv, type Incoming, runHandler } from './handler-dispatch.js';
import { RecentIds } from './recent-ids.js';

/**
 * Delivers one agent's mail: its inbox stream feeds its nact actor, and each message goes
 * received → running → replied → settled | released | dead-lettered (see `delivery.ts`). What a
 * handler is and what it answers is `handler-dispatch.ts`'s; this class only moves messages, sends
 * the answers it is given, and marks read. @internal
 */
export class AgentHost {
  readonly actions: Actions;
  readonly tasks: TaskRegistry;
  private readonly mailbox: Mailbox;
  private readonly env: HostEnv;
  private readonly dispatchEnv: DispatchEnv;
  private logger: Logger | undefined;
  private readonly inFlight = new InFlight();
  private readonly handled: RecentIds;
  // Made on first use: ten thousand idle agents should cost little.
  private attemptsMap: Map<string, number> | undefined;
  /** Answers computed but not yet sent (a redelivery sends them without running the handler again). */
  private outboxMap: Map<string, OutgoingMail> | undefined;
  /** Failed sends of a kept answer, by message id (for the backoff). */
  private replyFailuresMap: Map<string, number> | undefined;
  private readonly stopController = new AbortController();
  private readonly maxAttempts: number;
  private readonly options: AgentOptions;
  private actor: Ref<Incoming[]> | undefined;
  private subscription: Subscription | undefined;
  private outstanding = 0;
  private stopping = false;
  /** A supervised handler failed: the rest of the mailbox waits for the restarted agent. */
  private crashed = false;
  private idle: (() => void) | undefined;

  constructor(agent: Agent, mailbox: Mailbox, env: HostEnv, options: AgentOptions, sendScheduler?: SendScheduler) {
    this.mailbox = mailbox;
    this.env = env;
    this.options = options;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.handled = new RecentIds(options.dedupeWindow ?? 100_000);
    this.tasks = new TaskRegistry(env.scheduler, options.maxTasks ?? 10_000);
    if (env.supervision) this.attemptsMap = env.supervision.attempts;
    this.actions = new Actions(mailbox, this.tasks, env.scheduler, this.stopController.signal, sendScheduler);
    this.dispatchEnv = {
      agent,
      actions: this.actions,
      tasks: this.tasks,
      stopped: this.stopController.signal,
      logs: this,
      ack: options.ack ?? true,
      controllers: new Map(),
    };
  }

  /** The agent's pino child, made on first use. */
  get log(): Logger {
    this.logger ??= this.env.logger.child({ agent: this.mailbox.address });
    return this.logger;
  }

  private get attempts(): Map<string, number> {
    this.attemptsMap ??= new Map();
    return this.attemptsMap;
  }

  private get replyFailures(): Map<string, number> {
    this.replyFailuresMap ??= new Map();
    return this.replyFailuresMap;
  }

  private get outbox(): Map<string, OutgoingMail> {
    this.outboxMap ??= new Map();
    return this.outboxMap;
  }

  start(): void {
    this.actor = spawn(
      this.env.system as ActorSystemRef,
      (state: undefined, items: Incoming[]) => this.handleBatch(items).then(() => state),
      this.env.name,
      {
        onCrash: (_msg, err, ctx) => {
          this.log.error({ err }, 'agent actor crashed; resuming');
          return ctx.resume;
        },
      },
    );
    this.subscription = inboxStream(this.mailbox, {
      ...this.options.inbox,
      scheduler: this.env.scheduler,
      timer: this.env.timer,
      inFlight: this.inFlight,
      logger: this.env.logger,
    }).subscribe((messages) => this.receive(messages));
  }

  /** Stops polling, lets the handler in progress finish within `deadlineMs`, then stops the actor. */
  async stop(deadlineMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.subscription?.unsubscribe();
    if (this.outstanding > 0) {
      await new Promise<void>((resolve) => {
        const timeout = this.env.scheduler.schedule(() => {
          this.log.warn({ deadlineMs }, 'handlers still running at the stop deadline; aborting them');
          finish();
        }, deadlineMs);
        const finish = () => {
          timeout.unsubscribe();
          this.idle = undefined;
          resolve();
        };
        this.idle = finish;
      });
    }
    this.stopController.abort();
    for (const c of this.dispatchEnv.controllers.values()) c.abort();
    if (this.actor) stop(this.actor);
  }

  /** received: task states (for collect) and CANCEL take effect at once, not behind a busy handler. */
  private receive(messages: Message[]): void {
    const items: Incoming[] = messages.map((message) => ({ message, decoded: decodeMessage(message) }));
    for (const { decoded: d } of items) {
      if (isDecodeFailure(d)) continue;
      if (recordTaskMail(this.tasks, d) === 'canceled' && d.kind === 'cancel') {
        this.dispatchEnv.controllers.get(d.taskId)?.abort(d.body.reason ?? 'canceled');
      }
    }
    this.toActor(items);
  }

  private toActor(items: Incoming[]): void {
    this.outstanding += 1;
    if (this.actor) dispatchTo(this.actor, items);
  }

  private get halted(): boolean {
    return this.stopping || this.crashed;
  }

  private async handleBatch(items: Incoming[]): Promise<void> {
    const read: string[] = [];
    const backToPostOffice: string[] = [];
    const debug = this.log.isLevelEnabled('debug');
    for (const item of items) {
      const settlement: Settlement = this.halted ? released() : await this.deliver(item);
      const id = item.message.message_id;
      if (debug) this.log.debug({ message_id: id, state: settlement.state }, 'message delivered');
      if (settlement.state !== 'released') read.push(id);
      else if (this.halted) backToPostOffice.push(id);
      else this.redeliver(item, settlement.afterMs);
    }
    if (read.length > 0) {
      try {
        await this.mailbox.markRead(read);
      } catch (err) {
        this.log.warn({ err, count: read.length }, 'could not mark handled mail read; it will be settled again');
      }
    }
    this.inFlight.settle(read.concat(backToPostOffice), backToPostOffice.length > 0 && !this.crashed);
    this.outstanding -= 1;
    if (this.outstanding === 0) this.idle?.();
  }

  /**
   * released, the one way back: the message stays in flight and unread in the post office and is
   * delivered to the actor again after `afterMs` (no re-poll that would walk past every message in
   * flight to find it). If the agent stops meanwhile, it goes back to the post office instead.
   */
  private redeliver(item: Incoming, afterMs: number): void {
    const again = () => {
      if (this.halted) this.inFlight.settle([item.message.message_id], !this.crashed);
      else this.toActor([item]);
    };
    if (afterMs <= 0) again();
    else this.env.timer.after(afterMs, again);
  }

  /** One delivery of one message: running, then replied, then where it ends up. */
  private async deliver(item: Incoming): Promise<Settlement> {
    const id = item.message.message_id;
    if (this.handled.has(id)) return SETTLED;
    const pending = this.outboxMap?.get(id);
    if (pending) return this.reply(id, pending);
    const verdicts = this.env.supervision?.verdicts;
    const verdict = verdicts?.get(id);
    if (verdict) {
      // The escalation chain decided this message's fate (`skip`): a task is answered with the
      // verdict, anything else is marked read; the handler never runs. The verdict holds until
      // then, so a restart before the answer went out still skips.
      this.attemptsMap?.delete(id);
      const settled =
        item.decoded.kind === 'task' ? await this.answerFailure(item, verdict, false) : this.handledNow(id);
      if (settled.state !== 'released') verdicts?.delete(id);
      return settled;
    }
    const attempt = (this.attemptsMap?.get(id) ?? 0) + 1;
    let answer: OutgoingMail | undefined;
    try {
      answer = await runHandler(this.dispatchEnv, item, attempt);
    } catch (err) {
      return this.failed(item, err, attempt);
    }
    // Past the stop deadline the handler was aborted: whatever it returned, the mail stays unread.
    if (this.stopController.signal.aborted) return released();
    this.attemptsMap?.delete(id);
    if (answer) return this.reply(id, answer);
    return this.handledNow(id);
  }

  private handledNow(id: string, deadLettered = false): Settlement {
    this.handled.add(id);
    return deadLettered ? DEAD_LETTERED : SETTLED;
  }

  /** A handler threw: released to run again, or (a TaskFailedError, or out of attempts) answered with ERROR. */
  private async failed(item: Incoming, err: unknown, attempt: number): Promise<Settlement> {
    const id = item.message.message_id;
    if (this.stopController.signal.aborted) return released();
    if (!(err instanceof TaskFailedError) && attempt < this.maxAttempts) {
      this.attempts.set(id, attempt);
      this.log.warn({ err, message_id: id, attempt }, 'handler failed; the message will be delivered again');
      if (this.env.supervision) {
        // Supervised: the agent has crashed. It takes nothing more; its supervisor decides.
        this.crashed = true;
        this.subscription?.unsubscribe();
        this.env.supervision.onFailure({ error: err, message: item.message, attempt });
      }
      return released();
    }
    this.attempts.delete(id);
    const d = item.decoded;
    const info = errorInfo(err);
    if (!isDecodeFailure(d) && d.kind === 'task') this.tasks.update(d.taskId, 'received', 'failed', { error: info });
    const report = !(err instanceof TaskFailedError && d.kind === 'task');
    if (report) {
      this.log.error({ err, message_id: id, attempts: attempt }, 'message dead-lettered');
      this.env.deadLetters.next({ agent: this.mailbox.address, message: item.message, error: info, attempts: attempt });
    }
    return this.answerFailure(item, info, report);
  }

  /** dead-lettered: answered with ERROR (never an ERROR with an ERROR: two agents would bounce it forever). */
  private answerFailure(item: Incoming, info: ErrorInfo, deadLettered: boolean): Promise<Settlement> | Settlement {
    const id = item.message.message_id;
    const d = item.decoded;
    if (d.kind === 'error') return this.handledNow(id, deadLettered);
    const taskId = !isDecodeFailure(d) && 'taskId' in d ? d.taskId : undefined;
    const callback = !isDecodeFailure(d) && d.kind === 'task' ? d.body.callback : undefined;
    return this.reply(id, errorMail({ message: item.message, callback }, taskId, info), deadLettered);
  }

  /**
   * replied: sends the answer (at most once: its key is the message's); if it cannot go out, keeps
   * it for the redelivery, which comes after the 429's Retry-After, or after a backoff that doubles
   * with each failure (100 ms up to 30 s) so that an answer nobody takes never spins.
   */
  private async reply(id: string, answer: OutgoingMail, deadLettered = false): Promise<Settlement> {
    this.outbox.set(id, answer);
    try {
      await this.actions.sendRequest(answer, { priority: 1 });
    } catch (err) {
      const failures = (this.replyFailures.get(id) ?? 0) + 1;
      this.replyFailures.set(id, failures);
      const afterMs = err instanceof RateLimitedError ? err.retryAfterMs : Math.min(30_000, 100 * 2 ** (failures - 1));
      this.log.warn({ err, message_id: id, failures, afterMs }, 'could not send the reply; it will be sent again');
      return released(afterMs);
    }
    this.outboxMap?.delete(id);
    this.replyFailuresMap?.delete(id);
    return this.handledNow(id, deadLettered);
  }
}
