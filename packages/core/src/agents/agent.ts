import type { Logger } from 'pino';
import type { SchedulerLike } from 'rxjs';
import type { z } from 'zod';
import type { TimelineEntry } from '../audit/timeline.js';
import { TaskFailedError } from '../errors.js';
import type { Mailbox } from '../mailbox/mailbox.js';
import type { AckBody, CancelBody, ErrorBody, ResultBody, StatusBody } from '../protocol/bodies.js';
import type { Escalation } from '../protocol/escalation.js';
import type { TaskContract, TaskInput, TaskOutput } from '../protocol/task-contract.js';
import type { TaskRegistry } from '../tasks/task-registry.js';
import type { TaskOutcome } from '../tasks/types.js';
import type { Message, SendRequest, SendResult, Thread } from '../wire/model.js';
import type { AgentOptions } from './agent-options.js';
import type { Interception } from './hooks.js';

/** A task as its handler sees it. */
export type Task = {
  id: string;
  name: string;
  description: string;
  input: unknown;
  deadline: string | undefined;
  /** Where the RESULT goes (the sender when absent). */
  callback: string | undefined;
  callbackSubject: string | undefined;
  /** The requester. */
  from: string;
  message: Message;
};

/** What `delegate` sends. */
export type TaskSpec = {
  name: string;
  description: string;
  input?: unknown;
  deadline?: string;
  callback?: string;
  callbackSubject?: string;
  /** @default a fresh random id */
  taskId?: string;
};

/** Options of `send`. */
export type SendOptions = {
  cc?: string[];
  bcc?: string[];
  inReplyTo?: string;
  idempotencyKey?: string;
  /**
   * Withdraws the mail while it still waits in the agent's SendScheduler (for quota, stagger or a
   * 429 pause): the send rejects with `WithdrawnError` and nothing goes out.
   */
  signal?: AbortSignal;
};

/** Options of `delegate`. */
export type DelegateOptions = {
  /** Send the TASK in the thread of the message being handled, instead of a new thread. @default false */
  inThread?: boolean;
  /** Send the TASK in reply to this message (its thread): a pipeline's next stage answers a RESULT. */
  inReplyTo?: string;
  /** Withdraws the TASK while it still waits for quota (`WithdrawnError`; it is never sent). */
  signal?: AbortSignal;
};

/** The calls an agent (or a program holding an AgentRef) can make at any time. */
export interface AgentActions {
  readonly address: string;
  readonly mailbox: Mailbox;
  /** The tasks this agent sent or received, with their states. */
  readonly tasks: TaskRegistry;
  /** The agent's time source (the runtime's scheduler): for deadlines and intervals. */
  readonly scheduler: SchedulerLike;
  /**
   * Sends a request as the API takes it (`to`, `subject`, `body_text`, `cc`, `bcc`, `in_reply_to`,
   * `idempotency_key`), through the agent's SendScheduler when it has one. `signal` withdraws it
   * while it still waits there.
   */
  sendRequest(request: SendRequest, options?: { signal?: AbortSignal }): Promise<SendResult>;
  /** Sends mail; an object body goes out as JSON. */
  send(to: string | string[], subject: string, body: string | object, options?: SendOptions): Promise<SendResult>;
  /**
   * Sends a task of a typed contract and waits for its answer: resolves with the decoded output;
   * rejects with `TaskFailedError` (the worker's ERROR, or an output that fails the contract),
   * `TaskTimeoutError` or `TaskCanceledError`; an input that fails the contract is a
   * `ValidationError` and nothing is sent.
   */
  ask<C extends TaskContract>(
    to: string,
    contract: C,
    input: TaskInput<C>,
    options: AskOptions,
  ): Promise<TaskOutput<C>>;
  /** Sends `TASK:{id} — {name}` and tracks it; returns the ids to collect on. */
  delegate(
    to: string,
    task: TaskSpec,
    options?: DelegateOptions,
  ): Promise<{ taskId: string; threadId: string; messageId: string }>;
  /**
   * Resolves when every task has a RESULT, ERROR or CANCEL (event-driven, no polling loop);
   * rejects with `TaskTimeoutError` naming the missing ones after `timeoutMs`.
   */
  collect(taskIds: readonly string[], options: { timeoutMs: number }): Promise<TaskOutcome[]>;
  /** Reads a thread this agent takes part in. */
  thread(threadId: string): Promise<Thread>;
  /** The audit trail of a thread this agent takes part in: who, when, subject, task state, elapsed. */
  audit(threadId: string): Promise<TimelineEntry[]>;
  /**
   * Cancels a task this agent sent: `CANCEL:{task_id}` to its assignee (whose handler's signal
   * aborts). A TASK still waiting for quota in the agent's SendScheduler is withdrawn instead: it
   * never goes out, its `delegate` rejects with `WithdrawnError`, and this resolves `undefined`.
   */
  cancel(taskId: string, reason?: string): Promise<SendResult | undefined>;
}

/** The context of one handled message. */
export interface AgentContext extends AgentActions {
  /** The message being handled. */
  readonly message: Message;
  /** pino child with `agent`, `thread_id` and `task_id`. */
  readonly log: Logger;
  /** Aborted by `CANCEL:{task_id}` of the task being handled, or when the runtime stops. */
  readonly signal: AbortSignal;
  /** Replies to the message being handled, in its thread. */
  reply(body: string | object, options?: { subject?: string; to?: string[] }): Promise<SendResult>;
  /**
   * Asks the requester of the task being handled a question and waits for the answer (A2A's
   * `input-required`): sends `STATUS:{id}` of state `input-required` with the question as its
   * `note`, and resolves with the first mail in reply to it — an agent's `ctx.reply`, or a
   * person's from a mail client — as it arrives. Rejects with `TaskTimeoutError` after
   * `timeoutMs`, or when the task is canceled.
   */
  inputRequired(question: string, options: { timeoutMs: number }): Promise<Message>;
  /**
   * Sends `STATUS:{taskId}` to the requester of a task this agent received (default: the task being
   * handled). Sends nothing (resolves `undefined`) when the requester did not ask for progress mail
   * (its TASK has no `ack: true`: a client on another stack).
   */
  status(
    state: string,
    options?: { note?: string; progress?: number; taskId?: string },
  ): Promise<SendResult | undefined>;
}

