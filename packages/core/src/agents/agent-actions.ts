import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { SchedulerLike } from 'rxjs';
import { z } from 'zod';
import { type TimelineEntry, timeline } from '../audit/timeline.js';
import { MailroomError, NotFoundError, StoppedError, WithdrawnError } from '../errors.js';
import type { Mailbox } from '../mailbox/mailbox.js';
import type { ScheduledSendOptions, SendScheduler, SendTicket } from '../outbox/send-scheduler.js';
import { cancelMail, taskMail } from '../protocol/outgoing.js';
import type { TaskContract, TaskInput, TaskOutput } from '../protocol/task-contract.js';
import { TaskRebuild } from '../tasks/task-rebuild.js';
import type { TaskRegistry } from '../tasks/task-registry.js';
import { TaskTimeoutError } from '../tasks/task-timeout-error.js';
import type { TaskOutcome } from '../tasks/types.js';
import { onAbort } from '../time/on-abort.js';
import { activeTraceFields, type MailSpan, sentUnder, startSend, traceFieldsOf, tracingOn } from '../tracing/spans.js';
import type { Message, SendRequest, SendResult, Thread } from '../wire/model.js';
import { checkOptions } from '../wire/parse.js';
import type { AgentActions, AskOptions, DelegateOptions, SendOptions, TaskSpec } from './agent.js';
import { askTask } from './ask.js';
import { intercept, type SendHook } from './hooks.js';

const TASK_PREFIX = randomBytes(4).toString('hex');
let taskSeq = 0;
/** A fresh task id: a random prefix per process and a counter (no crypto call per task). */
export const newTaskId = (): string => `t-${TASK_PREFIX}${(++taskSeq).toString(36).padStart(4, '0')}`;

const encode = (body: string | object): string => (typeof body === 'string' ? body : JSON.stringify(body));

/** The wire request of `send` (one place for every kind of mail an agent sends). */
function toRequest(to: string | string[], subject: string, body: string | object, options: SendOptions): SendRequest {
  const request: SendRequest = { to: Array.isArray(to) ? to : [to], subject, body_text: encode(body) };
  // Set one by one (no object spread per send: most mail has none of them).
  if (options.cc) request.cc = options.cc;
  if (options.bcc) request.bcc = options.bcc;
  if (options.inReplyTo) request.in_reply_to = options.inReplyTo;
  if (options.idempotencyKey) request.idempotency_key = options.idempotencyKey;
  return request;
}

const CollectOptions = z.object({ timeoutMs: z.number().finite().nonnegative() });

/** The actions of one agent, shared by its handler contexts and its AgentRef. */
export class Actions implements AgentActions {
  readonly address: string;
  readonly mailbox: Mailbox;
  readonly tasks: TaskRegistry;
  readonly scheduler: SchedulerLike;
  /** Aborted when the agent stops. */
  readonly stopped: AbortSignal;

  /** The agent's SendScheduler, when its sends go through one. */
  readonly sendScheduler: SendScheduler | undefined;
  /** TASKs still waiting in the SendScheduler, by task id (made on first use). */
  private waiting: Map<string, SendTicket> | undefined;
  /** Questions waiting for their answer, by the question's message id (made on first use). */
  private questions: Map<string, (answer: Message) => void> | undefined;
  /** Rebuilds sent tasks from the post office after a restart (made on first use). */
  private rebuilder: TaskRebuild | undefined;
  private readonly logs: { readonly log: Logger };
  /** Run before every send (the agent's own, then its spawn's `beforeSend`). */
  private readonly hooks: readonly SendHook[];

  constructor(
    mailbox: Mailbox,
    tasks: TaskRegistry,
    scheduler: SchedulerLike,
    stopped: AbortSignal,
    logs: { readonly log: Logger },
    sendScheduler?: SendScheduler,
    hooks: readonly SendHook[] = [],
  ) {
    this.logs = logs;
    this.hooks = hooks;
    this.sendScheduler = sendScheduler;
    this.address = mailbox.address;
    this.mailbox = mailbox;
    this.tasks = tasks;
    this.scheduler = scheduler;
    this.stopped = stopped;
  }

