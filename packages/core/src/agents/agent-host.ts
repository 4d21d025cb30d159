import { type ActorSystemRef, dispatch, type Ref, spawn, stop } from 'nact';
import type { Logger } from 'pino';
import type { Subscription } from 'rxjs';
import { RateLimitedError, TaskFailedError } from '../errors.js';
import { InFlight } from '../inbox/in-flight.js';
import { inboxStream } from '../inbox/inbox-stream.js';
import type { Mailbox } from '../mailbox/mailbox.js';
import { SendScheduler } from '../outbox/send-scheduler.js';
import { type DecodeFailure, decodeMessage, isDecodeFailure, type ProtocolMessage } from '../protocol/codec.js';
import { DECISIONS } from '../protocol/decision.js';
import { formatReplySubject, formatTaskMailSubject, TASK_ID } from '../protocol/subject.js';
import { recordTaskMail } from '../tasks/task-mail.js';
import { TaskRegistry } from '../tasks/task-registry.js';
import type { Message, SendRequest } from '../wire/model.js';
import type { Agent, Task } from './agent.js';
import { Actions, MessageContext } from './agent-actions.js';
import { type AgentOptions, errorInfo, type HostEnv } from './agent-options.js';
import { RecentIds } from './recent-ids.js';

type Item = { message: Message; decoded: ProtocolMessage | DecodeFailure };
type Outcome = 'ack' | 'release' | { releaseAfterMs: number };

/** Runs one agent: its inbox stream feeds its nact actor, under the delivery rules. @internal */
export class AgentHost {
  readonly actions: Actions;
  readonly tasks: TaskRegistry;
  private readonly agent: Agent;
  private readonly mailbox: Mailbox;
  private readonly env: HostEnv;
  private logger: Logger | undefined;
  private readonly inFlight = new InFlight();
  private readonly handled: RecentIds;
  // Made on first use: ten thousand idle agents should cost little.
  private attemptsMap: Map<string, number> | undefined;
  /** Replies computed but not yet sent (a retry sends them without running the handler again). */
  private outboxMap: Map<string, SendRequest> | undefined;
  private controllersMap: Map<string, AbortController> | undefined;
  private readonly stopController = new AbortController();
  private readonly maxAttempts: number;
  private readonly ack: boolean;
  private readonly options: AgentOptions;
  private actor: Ref<Item[]> | undefined;
  private subscription: Subscription | undefined;
  private outstanding = 0;
  private stopping = false;
  /** A supervised handler failed: the rest of the mailbox waits for the restarted agent. */
  private crashed = false;
  private idle: (() => void) | undefined;
  /** The SendScheduler this host made (and stops with the agent). */
  private ownScheduler: SendScheduler | undefined;

  constructor(agent: Agent, mailbox: Mailbox, env: HostEnv, options: AgentOptions = {}) {
    this.agent = agent;
    this.mailbox = mailbox;
    this.env = env;
    this.options = options;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.ack = options.ack ?? true;
    this.handled = new RecentIds(options.dedupeWindow ?? 100_000);
    this.tasks = new TaskRegistry(env.scheduler, options.maxTasks ?? 10_000);
    if (env.supervision) this.attemptsMap = env.supervision.attempts;
    const sendScheduler =
      options.sendScheduler instanceof SendScheduler
        ? options.sendScheduler
        : options.sendScheduler
          ? new SendScheduler({
              mailbox,
              scheduler: env.scheduler,
              logger: env.logger,
              ...(options.sendScheduler === true ? {} : { stagger: options.sendScheduler }),
            })
          : undefined;
    if (sendScheduler && !(options.sendScheduler instanceof SendScheduler)) this.ownScheduler = sendScheduler;
    this.actions = new Actions(mailbox, this.tasks, env.scheduler, this.stopController.signal, sendScheduler);
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

  private get outbox(): Map<string, SendRequest> {
    this.outboxMap ??= new Map();
    return this.outboxMap;
  }

  private get controllers(): Map<string, AbortController> {
    this.controllersMap ??= new Map();
    return this.controllersMap;
  }

  start(): void {
    this.actor = spawn(
      this.env.system as ActorSystemRef,
      (state: undefined, items: Item[]) => this.handleBatch(items).then(() => state),
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
    }).subscribe((messages) => this.onBatch(messages));
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
    this.ownScheduler?.stop();
    for (const c of this.controllersMap?.values() ?? []) c.abort();
    if (this.actor) stop(this.actor);
  }

