import type { ActorSystemRef, Ref } from 'nact';
import type { Logger } from 'pino';
import type { SchedulerLike, Subject } from 'rxjs';
import { TaskFailedError } from '../errors.js';
import type { InboxStreamOptions } from '../inbox/inbox-options.js';
import type { SendScheduler, SendSchedulerOptions } from '../outbox/send-scheduler.js';
import type { SharedTimer } from '../time/scheduling.js';
import type { Message } from '../wire/model.js';

// What an agent is started with, and what it reports.

/** Options of one agent. */
export type AgentOptions = {
  /** Handler runs before a message is dead-lettered. @default 3 */
  maxAttempts?: number;
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
