import type { z } from 'zod';
import { ProtocolError } from '../errors.js';
import type { Message } from '../wire/model.js';
import { AckBody, CancelBody, ErrorBody, ResultBody, StatusBody, TaskBody } from './bodies.js';
import { type Escalation, parseEscalationBody } from './escalation.js';
import { type ParsedSubject, parseSubject, TASK_ID } from './subject.js';

/** A message decoded by the subject-line protocol. */
export type ProtocolMessage =
  | { kind: 'task'; taskId: string; name: string; body: TaskBody; message: Message }
  | { kind: 'ack'; taskId: string; body: AckBody; message: Message }
  | { kind: 'status'; taskId: string; body: StatusBody; message: Message }
  | { kind: 'result'; taskId: string; body: ResultBody; message: Message }
  | { kind: 'error'; taskId: string; body: ErrorBody; message: Message }
  | { kind: 'cancel'; taskId: string; body: CancelBody; message: Message }
  | { kind: 'escalation'; level: number; errorType: string; escalation: Escalation; message: Message }
  | { kind: 'collab'; topic: string; message: Message }
  | { kind: 'other'; message: Message };

const BODY = {
  task: TaskBody,
  ack: AckBody,
  status: StatusBody,
  result: ResultBody,
  error: ErrorBody,
  cancel: CancelBody,
} as const;

/** The decoding failure of a message: what was wrong, and the task id when the subject named one. */
export type DecodeFailure = { error: ProtocolError; taskId: string | undefined; kind: string | undefined };

/**
 * What the receiving agent knows that the mail does not say: the id of a task it sent that this
 * message answers (by `in_reply_to` its TASK, or by the TASK's `callback_subject`), if any.
 */
export type AnsweredTask = (message: Message) => string | undefined;

type TaskMailKind = keyof typeof BODY;
/** A protocol prefix however it is written: `RESULT: Market analysis complete`, `Re: error:x`. */
const LOOSE_PREFIX = /^(?:\s*re\s*:\s*)*(TASK|ACK|STATUS|RESULT|ERROR|CANCEL)\s*:/i;
/** By ASCII code, 1: `a c e r s t` (either case), the letters `LOOSE_PREFIX` can start with. */
const LOOSE_LETTERS = new Uint8Array(128);
for (const c of 'acerstACERST') LOOSE_LETTERS[c.charCodeAt(0)] = 1;

/**
 * `LOOSE_PREFIX` run only where it can match: a subject starting with any other ASCII character
 * cannot (plain mail, the common case, skips the expression). Control characters, spaces and
 * anything past ASCII (`\s` takes Unicode spaces) go to the expression.
 * @internal exported for its test
 */
export function loosePrefix(subject: unknown): RegExpExecArray | null {
  if (typeof subject !== 'string') return null;
  const c = subject.charCodeAt(0);
  if (c > 32 && c < 128 && LOOSE_LETTERS[c] === 0) return null;
  return LOOSE_PREFIX.exec(subject);
}

/**
 * Decodes a message: subject, then the JSON body against its schema. Never throws on foreign
 * input: returns a typed value, or a {@link DecodeFailure} saying what was wrong.
 *
 * Lenient on purpose (the interop rules of docs/interop.md), for clients of the API on other stacks:
 * - mail under a TASK subject whose body is not a TASK body is an answer that kept the subject:
 *   `{task_id, result}` or `{task_id, error}` is a RESULT or ERROR (a pipeline's forward, a `Re:`),
 *   and a `Re: TASK:x …` with any other body is the RESULT of x, its body (JSON or text) the result;
 * - a prefix followed by free text (`RESULT: Market analysis complete`) takes its task id from the
 *   body's `task_id`;
 * - a request in the seed's callback shape (`{task, callback, callback_subject}`) is a TASK whose id
 *   is made from its message id;
 * - mail under any other subject that answers a task the agent sent (`answered`: in reply to its
 *   TASK, or under its `callback_subject`) is that task's RESULT or ERROR: a `{task_id, result}` or
 *   `{task_id, error}` body as it is, any other body (JSON or text) as the result. Mail under a
 *   free subject that answers no task of the receiver stays `other` (a callback inbox's onMessage).
 */
export function decodeMessage(message: Message, answered?: AnsweredTask): ProtocolMessage | DecodeFailure {
  const subject = parseSubject(message.subject);
  if (subject instanceof ProtocolError || subject.kind === 'other') {
    return decodeLoose(message, subject, answered);
  }
  switch (subject.kind) {
    case 'collab':
      return { kind: 'collab', topic: subject.topic, message };
    case 'escalation': {
      // `Re: [ESCALATION Ln] …` is an answer in an escalation thread (a decision), not an escalation.
      if (subject.reply) return { kind: 'other', message };
      const escalation = parseEscalationBody(message.body_text, { level: subject.level, from: message.from_address });
      if (escalation instanceof ProtocolError) return { error: escalation, taskId: undefined, kind: 'escalation' };
      return { kind: 'escalation', level: subject.level, errorType: subject.errorType, escalation, message };
    }
    default: {
      // `Re: STATUS:…` answers a question (a STATUS of state input-required): plain mail, from an
      // agent or a person's mail client, not a STATUS.
      if (subject.reply && subject.kind === 'status') return { kind: 'other', message };
      const json = parseJson(message.body_text);
      if (subject.kind === 'task' && !TaskBody.safeParse(json).success) {
        // Not a TASK body under a TASK subject: an answer that kept the subject (`Re: TASK:…`, a
        // pipeline's forward). Its `{task_id, result|error}`, or else its body as the result.
        const kind = isRecord(json) ? answerKind(json) : undefined;
        if (kind) return decodeBody(message, kind, subject.taskId, json, '');
        if (subject.reply) {
          const result = json === undefined ? (message.body_text ?? null) : json;
          return decodeBody(message, 'result', subject.taskId, { task_id: subject.taskId, result }, '');
        }
      }
      return decodeBody(message, subject.kind, subject.taskId, json, subject.kind === 'task' ? subject.name : '');
    }
  }
}

