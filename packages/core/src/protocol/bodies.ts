import { z } from 'zod';
import { TASK_ID } from './subject.js';

const TaskId = z.string().regex(TASK_ID, 'invalid task id');

/**
 * A deadline as written: an ISO 8601 string, or (as the seed writes `int(time.time()) + 3600`) a
 * number of seconds since the epoch, or of milliseconds when it is past 1e12. Decoded to ISO text.
 */
const Deadline = z.union([
  z.string(),
  z
    .number()
    .finite()
    .nonnegative()
    .transform((n) => new Date(n >= 1e12 ? n : n * 1000).toISOString()),
]);

/**
 * The W3C trace context a protocol body may carry (`traceparent`, `tracestate`: see
 * `tracing/spans.ts`), so that a task's handling in another process joins the requester's trace.
 * Optional, and dropped when malformed: a body is never refused for its trace fields, and clients
 * that know nothing of them ignore them as any extra field.
 */
const Trace = {
  traceparent: z.string().max(256).optional().catch(undefined),
  tracestate: z.string().max(512).optional().catch(undefined),
};

/** Body of `TASK:`. */
export const TaskBody = z.object({
  ...Trace,
  task_id: TaskId,
  description: z.string(),
  deadline: Deadline.optional(),
  callback: z.string().optional(),
  callback_subject: z.string().max(256).optional(),
  input: z.unknown().optional(),
  /**
   * The requester reads `ACK:` and `STATUS:` mail. Mailroom's own TASKs say so; a TASK without it
   * (a client of the API on another stack) is answered with its RESULT or ERROR only, because such
   * clients take any mail naming the task id as its answer.
   */
  ack: z.boolean().optional(),
});
export type TaskBody = z.infer<typeof TaskBody>;

/** Body of `ACK:`. */
export const AckBody = z.object({ task_id: TaskId, ...Trace });
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
  ...Trace,
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
export const ResultBody = z.object({ task_id: TaskId, result: z.unknown(), usage: UsageBody.optional(), ...Trace });
export type ResultBody = z.infer<typeof ResultBody>;

/** One level's part in an escalation: what an `Escalated` ERROR carries back to the requester. */
export const EscalationStep = z.object({
  level: z.number().int().min(0),
  to: z.string(),
  outcome: z.enum(['unmailable', 'no_answer', 'acknowledged', 'undecided', 'decided']),
  decision: z.string().optional(),
  error: z.string().optional(),
  /** ms since the epoch, on the supervisor's clock. */
  at: z.number(),
});
export type EscalationStep = z.infer<typeof EscalationStep>;

/** Body of `ERROR:`. */
export const ErrorBody = z.object({
  ...Trace,
  task_id: TaskId,
  error: z.object({
    type: z.string(),
    message: z.string(),
    /** An `Escalated` error: what each level of the escalation chain did. */
    escalation: z.array(EscalationStep).optional(),
  }),
  usage: UsageBody.optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Body of `CANCEL:`. */
export const CancelBody = z.object({ task_id: TaskId, reason: z.string().optional(), ...Trace });
export type CancelBody = z.infer<typeof CancelBody>;
