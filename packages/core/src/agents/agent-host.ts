import { type ActorSystemRef, dispatch as dispatchTo, type Ref, spawn, stop } from 'nact';
import type { Logger } from 'pino';
import type { Subscription } from 'rxjs';
import { TaskFailedError } from '../errors.js';
import { InFlight } from '../inbox/in-flight.js';
import { inboxStream } from '../inbox/inbox-stream.js';
import type { Mailbox } from '../mailbox/mailbox.js';
import type { SendScheduler } from '../outbox/send-scheduler.js';
import { isDecodeFailure } from '../protocol/codec.js';
import type { OutgoingMail } from '../protocol/outgoing.js';
import { TaskRegistry } from '../tasks/task-registry.js';
import { endSpan, type MailSpan, tracingOn, withSpan } from '../tracing/spans.js';
import type { Message } from '../wire/model.js';
import { Agent } from './agent.js';
import { Actions } from './agent-actions.js';
import { type AgentOptions, DEFAULT_CONCURRENCY, type ErrorInfo, errorInfo, type HostEnv } from './agent-options.js';
import { DEAD_LETTERED, released, SETTLED, type Settlement } from './delivery.js';
import {
  type DispatchEnv,
  deliverySpan,
  type HandlerOutcome,
  type Incoming,
  isThenable,
  isUrgent,
  processSpan,
  receive,
  runHandler,
} from './handler-dispatch.js';
import { hookList, type SendHook } from './hooks.js';
import { Lanes } from './lanes.js';
import { ReadMarks } from './read-marks.js';
import { RecentIds } from './recent-ids.js';
import { Replies } from './replies.js';
import { retryDelay } from './retry-timing.js';

