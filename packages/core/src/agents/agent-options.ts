import type { ActorSystemRef, Ref } from 'nact';
import type { Logger } from 'pino';
import type { SchedulerLike, Subject } from 'rxjs';
import { z } from 'zod';
import { TaskFailedError, ValidationError } from '../errors.js';
import type { InboxStreamOptions } from '../inbox/inbox-options.js';
import type { SendScheduler, SendSchedulerOptions } from '../outbox/send-scheduler.js';
import type { SharedTimer } from '../time/scheduling.js';
import type { Message } from '../wire/model.js';
import type { SendHook } from './hooks.js';
import { type RetryPolicy, RetryPolicySchema } from './retry-timing.js';

// What an agent is started with, and what it reports.

/** Options of one agent. */
export type AgentOptions = {
  /**
   * How many messages the agent's handlers run at once. Messages of one ordering key (a thread,
   * unless `orderingKey` says otherwise) never run at once and run in arrival order; different keys
   * run side by side up to this many. @default 16
   */
  concurrency?: number;
  /**
   * The ordering key of a message: messages with the same key run one at a time, in arrival order.
   * @default the message's thread (`message.thread_id`)
   */
  orderingKey?: (message: Message) => string;
  /** Handler runs before a message is dead-lettered. @default 3 */
  maxAttempts?: number;
  /**
   * The wait before a failed handler runs again: exponential backoff with jitter, or the error's
   * own `retryAfterMs` (a model provider's 429). @default `{ initialDelayMs: 1000, factor: 2, maxDelayMs: 60000, jitter: 0.2 }`
   */
  retry?: RetryPolicy;
  /** Send `ACK:{task_id}` when a task is taken. @default true */
  ack?: boolean;
  /** How many handled message ids are remembered to drop duplicates. @default 100000 */
  dedupeWindow?: number;
  /** How many task records are kept (oldest finished go first). @default 10000 */
  maxTasks?: number;
  /** Inbox polling. */
  inbox?: Omit<InboxStreamOptions, 'scheduler' | 'timer' | 'inFlight' | 'logger'>;
  /**
   * Send everything (tasks, replies, ACKs) through a SendScheduler: the account's quotas, a
   * stagger, 429 pauses. `true` makes one for the agent's mailbox. @default none
   */
  sendScheduler?: SendScheduler | true | SendSchedulerOptions['stagger'];
  /**
   * Run before every mail the agent sends, after the agent's own `interceptSend`: each may
   * approve, change or block it (a blocked send rejects with `ForbiddenError`). @default none
   */
  beforeSend?: SendHook | readonly SendHook[];
};

/** A message that could not be handled: marked read, answered with `ERROR:`, and reported here. */
export type DeadLetter = {
  agent: string;
  message: Message;
  error: { type: string; message: string };
  attempts: number;
};

/** A handler failure, as a supervisor hears of it. */
export type ChildFailure = { error: unknown; message: Message | undefined; attempt: number };

/** What a supervisor shares with an agent it watches (it outlives the agent's restarts). */
export type Supervision = {
  /** Hears of every handler failure. */
  onFailure(failure: ChildFailure): void;
  /** Handler runs per message id so far. */
  attempts: Map<string, number>;
  /** Messages whose fate the escalation chain decided (`skip`): answered with this error, never run again. */
  verdicts: Map<string, ErrorInfo>;
};

/** An error as a protocol mail carries it. */
export type ErrorInfo = { type: string; message: string };

/** What the runtime lends each agent. */
export type HostEnv = {
  /** The nact parent of the agent's actor: the system, or its supervisor's actor. */
  system: ActorSystemRef | Ref<unknown>;
  /** Set when a supervisor watches this agent: it hears of every failure (and attempts outlive restarts). */
  supervision?: Supervision;
  logger: Logger;
  scheduler: SchedulerLike;
  timer: SharedTimer;
  deadLetters: Subject<DeadLetter>;
  name: string;
};

/** An error as `{ type, message }` (a TaskFailedError keeps its own type). */
export const errorInfo = (e: unknown): ErrorInfo => ({
  type: e instanceof TaskFailedError ? e.type : e instanceof Error ? e.name : 'Error',
  message: e instanceof Error ? e.message : String(e),
});

/** The default of `concurrency`: handlers that call models spend seconds waiting, not computing. */
export const DEFAULT_CONCURRENCY = 16;

const Checked = z.object({
  concurrency: z.number().int().min(1).max(100_000).optional(),
  orderingKey: z.function().optional(),
  maxAttempts: z.number().int().min(1).optional(),
  dedupeWindow: z.number().int().min(1).optional(),
  maxTasks: z.number().int().min(1).optional(),
  retry: RetryPolicySchema.optional(),
  beforeSend: z.union([z.function(), z.array(z.function())]).optional(),
});

/** Checks the options of a spawn once, at the boundary (`ValidationError` naming the bad field). */
export function checkAgentOptions(options: AgentOptions): AgentOptions {
  const parsed = Checked.safeParse(options);
  if (!parsed.success) throw ValidationError.fromZod('agent options', parsed.error, options);
  return options;
}