  private onBatch(messages: Message[]): void {
    const items: Item[] = messages.map((message) => ({ message, decoded: decodeMessage(message) }));
    for (const { decoded: d } of items) {
      if (isDecodeFailure(d)) continue;
      // Task states (for collect) and CANCEL must not wait behind a busy handler.
      if (recordTaskMail(this.tasks, d) === 'canceled' && d.kind === 'cancel') {
        this.controllersMap?.get(d.taskId)?.abort(d.body.reason ?? 'canceled');
      }
    }
    this.outstanding += 1;
    if (this.actor) dispatch(this.actor, items);
  }

  private async handleBatch(items: Item[]): Promise<void> {
    const acks: string[] = [];
    const released: string[] = [];
    const again: Item[] = [];
    for (const item of items) {
      const id = item.message.message_id;
      if (this.stopping || this.crashed) {
        released.push(id);
        continue;
      }
      const outcome = await this.handle(item);
      if (outcome === 'ack') acks.push(id);
      else if (outcome === 'release' && !this.stopping && !this.crashed) again.push(item);
      else if (outcome === 'release') released.push(id);
      else this.env.timer.after(outcome.releaseAfterMs, () => this.inFlight.settle([id], true));
    }
    if (acks.length > 0) {
      try {
        await this.mailbox.markRead(acks);
      } catch (err) {
        this.log.warn({ err, count: acks.length }, 'could not mark handled mail read; it will be acknowledged again');
      }
    }
    // A failed handler runs again from here, still in flight and still unread in the post office:
    // no re-poll that would walk past every message in flight to find it.
    if (again.length > 0 && this.actor) {
      this.outstanding += 1;
      dispatch(this.actor, again);
    }
    this.inFlight.settle(acks.concat(released), released.length > 0 && !this.crashed);
    this.outstanding -= 1;
    if (this.outstanding === 0) this.idle?.();
  }

  private async handle(item: Item): Promise<Outcome> {
    const id = item.message.message_id;
    if (this.handled.has(id)) return 'ack';
    const pending = this.outboxMap?.get(id);
    if (pending) return this.flush(id, pending);
    const attempt = (this.attemptsMap?.get(id) ?? 0) + 1;
    try {
      const reply = await this.run(item, attempt);
      // Past the stop deadline the handler was aborted: whatever it returned, the mail stays unread.
      if (this.stopController.signal.aborted) return 'release';
      this.attemptsMap?.delete(id);
      if (reply) return this.flush(id, reply);
      this.handled.add(id);
      return 'ack';
    } catch (err) {
      if (this.stopController.signal.aborted) return 'release';
      const final = err instanceof TaskFailedError || attempt >= this.maxAttempts;
      if (!final) {
        this.attempts.set(id, attempt);
        this.log.warn({ err, message_id: id, attempt }, 'handler failed; the message will be delivered again');
        if (this.env.supervision) {
          // Supervised: the agent has crashed. It takes nothing more; its supervisor decides.
          this.crashed = true;
          this.subscription?.unsubscribe();
          this.env.supervision.onFailure({ error: err, message: item.message, attempt });
        }
        return 'release';
      }
      this.attempts.delete(id);
      const d = item.decoded;
      const taskId = !isDecodeFailure(d) && 'taskId' in d ? d.taskId : undefined;
      const info = errorInfo(err);
      if (d.kind === 'task' && taskId) this.tasks.update(taskId, 'received', 'failed', { error: info });
      if (!(err instanceof TaskFailedError && d.kind === 'task')) {
        this.log.error({ err, message_id: id, attempts: attempt }, 'message dead-lettered');
        this.env.deadLetters.next({
          agent: this.mailbox.address,
          message: item.message,
          error: info,
          attempts: attempt,
        });
      }
      // Never answer an ERROR with an ERROR: two agents would bounce it forever.
      if (d.kind === 'error') return this.done(id);
      const callback = !isDecodeFailure(d) && d.kind === 'task' ? d.body.callback : undefined;
      return this.flush(id, this.errorReply(item.message, taskId, info, callback));
    }
  }