function decodeLoose(
  message: Message,
  subject: ParsedSubject | ProtocolError,
  answered: AnsweredTask | undefined,
): ProtocolMessage | DecodeFailure {
  const prefix = loosePrefix(message.subject);
  const named = prefix ? ((prefix[1] as string).toLowerCase() as TaskMailKind) : undefined;
  const json = parseJson(message.body_text);
  const record = isRecord(json) ? json : undefined;
  const bodyId = typeof record?.task_id === 'string' && TASK_ID.test(record.task_id) ? record.task_id : undefined;
  if (bodyId && named) return decodeBody(message, named, bodyId, json, '');
  if (!named && record && typeof record.task === 'string' && !('task_id' in record)) {
    // The seed's callback request: `Long task: …` with `{task, callback, callback_subject}`.
    const taskId = `m-${message.message_id}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 128);
    const body = { ...record, task_id: taskId, description: record.task };
    const name = typeof message.subject === 'string' ? message.subject.replace(/^[^:]*:\s*/, '') : '';
    return decodeBody(message, 'task', taskId, body, name);
  }
  const taskId = answered?.(message);
  if (taskId !== undefined && named !== 'task') {
    const kind = record && bodyId === taskId ? answerKind(record) : undefined;
    if (kind) return decodeBody(message, kind, taskId, json, '');
    const result = json === undefined ? (message.body_text ?? null) : json;
    if (named === 'error') {
      const error =
        isRecord(result) && isRecord(result.error) ? result.error : { type: 'Error', message: String(result) };
      return decodeBody(message, 'error', taskId, { task_id: taskId, error }, '');
    }
    return decodeBody(message, 'result', taskId, { task_id: taskId, result }, '');
  }
  if (subject instanceof ProtocolError) return { error: subject, taskId: undefined, kind: named };
  return { kind: 'other', message };
}

/** `result` or `error` when a body is shaped as an answer. */
function answerKind(json: Record<string, unknown>): 'result' | 'error' | undefined {
  if ('result' in json) return 'result';
  if (isRecord(json.error)) return 'error';
  return undefined;
}

function decodeBody(
  message: Message,
  kind: TaskMailKind,
  taskId: string,
  json: unknown,
  name: string,
): ProtocolMessage | DecodeFailure {
  const fail = (text: string, cause?: unknown): DecodeFailure => ({
    error: new ProtocolError(`${kind.toUpperCase()}:${taskId}: ${text}`, { cause }),
    taskId,
    kind,
  });
  if (json === undefined) return fail('body is not valid JSON');
  const parsed = (BODY[kind] as z.ZodType).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail(
      `body fails its schema${issue ? ` at ${issue.path.join('.') || '(root)'}: ${issue.message}` : ''}`,
      parsed.error,
    );
  }
  const body = parsed.data as { task_id: string };
  if (body.task_id !== taskId) return fail(`body task_id ${body.task_id} does not match the subject`);
  if (kind === 'task') return { kind: 'task', taskId, name, body: body as TaskBody, message };
  return { kind, taskId, body, message } as ProtocolMessage;
}

/** What a JSON text can start with: anything else (plain mail, an empty body) is not parsed at all. */
const JSON_START = /^\s*(?:[[{"\d-]|true\b|false\b|null\b)/;

/**
 * Whether `text` may be JSON, as `JSON_START` says: the first character decides, but for spaces and the words.
 * @internal exported for its test
 */
export function mayBeJson(text: string): boolean {
  if (text.length === 0) return false; // plain mail often has no body (and reading past it deoptimizes)
  const c = text.charCodeAt(0);
  // { [ " - and digits start JSON; t f n (true, false, null), spaces, control characters and
  // anything past ASCII (`\s` takes Unicode spaces) are for the expression; anything else is text.
  if (c === 123 || c === 91 || c === 34 || c === 45 || (c >= 48 && c <= 57)) return true;
  if (c === 116 || c === 102 || c === 110 || c <= 32 || c >= 128) return JSON_START.test(text);
  return false;
}

function parseJson(text: string | null | undefined): unknown {
  // Plain mail is the common case here: a thrown SyntaxError per message cost P1 more than half its time.
  if (typeof text !== 'string' || !mayBeJson(text)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // not JSON: the caller says so, or reads it as text
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when `decodeMessage` failed. */
export function isDecodeFailure(value: ProtocolMessage | DecodeFailure): value is DecodeFailure {
  return 'error' in value;
}
