import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { TraceFields } from '../tracing/spans.js';
import type { Message, SendRequest } from '../wire/model.js';
import type { AckBody, CancelBody, ErrorBody, ResultBody, StatusBody, TaskBody } from './bodies.js';
import type { EscalationDecision } from './decision.js';
import { type EscalationInput, formatEscalationBody } from './escalation.js';
import {
  formatCollabSubject,
  formatEscalationSubject,
  formatReplySubject,
  formatTaskMailSubject,
  formatTaskSubject,
  TASK_ID,
} from './subject.js';

// The one place protocol mail is built. Each builder types its body against the zod schema the
// receiver decodes it with, and derives its own idempotency key, by one rule:
//
//   task:{task id}        a TASK (a retried delegate never sends a second one)
//   ack:{message id}      the ACK of a TASK message
//   reply:{message id}    the one answer to a handled message: RESULT, ERROR or a decision.
//                         Whoever answers (the agent, or its supervisor on `skip`), a message is
//                         answered at most once.
//   input:{task id}:{question}  the question of an input-required STATUS (a re-run asks once)
//   cancel:{task id}      a CANCEL
//   escalation:{id}:L{n}  level n of one escalation
//
// STATUS and the opening of a shared thread carry no key: each is a new report, never a retry.
// A mail with an idempotency key is sent at most once per account, however often it is retried.
//
// Task mail (TASK, ACK, STATUS, RESULT, ERROR, CANCEL) carries the W3C trace context of the span
// it was sent under, when tracing is on, as `traceparent`/`tracestate` fields of its JSON body
// (`trace`): the handler of a TASK in another process continues the requester's trace.

/** The API takes keys of at most 128 characters: a longer one is shortened to its kind and a hash. */
const MAX_KEY = 128;
const key = (kind: string, ...parts: (string | number)[]): string => {
  const whole = `${kind}:${parts.join(':')}`;
  return whole.length <= MAX_KEY ? whole : `${kind}:${createHash('sha256').update(whole).digest('hex')}`;
};

/** The kinds of key, and how each is made. */
const idempotencyKey = {
  task: (taskId: string) => key('task', taskId),
  ack: (message: Message) => key('ack', message.message_id),
  reply: (message: Message) => key('reply', message.message_id),
  cancel: (taskId: string) => key('cancel', taskId),
  input: (taskId: string, question: string) => key('input', taskId, question),
  escalation: (escalationId: string, level: number) => key('escalation', escalationId, `L${level}`),
} as const;

/** A protocol mail, ready for `Mailbox.send`. */
export type OutgoingMail = SendRequest;

const json = (body: object, trace?: TraceFields): string =>
  JSON.stringify(trace === undefined ? body : { ...body, ...trace });

/** Where an answer to a task goes: its `callback`, else its sender. */
type Answered = { message: Message; callback?: string | undefined };
const answerTo = (to: Answered) => [to.callback ?? to.message.from_address];

/**
 * `TASK:{id} — {name}`: a new task for `to`, in reply to `inReplyTo` (its thread) when given. It
 * says `ack: true` (a Mailroom requester reads ACK and STATUS mail) unless the body says otherwise.
 */
export function taskMail(
  to: string,
  name: string,
  body: z.input<typeof TaskBody>,
  inReplyTo?: string,
  trace?: TraceFields,
): OutgoingMail {
  return {
    to: [to],
    subject: formatTaskSubject(body.task_id, name),
    body_text: json({ ...body, ack: body.ack ?? true }, trace),
    ...(inReplyTo ? { in_reply_to: inReplyTo } : {}),
    idempotency_key: idempotencyKey.task(body.task_id),
  };
}

/** `ACK:{id}`: the task in `task` was taken. */
export function ackMail(task: Message, taskId: string, trace?: TraceFields): OutgoingMail {
  const body: AckBody = { task_id: taskId };
  return {
    to: [task.from_address],
    subject: formatTaskMailSubject('ack', taskId),
    body_text: json(body, trace),
    in_reply_to: task.message_id,
    idempotency_key: idempotencyKey.ack(task),
  };
}

