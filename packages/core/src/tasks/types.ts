import type { TaskState, UsageBody } from '../protocol/bodies.js';

// The words of tasks: which side, what is known, how one ended.

/** Which side of a task an agent is on. */
export type TaskRole = 'sent' | 'received';

/** What an agent knows of one task. */
export type TaskRecord = {
  taskId: string;
  role: TaskRole;
  name: string;
  /** The other side: the assignee of a sent task, the requester of a received one. */
  peer: string;
  threadId: string;
  /** The TASK message. */
  messageId: string;
  /** A received task whose requester does not read ACK or STATUS mail (its TASK did not ask). */
  quiet?: boolean;
  /** A sent task's `callback_subject`: mail with this subject answers it. */
  callbackSubject?: string;
  state: TaskState;
  result?: unknown;
  error?: { type: string; message: string };
  note?: string;
  progress?: number;
  /** Who answered last (a RESULT may come from a callback address's sender). */
  answeredBy?: string;
  /** The RESULT or ERROR message (to continue its thread, as a pipeline does). */
  answerMessageId?: string;
  /** What the worker says the task spent on models (the RESULT's or ERROR's `usage`). */
  usage?: UsageBody;
  history: { state: TaskState; at: number }[];
};

/** How a collected task ended. */
export type TaskOutcome =
  | { taskId: string; state: 'completed'; result: unknown; from: string | undefined }
  | { taskId: string; state: 'failed'; error: { type: string; message: string }; from: string | undefined }
  | { taskId: string; state: 'canceled'; from: string | undefined };
