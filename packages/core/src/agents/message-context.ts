import type { Logger } from 'pino';
import type { SchedulerLike } from 'rxjs';
import type { TimelineEntry } from '../audit/timeline.js';
import { MailroomError } from '../errors.js';
import type { Mailbox } from '../mailbox/mailbox.js';
import { inputRequiredMail, statusMail } from '../protocol/outgoing.js';
import { formatReplySubject } from '../protocol/subject.js';
import type { TaskContract, TaskInput, TaskOutput } from '../protocol/task-contract.js';
import type { TaskRegistry } from '../tasks/task-registry.js';
import type { TaskOutcome } from '../tasks/types.js';
import { type MailSpan, traceFieldsOf } from '../tracing/spans.js';
import type { Message, SendRequest, SendResult, Thread } from '../wire/model.js';
import type { AgentContext, AskOptions, DelegateOptions, SendOptions, TaskSpec } from './agent.js';
import type { Actions } from './agent-actions.js';

/** The context of one handled message: the agent's actions plus the message's own. */
export class MessageContext implements AgentContext {
  readonly message: Message;
  readonly signal: AbortSignal;
  private readonly actions: Actions;
  private readonly logs: { readonly log: Logger };
  private readonly taskId: string | undefined;
  /** The handler's span, when tracing is on. */
  private readonly span: MailSpan | undefined;
  private childLog: Logger | undefined;

  /** @param logs where the agent's logger comes from (made on first use). */
  constructor(
    actions: Actions,
    message: Message,
    signal: AbortSignal,
    logs: { readonly log: Logger },
    taskId: string | undefined,
    span?: MailSpan,
  ) {
    this.span = span;
    this.actions = actions;
    this.message = message;
    this.signal = signal;
    this.logs = logs;
    this.taskId = taskId;
  }

  get address(): string {
    return this.actions.address;
  }
  get mailbox(): Mailbox {
    return this.actions.mailbox;
  }
  get tasks(): TaskRegistry {
    return this.actions.tasks;
  }
  get scheduler(): SchedulerLike {
    return this.actions.scheduler;
  }
  get log(): Logger {
    this.childLog ??= this.logs.log.child({
      thread_id: this.message.thread_id,
      ...(this.taskId ? { task_id: this.taskId } : {}),
    });
    return this.childLog;
  }

  sendRequest(request: SendRequest, options?: { signal?: AbortSignal }): Promise<SendResult> {
    return this.actions.sendRequest(request, options);
  }
  send(to: string | string[], subject: string, body: string | object, options?: SendOptions): Promise<SendResult> {
    return this.actions.send(to, subject, body, options, this.span);
  }
  delegate(to: string, task: TaskSpec, options?: DelegateOptions) {
    return this.actions.delegate(to, task, options, this.message, this.span);
  }
  collect(taskIds: readonly string[], options: { timeoutMs: number }): Promise<TaskOutcome[]> {
    return this.actions.collect(taskIds, options);
  }
  ask<C extends TaskContract>(
    to: string,
    contract: C,
    input: TaskInput<C>,
    options: AskOptions,
  ): Promise<TaskOutput<C>> {
    return this.actions.ask(to, contract, input, options, this.span);
  }
  thread(threadId: string): Promise<Thread> {
    return this.actions.thread(threadId);
  }
  audit(threadId: string): Promise<TimelineEntry[]> {
    return this.actions.audit(threadId);
  }
  cancel(taskId: string, reason?: string): Promise<SendResult | undefined> {
    return this.actions.cancel(taskId, reason);
  }
  reply(body: string | object, options: { subject?: string; to?: string[] } = {}): Promise<SendResult> {
    const m = this.message;
    return this.actions.send(
      options.to ?? [m.from_address],
      options.subject ?? formatReplySubject(m.subject),
      body,
      { inReplyTo: m.message_id },
      this.span,
    );
  }
  async inputRequired(question: string, options: { timeoutMs: number }): Promise<Message> {
    const id = this.taskId;
    const record = id === undefined ? undefined : this.actions.tasks.get(id, 'received');
    if (id === undefined || !record) throw new MailroomError('not_found', 'no received task to ask about');
    const sent = await this.actions.sendRequest(
      inputRequiredMail(record.peer, record.messageId, id, question, traceFieldsOf(this.span)),
    );
    this.actions.tasks.update(id, 'received', 'input-required');
    try {
      return await this.actions.awaitReply(sent.message_id, id, options.timeoutMs, this.signal);
    } finally {
      this.actions.tasks.update(id, 'received', 'working');
    }
  }
  status(
    state: string,
    options: { note?: string; progress?: number; taskId?: string } = {},
  ): Promise<SendResult | undefined> {
    const id = options.taskId ?? this.taskId;
    const record = id === undefined ? undefined : this.actions.tasks.get(id, 'received');
    if (id === undefined || !record) {
      return Promise.reject(new MailroomError('not_found', `no received task ${id ?? '(none)'} to report on`));
    }
    if (record.quiet) {
      // Its requester did not ask for progress mail (it would take a STATUS for the answer).
      this.logs.log.debug({ task_id: id, state }, 'STATUS not sent: the requester did not ask for progress mail');
      return Promise.resolve(undefined);
    }
    return this.actions.sendRequest(
      statusMail(
        record.peer,
        record.messageId,
        {
          task_id: id,
          state,
          ...(options.progress !== undefined ? { progress: options.progress } : {}),
          ...(options.note !== undefined ? { note: options.note } : {}),
        },
        traceFieldsOf(this.span),
      ),
    );
  }
}