  /**
   * Every send of the agent goes through here: through its SendScheduler when it has one
   * (quota, stagger, 429 pauses), else straight to the mailbox. The `beforeSend` hooks see it
   * first: they may change it, or block it (`ForbiddenError`, nothing goes out).
   */
  sendRequest(request: SendRequest, options: ScheduledSendOptions = {}): Promise<SendResult> {
    if (this.hooks.length === 0) return this.sendNow(request, options);
    return intercept(this.hooks, request, { agent: this.address }, `mail "${request.subject}"`).then((mail) => {
      if (mail !== request) this.logs.log.debug({ subject: request.subject }, 'a beforeSend hook changed a mail');
      return this.sendNow(mail, options);
    });
  }

  private sendNow(request: SendRequest, options: ScheduledSendOptions): Promise<SendResult> {
    if (this.sendScheduler) return this.sendScheduler.send(request, options);
    if (options.signal?.aborted) return Promise.reject(new WithdrawnError('the send was withdrawn before it went out'));
    return this.mailbox.send(request);
  }

  /** A stopped agent sends nothing: its send, delegate and ask are a `StoppedError`. */
  private whenStopped(what: string): Promise<never> | undefined {
    if (!this.stopped.aborted) return undefined;
    return Promise.reject(new StoppedError(`${what} from ${this.address}: the agent is stopped`));
  }

  /** `parent`: the span of the handler that sends (tracing on), else the active span. */
  send(
    to: string | string[],
    subject: string,
    body: string | object,
    options: SendOptions = {},
    parent?: MailSpan,
  ): Promise<SendResult> {
    const stopped = this.whenStopped('send');
    if (stopped) return stopped;
    const request = toRequest(to, subject, body, options);
    const span = tracingOn() ? startSend(request.to[0] ?? '', { kind: 'mail' }, parent) : undefined;
    const sending = this.sendRequest(request, options.signal ? { signal: options.signal } : {});
    return span ? sentUnder(span, sending) : sending;
  }

  delegate(to: string, task: TaskSpec, options: DelegateOptions = {}, current?: Message, parent?: MailSpan) {
    return this.delegateIn(
      to,
      task,
      options.inReplyTo ?? (options.inThread ? current?.message_id : undefined),
      options.signal,
      parent,
    );
  }

  /**
   * Delegates in reply to `inReplyTo` (its thread), or in a new thread. Tracing on, the TASK's
   * `send` span is a child of `parent` (else of the active span) and the TASK carries its context.
   */
  async delegateIn(to: string, task: TaskSpec, inReplyTo: string | undefined, signal?: AbortSignal, parent?: MailSpan) {
    // Checked without an await: the assignee's load must count this task synchronously (below).
    if (this.stopped.aborted) throw new StoppedError(`delegate from ${this.address}: the agent is stopped`);
    const taskId = task.taskId ?? newTaskId();
    const span = tracingOn() ? startSend(to, { kind: 'task', taskId, taskName: task.name }, parent) : undefined;
    const mail = taskMail(
      to,
      task.name,
      {
        task_id: taskId,
        description: task.description,
        ...(task.input !== undefined ? { input: task.input } : {}),
        ...(task.deadline !== undefined ? { deadline: task.deadline } : {}),
        ...(task.callback !== undefined ? { callback: task.callback } : {}),
        ...(task.callbackSubject !== undefined ? { callback_subject: task.callbackSubject } : {}),
      },
      inReplyTo,
      traceFieldsOf(span),
    );
    // A TASK that waits for quota can be withdrawn by cancel(taskId) until it goes out.
    const ticket: SendTicket | undefined = this.sendScheduler ? {} : undefined;
    if (ticket) {
      this.waiting ??= new Map();
      this.waiting.set(taskId, ticket);
    }
    // The assignee's load counts this task from now (smallest-mailbox), not once it went out.
    const unqueue = this.tasks.queued(to);
    try {
      const sending = this.sendRequest(mail, { ...(signal ? { signal } : {}), ...(ticket ? { ticket } : {}) });
      const sent = await (span ? sentUnder(span, sending) : sending);
      this.tasks.open({
        taskId,
        role: 'sent',
        name: task.name,
        peer: to,
        threadId: sent.thread_id,
        messageId: sent.message_id,
        ...(task.callbackSubject !== undefined ? { callbackSubject: task.callbackSubject } : {}),
      });
      return { taskId, threadId: sent.thread_id, messageId: sent.message_id };
    } finally {
      unqueue();
      if (ticket) this.waiting?.delete(taskId);
    }
  }