/** `STATUS:{id}` to a task's requester, in reply to its TASK. */
export function statusMail(to: string, task: string, body: StatusBody, trace?: TraceFields): OutgoingMail {
  return {
    to: [to],
    subject: formatTaskMailSubject('status', body.task_id),
    body_text: json(body, trace),
    in_reply_to: task,
  };
}

/**
 * The question of a task to its requester (A2A's `input-required`): `STATUS:{id}` of state
 * `input-required` whose `note` is the question, in reply to the TASK. The answer is any mail in
 * reply to it (`Re: STATUS:{id}`), from an agent or a person.
 */
export function inputRequiredMail(
  to: string,
  task: string,
  taskId: string,
  question: string,
  trace?: TraceFields,
): OutgoingMail {
  return {
    ...statusMail(to, task, { task_id: taskId, state: 'input-required', note: question }, trace),
    idempotency_key: idempotencyKey.input(taskId, question),
  };
}

/**
 * `RESULT:{id}` answering a TASK message, to its callback (or sender). A `callbackSubject` names the
 * mail for its reader; the body stays a RESULT body.
 */
export function resultMail(
  to: Answered & { callbackSubject?: string | undefined },
  taskId: string,
  result: unknown,
  trace?: TraceFields,
): OutgoingMail {
  const body: ResultBody = { task_id: taskId, result: result ?? null };
  return {
    to: answerTo(to),
    subject: to.callbackSubject ?? formatTaskMailSubject('result', taskId),
    body_text: json(body, trace),
    in_reply_to: to.message.message_id,
    idempotency_key: idempotencyKey.reply(to.message),
  };
}

/**
 * `ERROR:{id}` answering a message that failed. A task id that is not one (undecodable mail) is
 * answered as `unknown`.
 */
export function errorMail(
  to: Answered,
  taskId: string | undefined,
  error: ErrorBody['error'],
  trace?: TraceFields,
): OutgoingMail {
  const id = taskId && TASK_ID.test(taskId) ? taskId : 'unknown';
  const body: ErrorBody = { task_id: id, error };
  return {
    to: answerTo(to),
    subject: formatTaskMailSubject('error', id),
    body_text: json(body, trace),
    in_reply_to: to.message.message_id,
    idempotency_key: idempotencyKey.reply(to.message),
  };
}

/**
 * `ERROR:{id}` to the requester of a task its supervisor's escalation chain gave up on, from the
 * supervisor's own address: not in reply (that account cannot see the TASK), keyed as the answer
 * to the TASK all the same.
 */
export function escalatedErrorMail(to: Answered, taskId: string, error: ErrorBody['error']): OutgoingMail {
  const { in_reply_to: _notVisible, ...mail } = errorMail(to, taskId, error);
  return mail;
}

/** `CANCEL:{id}` to a task's assignee, in reply to the TASK. */
export function cancelMail(to: string, task: string, body: CancelBody, trace?: TraceFields): OutgoingMail {
  return {
    to: [to],
    subject: formatTaskMailSubject('cancel', body.task_id),
    body_text: json(body, trace),
    in_reply_to: task,
    idempotency_key: idempotencyKey.cancel(body.task_id),
  };
}

/** `[ESCALATION Ln] {type}` of one escalation (`escalationId`), in its thread after the first level. */
export function escalationMail(
  to: string,
  escalationId: string,
  escalation: EscalationInput,
  inReplyTo?: string,
): OutgoingMail {
  return {
    to: [to],
    subject: formatEscalationSubject(escalation.level, escalation.type),
    body_text: formatEscalationBody(escalation),
    ...(inReplyTo ? { in_reply_to: inReplyTo } : {}),
    idempotency_key: idempotencyKey.escalation(escalationId, escalation.level),
  };
}

/** An escalation level's decision, answering its escalation mail in the thread. */
export function decisionMail(escalation: Message, decision: EscalationDecision): OutgoingMail {
  return {
    to: [escalation.from_address],
    subject: formatReplySubject(escalation.subject),
    body_text: json({ decision }),
    in_reply_to: escalation.message_id,
    idempotency_key: idempotencyKey.reply(escalation),
  };
}

/** `[COLLAB] {topic}`: opens a shared thread with every participant. */
export function collabMail(to: readonly string[], topic: string, text: string): OutgoingMail {
  return {
    to: [...to],
    subject: formatCollabSubject(topic),
    body_text: text,
  };
}