/**
 * Delivers one agent's mail: its inbox stream feeds its nact actor (the one entry of arrivals), the
 * actor puts each message in its lane (see `lanes.ts`: up to `concurrency` at once, one at a time
 * per ordering key), and each message goes received → running → replied → settled | released |
 * dead-lettered (see `delivery.ts`). What a handler is and what it answers is
 * `handler-dispatch.ts`'s; this class only moves messages, sends the answers it is given, and marks
 * read. Its bookkeeping is synchronous code on the one JavaScript thread; handlers run outside it.
 * @internal
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
  private readonly lanes: Lanes<Incoming>;
  private readonly reads: ReadMarks;
  private readonly replies: Replies;
  // Made on first use: ten thousand idle agents should cost little.
  private attemptsMap: Map<string, number> | undefined;
  private readonly stopController = new AbortController();
  private readonly maxAttempts: number;
  private readonly options: AgentOptions;
  private actor: Ref<Incoming[]> | undefined;
  private subscription: Subscription | undefined;
  private stopping = false;
  /** Messages handed to the actor that have not arrived yet (`stop` waits for them). */
  private transit = 0;
  /** A supervised handler failed: the rest of the mailbox waits for the restarted agent. */
  private crashed = false;
  private idle: (() => void) | undefined;
  /** Which sent task a mail answers when it names none (a seed-style reply or callback). */
  private readonly answered = (m: Message) => this.tasks.answeredBy(m);

  constructor(agent: Agent, mailbox: Mailbox, env: HostEnv, options: AgentOptions, sendScheduler?: SendScheduler) {
    this.mailbox = mailbox;
    this.env = env;
    this.options = options;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.handled = new RecentIds(options.dedupeWindow ?? 100_000);
    this.tasks = new TaskRegistry(env.scheduler, options.maxTasks ?? 10_000);
    if (env.supervision) this.attemptsMap = env.supervision.attempts;
    // The agent's own hook only when its class overrides it: most sends need no extra turn.
    const own: SendHook[] =
      agent.interceptSend === Agent.prototype.interceptSend ? [] : [(mail, c) => agent.interceptSend(mail, c)];
    const hooks = [...own, ...hookList(options.beforeSend)];
    this.actions = new Actions(
      mailbox,
      this.tasks,
      env.scheduler,
      this.stopController.signal,
      this,
      sendScheduler,
      hooks,
    );
    this.dispatchEnv = {
      agent,
      actions: this.actions,
      tasks: this.tasks,
      stopped: this.stopController.signal,
      logs: this,
      ack: options.ack ?? true,
      controllers: new Map(),
    };
    const keyOf = options.orderingKey ?? ((m: Message) => m.thread_id);
    this.lanes = new Lanes<Incoming>(
      options.concurrency ?? DEFAULT_CONCURRENCY,
      (item) => keyOf(item.message),
      (item, key) => this.run(item, key),
      (ms, fn) => env.timer.after(ms, fn),
    );
    this.replies = new Replies(this.actions, this, (id, deadLettered) => this.handledNow(id, deadLettered));
    this.reads = new ReadMarks(mailbox, this.inFlight, this, () => this.checkIdle());
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

  start(): void {
    this.actor = spawn(
      this.env.system as ActorSystemRef,
      (state: undefined, items: Incoming[]) => {
        this.arrive(items);
        return state;
      },
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

  /** Stops polling, lets the handlers in progress finish within `deadlineMs`, then stops the actor. */
  async stop(deadlineMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.subscription?.unsubscribe();
    this.releaseWaiting();
    if (this.lanes.running > 0 || this.reads.busy || this.transit > 0) {
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

  /** received: decoded, and handed to the actor as one page (see `receive` in handler-dispatch.ts). */
  private receive(messages: Message[]): void {
    const items = receive(this.dispatchEnv, messages, this.answered);
    if (!this.actor) return;
    this.transit += items.length;
    dispatchTo(this.actor, items);
  }

  private get halted(): boolean {
    return this.stopping || this.crashed;
  }

  /** In the actor: each message joins its lane (or goes back to the post office if the agent halted). */
  private arrive(items: Incoming[]): void {
    this.transit -= items.length;
    if (this.halted) {
      this.arriveHalted(items);
      return;
    }
    // Answers to this agent's own tasks (and CANCELs) pass the new work waiting: a handler that
    // waits on `collect` has its answers recorded on arrival, and their handling never queues
    // behind hundreds of TASKs (nor holds the prefetch bound full of them).
    for (let i = 0; i < items.length; i++) {
      // A handler that failed synchronously may have crashed the agent (supervised) in the push
      // before: the rest of the page goes back to the post office, as the lanes' waiting mail did.
      if (this.halted) {
        this.arriveHalted(items.slice(i));
        return;
      }
      const item = items[i] as Incoming;
      this.lanes.push(item, isUrgent(item));
    }
  }

  /**
   * running, outside the actor: the lane's slot is held until the message settles or is released.
   * A delivery that ends synchronously (a handler that returned at once, a duplicate) settles here
   * and now: no promise and no microtask per message; anything else settles when its promise does.
   */
  private run(item: Incoming, key: string): void {
    // Tracing on: one `receive` span per delivery, continuing the trace the mail carries.
    const span = tracingOn() ? deliverySpan(this.mailbox.address, item) : undefined;
    let outcome: Settlement | Promise<Settlement>;
    try {
      outcome = this.deliver(item, span);
    } catch (err) {
      outcome = this.hostFault(item, err);
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (settlement) => this.ended(item, key, settlement, span),
        (err: unknown) => this.ended(item, key, this.hostFault(item, err), span),
      );
    } else this.ended(item, key, outcome, span);
  }

  /** Not a handler failure (those are answered or retried in `failed`): a fault of the host. */
  private hostFault(item: Incoming, err: unknown): Settlement {
    const afterMs = retryDelay(1, err, this.options.retry);
    this.log.error({ err, message_id: item.message.message_id, retryInMs: afterMs }, 'delivery failed; retrying');
    return released(afterMs);
  }

  private ended(item: Incoming, key: string, settlement: Settlement, span: MailSpan | undefined): void {
    if (span) endSpan(span, undefined, ['mailroom.delivery.state', settlement.state]);
    this.settle(item, key, settlement);
  }

  /**
   * Where one delivery ended: settled and dead-lettered mail is marked read (in a batch); released
   * mail runs again first in its lane after its backoff (its later messages wait), or goes back to
   * the post office when the agent stops or crashed.
   */
  private settle(item: Incoming, key: string, settlement: Settlement): void {
    const id = item.message.message_id;
    if (this.log.isLevelEnabled('debug'))
      this.log.debug({ message_id: id, state: settlement.state }, 'message delivered');
    if (settlement.state !== 'released') {
      this.lanes.done(key);
      this.reads.add(id);
    } else if (this.halted || settlement.toPostOffice) {
      this.lanes.done(key);
      this.inFlight.settle([id], !this.crashed);
    } else {
      this.lanes.done(key, { item, afterMs: settlement.afterMs });
    }
    this.checkIdle();
  }

  /**
   * A page that arrives after `stop` (received just before it): the answers to this agent's tasks
   * (and CANCELs) took effect when they were received — an `ask` or `collect` may have returned
   * with them already — so they are handled, and marked read, before the agent stops; anything
   * else goes back to the post office unread. After a crash, everything goes back.
   */
  private arriveHalted(items: Incoming[]): void {
    const back: string[] = [];
    for (const item of items) {
      if (!this.crashed && isUrgent(item)) this.lanes.push(item, true);
      else back.push(item.message.message_id);
    }
    if (back.length > 0) this.inFlight.settle(back, !this.crashed);
    this.checkIdle();
  }

  /**
   * Takes back every message not running (the agent stops or crashed): as a page arriving then
   * would be — the answers to this agent's tasks still handled at a stop, the rest back unread.
   */
  private releaseWaiting(): void {
    const waiting = this.lanes.drain();
    if (waiting.length > 0) this.arriveHalted(waiting);
  }

  private checkIdle(): void {
    if (this.idle && this.lanes.running === 0 && !this.reads.busy && this.transit === 0) this.idle();
  }

  /**
   * One delivery of one message: running, then replied, then where it ends up. Synchronous as far
   * as the handler is (see `runHandler`): a promise only where something is waited for.
   */
  private deliver(item: Incoming, span: MailSpan | undefined): Settlement | Promise<Settlement> {
    const id = item.message.message_id;
    if (this.handled.has(id)) return SETTLED;
    const pending = this.replies.kept(id);
    if (pending) return this.replies.send(id, pending, false, span);
    const verdict = this.env.supervision?.verdicts.get(id);
    if (verdict) return this.skip(item, verdict, span);
    const attempt = (this.attemptsMap?.get(id) ?? 0) + 1;
    // The handler's `process` span: its delegates and answers carry its trace context.
    const handling = span ? processSpan(this.mailbox.address, item, span, attempt) : undefined;
    let outcome: HandlerOutcome;
    try {
      outcome = handling
        ? withSpan(handling, () => runHandler(this.dispatchEnv, item, attempt, handling))
        : runHandler(this.dispatchEnv, item, attempt);
    } catch (err) {
      endSpan(handling, err);
      return this.failed(item, err, attempt, handling);
    }
    if (!isThenable(outcome)) return this.handlerReturned(id, outcome, handling);
    return outcome.then(
      (answer) => this.handlerReturned(id, answer, handling),
      (err: unknown) => {
        endSpan(handling, err);
        return this.failed(item, err, attempt, handling);
      },
    );
  }

  /** The handler returned (`answer`: what to send back, if anything). */
  private handlerReturned(id: string, answer: OutgoingMail | undefined, handling: MailSpan | undefined) {
    endSpan(handling);
    // Past the stop deadline the handler was aborted: whatever it returned, the mail stays unread.
    if (this.stopController.signal.aborted) return released();
    this.attemptsMap?.delete(id);
    if (answer) return this.replies.send(id, answer, false, handling);
    return this.handledNow(id);
  }

  /**
   * The escalation chain decided this message's fate (`skip`): a task is answered with the
   * verdict, anything else is marked read; the handler never runs. The verdict holds until then,
   * so a restart before the answer went out still skips.
   */
  private async skip(item: Incoming, verdict: ErrorInfo, span: MailSpan | undefined): Promise<Settlement> {
    const id = item.message.message_id;
    this.attemptsMap?.delete(id);
    const settled =
      item.decoded.kind === 'task' ? await this.replies.failure(item, verdict, false, span) : this.handledNow(id);
    if (settled.state !== 'released') this.env.supervision?.verdicts.delete(id);
    return settled;
  }

  private handledNow(id: string, deadLettered = false): Settlement {
    this.handled.add(id);
    return deadLettered ? DEAD_LETTERED : SETTLED;
  }

  /** A handler threw: released to run again, or (a TaskFailedError, or out of attempts) answered with ERROR. */
  private async failed(item: Incoming, err: unknown, attempt: number, span?: MailSpan): Promise<Settlement> {
    const id = item.message.message_id;
    if (this.stopController.signal.aborted) return released();
    if (!(err instanceof TaskFailedError) && attempt < this.maxAttempts) {
      this.attempts.set(id, attempt);
      if (this.crashed) return { state: 'released', afterMs: 0, toPostOffice: true };
      if (this.env.supervision) {
        // Supervised: the agent has crashed. It takes nothing more; its supervisor decides.
        this.log.warn({ err, message_id: id, attempt }, 'handler failed; the supervisor decides');
        this.crashed = true;
        this.subscription?.unsubscribe();
        this.releaseWaiting();
        this.env.supervision.onFailure({ error: err, message: item.message, attempt });
        return { state: 'released', afterMs: 0, toPostOffice: true };
      }
      const afterMs = retryDelay(attempt, err, this.options.retry);
      this.log.warn(
        { err, message_id: id, attempt, retryInMs: afterMs },
        'handler failed; it runs again after a backoff',
      );
      return released(afterMs);
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
    return this.replies.failure(item, info, report, span);
  }
}