  /** Runs the agent's handler; returns the reply to send, if any. */
  private async run(item: Item, attempt: number): Promise<SendRequest | undefined> {
    const { message, decoded: d } = item;
    if (isDecodeFailure(d)) {
      this.log.warn({ message_id: message.message_id, subject: message.subject, err: d.error }, 'undecodable message');
      if (d.kind === 'error') return undefined;
      return this.errorReply(message, d.taskId, { type: 'ProtocolError', message: d.error.message }, undefined);
    }
    if (d.kind === 'task') return this.runTask(d, attempt);
    const ctx = new MessageContext(
      this.actions,
      message,
      this.stopController.signal,
      this,
      'taskId' in d ? d.taskId : undefined,
    );
    const from = message.from_address;
    switch (d.kind) {
      case 'result':
        await this.agent.onResult({ taskId: d.taskId, body: d.body, from, message }, ctx);
        return undefined;
      case 'error':
        await this.agent.onError({ taskId: d.taskId, body: d.body, from, message }, ctx);
        return undefined;
      case 'status':
        await this.agent.onStatus({ taskId: d.taskId, body: d.body, from, message }, ctx);
        return undefined;
      case 'ack':
        await this.agent.onAck({ taskId: d.taskId, body: d.body, from, message }, ctx);
        return undefined;
      case 'cancel':
        await this.agent.onCancel({ taskId: d.taskId, body: d.body, from, message }, ctx);
        return undefined;
      case 'escalation': {
        // An agent serving as a level of a chain answers with its decision, sent back in the thread.
        const decision = await this.agent.onEscalation({ ...d.escalation, errorType: d.errorType }, ctx);
        if (typeof decision !== 'string' || !(DECISIONS as readonly string[]).includes(decision)) return undefined;
        return {
          to: [message.from_address],
          subject: formatReplySubject(message.subject),
          body_text: JSON.stringify({ decision }),
          in_reply_to: message.message_id,
        };
      }
      default:
        await this.agent.onMessage(message, ctx);
        return undefined;
    }
  }

  private async runTask(
    d: Extract<ProtocolMessage, { kind: 'task' }>,
    attempt: number,
  ): Promise<SendRequest | undefined> {
    const { message, taskId, body } = d;
    if (this.tasks.get(taskId, 'received')?.state === 'canceled') return undefined;
    const controller = new AbortController();
    const onStop = () => controller.abort('runtime stopping');
    this.stopController.signal.addEventListener('abort', onStop, { once: true });
    this.controllers.set(taskId, controller);
    try {
      if (this.ack && attempt === 1) {
        await this.actions.sendRequest({
          to: [message.from_address],
          subject: formatTaskMailSubject('ack', taskId),
          body_text: JSON.stringify({ task_id: taskId }),
          in_reply_to: message.message_id,
          idempotency_key: `ack:${message.message_id}`,
        });
        this.tasks.update(taskId, 'received', 'accepted');
      }
      this.tasks.update(taskId, 'received', 'working');
      const task: Task = {
        id: taskId,
        name: d.name,
        description: body.description,
        input: body.input,
        deadline: body.deadline,
        callback: body.callback,
        callbackSubject: body.callback_subject,
        from: message.from_address,
        message,
      };
      const ctx = new MessageContext(this.actions, message, controller.signal, this, taskId);
      let result: unknown;
      try {
        result = await this.agent.onTask(task, ctx);
      } catch (err) {
        if (this.tasks.get(taskId, 'received')?.state === 'canceled') return undefined;
        throw err;
      }
      if (this.tasks.get(taskId, 'received')?.state === 'canceled') return undefined;
      this.tasks.update(taskId, 'received', 'completed', { result });
      return {
        to: [body.callback ?? message.from_address],
        // A callback_subject names the result mail for its reader; the body stays a RESULT body.
        subject: body.callback_subject ?? formatTaskMailSubject('result', taskId),
        body_text: JSON.stringify({ task_id: taskId, result: result ?? null }),
        in_reply_to: message.message_id,
      };
    } finally {
      this.controllers.delete(taskId);
      this.stopController.signal.removeEventListener('abort', onStop);
    }
  }

  private errorReply(
    message: Message,
    taskId: string | undefined,
    error: { type: string; message: string },
    callback: string | undefined,
  ): SendRequest {
    const id = taskId && TASK_ID.test(taskId) ? taskId : 'unknown';
    return {
      to: [callback ?? message.from_address],
      subject: formatTaskMailSubject('error', id),
      body_text: JSON.stringify({ task_id: id, error }),
      in_reply_to: message.message_id,
    };
  }

  /** Sends a computed reply (idempotent per handled message); on failure keeps it for the retry. */
  private async flush(id: string, reply: SendRequest): Promise<Outcome> {
    this.outbox.set(id, reply);
    try {
      await this.actions.sendRequest({ ...reply, idempotency_key: `reply:${id}` }, { priority: 1 });
    } catch (err) {
      this.log.warn({ err, message_id: id }, 'could not send the reply; it will be sent again');
      if (err instanceof RateLimitedError) return { releaseAfterMs: err.retryAfterMs };
      return 'release';
    }
    this.outboxMap?.delete(id);
    return this.done(id);
  }

  private done(id: string): Outcome {
    this.handled.add(id);
    return 'ack';
  }
}