/** Options of `ask`. */
export type AskOptions = {
  /** How long to wait for the answer: then `TaskTimeoutError`. */
  timeoutMs: number;
  /**
   * The task id. Give a stable one to make the ask idempotent: asked again (after a restart), the
   * TASK is not sent twice and the answer already in the post office is used. @default a fresh id
   */
  taskId?: string;
  /** Send the TASK in reply to this message (its thread). @default a new thread */
  inReplyTo?: string;
  /** Aborting it cancels the task (`CANCEL:` to the worker) and rejects with `TaskCanceledError`. */
  signal?: AbortSignal;
};

/** A typed task handler: gets the decoded input, returns the output its contract promises. */
export type TaskHandler<C extends TaskContract> = (
  input: z.output<C['input']>,
  ctx: AgentContext,
  task: Task,
) => z.input<C['output']> | Promise<z.input<C['output']>>;

/** The typed handlers of each agent instance, by task name. */
const typedHandlers = new WeakMap<Agent, Map<string, { contract: TaskContract; fn: TaskHandler<TaskContract> }>>();

/** The typed handler an agent registered for a task name (for the dispatch). */
export const typedHandlerOf = (agent: Agent, name: string) => typedHandlers.get(agent)?.get(name);

/** A RESULT, ERROR, ACK, STATUS or CANCEL, with the decoded body. */
export type TaskMail<B> = { taskId: string; body: B; from: string; message: Message };

/**
 * The class users subclass. Override the handlers you need (or register typed ones with
 * `handle`). Handlers of different threads run at once, up to the spawn's `concurrency`; two
 * messages of one thread never do. A message is marked read only after its handler finished.
 */
export abstract class Agent {
  /**
   * Takes tasks of `contract` with a typed handler (call it in the constructor). The input is
   * decoded by the contract before the handler runs — a mismatch is answered with `ERROR:` of type
   * `InvalidInput` naming the zod issues, and the handler never runs — and the output is checked
   * too (`InvalidOutput`). Tasks of other names go to `onTask`.
   */
  protected handle<C extends TaskContract>(contract: C, fn: TaskHandler<C>): this {
    let handlers = typedHandlers.get(this);
    if (!handlers) {
      handlers = new Map();
      typedHandlers.set(this, handlers);
    }
    handlers.set(contract.name, { contract, fn: fn as TaskHandler<TaskContract> });
    return this;
  }

  /**
   * Sees every mail this agent sends before it goes out (before the spawn's `beforeSend` hooks):
   * return nothing to approve it, `{ change: mail }` to send another, `{ block: reason }` to stop it.
   */
  interceptSend(
    _mail: SendRequest,
    _context: { agent: string },
  ): Interception<SendRequest> | Promise<Interception<SendRequest>> {
    return undefined;
  }

  /** Options this kind of agent wants unless the spawn says otherwise (a RouterAgent: a SendScheduler). */
  spawnDefaults(): Partial<AgentOptions> {
    return {};
  }

  /**
   * Handles `TASK:`. The return value goes out as `RESULT:{task_id}` to the task's `callback` (or
   * the sender) in the same thread. Throw `TaskFailedError` to answer `ERROR:` at once; any other
   * error is retried up to `maxAttempts`, then answered with `ERROR:` and dead-lettered.
   */
  onTask(task: Task, _ctx: AgentContext): unknown {
    throw new TaskFailedError('NotSupported', `${this.constructor.name} does not take tasks (${task.name})`);
  }
  /** A `RESULT:` for a task this agent delegated (also recorded for `collect`). */
  onResult(_result: TaskMail<ResultBody>, _ctx: AgentContext): unknown {
    return undefined;
  }
  /** An `ERROR:` for a task this agent delegated (also recorded for `collect`). */
  onError(_error: TaskMail<ErrorBody>, _ctx: AgentContext): unknown {
    return undefined;
  }
  /** A `STATUS:` update. */
  onStatus(_status: TaskMail<StatusBody>, _ctx: AgentContext): unknown {
    return undefined;
  }
  /** An `ACK:`. */
  onAck(_ack: TaskMail<AckBody>, _ctx: AgentContext): unknown {
    return undefined;
  }
  /** A `CANCEL:`; the task's `ctx.signal` is already aborted when this runs. */
  onCancel(_cancel: TaskMail<CancelBody>, _ctx: AgentContext): unknown {
    return undefined;
  }
  /**
   * An `[ESCALATION Ln]` mail: override to serve as a level of an escalation chain. Return
   * `'retry' | 'skip' | 'restart' | 'stop'` and the decision is sent back in the thread; return
   * nothing and the chain goes on to the next level when this one's time is up.
   */
  onEscalation(_escalation: Escalation & { errorType: string }, ctx: AgentContext): unknown {
    return this.onMessage(ctx.message, ctx);
  }
  /** Anything else (plain mail, `[COLLAB]` threads). */
  onMessage(_message: Message, _ctx: AgentContext): unknown {
    return undefined;
  }
}
