import { z } from 'zod';
import { TASK_ID } from './subject.js';

const TaskId = z.string().regex(TASK_ID, 'invalid task id');

/** Body of `TASK:`. */
export const TaskBody = z.object({
  task_id: TaskId,
  description: z.string(),
  deadline: z.string().optional(),
  callback: z.string().optional(),
  callback_subject: z.string().max(256).optional(),
  input: z.unknown().optional(),
});
export type TaskBody = z.infer<typeof TaskBody>;

/** Body of `ACK:`. */
export const AckBody = z.object({ task_id: TaskId });
export type AckBody = z.infer<typeof AckBody>;

/** The task lifecycle states. */
export const TaskState = z.enum([
  'submitted',
  'accepted',
  'working',
  // The worker asked its requester a question (A2A's input-required) and waits for the answer.
  'input-required',
  'completed',
  'failed',
  'canceled',
  'timed_out',
]);
export type TaskState = z.infer<typeof TaskState>;

/** Body of `STATUS:`. */
export const StatusBody = z.object({
  task_id: TaskId,
  state: z.string().min(1).max(64),
  progress: z.number().min(0).max(1).optional(),
  note: z.string().optional(),
});
export type StatusBody = z.infer<typeof StatusBody>;

/**
 * What a task spent on models, when its worker reports it (`@mailroom/ai` does): its own calls
 * plus its delegations'. Optional on RESULT and ERROR.
 */
export const UsageBody = z.object({
  input_tokens: z.number().int().min(0),
  output_tokens: z.number().int().min(0),
  total_tokens: z.number().int().min(0),
  cost_usd: z.number().min(0).optional(),
});
export type UsageBody = z.infer<typeof UsageBody>;

/** Body of `RESULT:`. */
export const ResultBody = z.object({ task_id: TaskId, result: z.unknown(), usage: UsageBody.optional() });
export type ResultBody = z.infer<typeof ResultBody>;

/** Body of `ERROR:`. */
export const ErrorBody = z.object({
  task_id: TaskId,
  error: z.object({ type: z.string(), message: z.string() }),
  usage: UsageBody.optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Body of `CANCEL:`. */
export const CancelBody = z.object({ task_id: TaskId, reason: z.string().optional() });
export type CancelBody = z.infer<typeof CancelBody>;