  /**
   * Resolves with the first mail in reply to `messageId` (as it arrives, not behind the handler
   * that waits for it); rejects with `TaskTimeoutError` after `timeoutMs`, or when `signal` aborts.
   */
  awaitReply(messageId: string, taskId: string, timeoutMs: number, signal: AbortSignal): Promise<Message> {
    this.questions ??= new Map();
    const questions = this.questions;
    return new Promise((resolve, reject) => {
      const done = () => {
        questions.delete(messageId);
        timer.unsubscribe();
        unlisten();
      };
      const timer = this.scheduler.schedule(() => {
        done();
        reject(new TaskTimeoutError([taskId], timeoutMs));
      }, timeoutMs);
      const unlisten = onAbort(signal, () => {
        done();
        reject(signal.reason);
      });
      questions.set(messageId, (answer: Message) => {
        done();
        resolve(answer);
      });
    });
  }

  /** A mail came in: the answer to a question waiting for it, if it is one. */
  heard(message: Message): void {
    if (!this.questions || !message.in_reply_to) return;
    this.questions.get(message.in_reply_to)?.(message);
  }

  /** Sent tasks the registry does not know (sent before a restart) are rebuilt from the post office. */
  private get rebuild(): TaskRebuild {
    this.rebuilder ??= new TaskRebuild(this.mailbox, this.tasks, this.logs);
    return this.rebuilder;
  }

  /**
   * Waits for the tasks' answers. Its options are checked first; a task id this agent does not
   * know is looked for in the post office (sent before a restart), and one it never sent fails
   * at once with `NotFoundError` (an answer that comes meanwhile is kept by the registry).
   */
  async collect(taskIds: readonly string[], options: { timeoutMs: number }): Promise<TaskOutcome[]> {
    checkOptions('collect options', CollectOptions, options);
    const unknown = taskIds.filter((id) => !this.tasks.get(id, 'sent'));
    if (unknown.length > 0) {
      await this.rebuild.recover(unknown);
      const never = unknown.filter((id) => !this.tasks.get(id, 'sent'));
      if (never.length > 0) throw new NotFoundError(`${this.address} never sent task(s) ${never.join(', ')}`);
    }
    return this.tasks.collect(taskIds, options.timeoutMs, this.scheduler, this.stopped);
  }

  ask<C extends TaskContract>(
    to: string,
    contract: C,
    input: TaskInput<C>,
    options: AskOptions,
    parent?: MailSpan,
  ): Promise<TaskOutput<C>> {
    return askTask(this, {
      to,
      contract,
      input,
      options,
      recover: (ids) => this.rebuild.recover(ids),
      log: this.logs.log,
      parent,
    });
  }

  thread(threadId: string): Promise<Thread> {
    return this.mailbox.thread(threadId);
  }

  async audit(threadId: string): Promise<TimelineEntry[]> {
    return timeline(await this.mailbox.thread(threadId));
  }

  async cancel(taskId: string, reason?: string): Promise<SendResult | undefined> {
    const record = this.tasks.get(taskId, 'sent');
    if (!record && this.waiting?.get(taskId)?.withdraw?.()) return undefined;
    if (!record) throw new MailroomError('not_found', `no sent task ${taskId} to cancel`);
    const sent = await this.sendRequest(
      cancelMail(
        record.peer,
        record.messageId,
        { task_id: taskId, ...(reason !== undefined ? { reason } : {}) },
        activeTraceFields(),
      ),
    );
    this.tasks.update(taskId, 'sent', 'canceled', reason !== undefined ? { note: reason } : {});
    return sent;
  }
}
