import type { z } from 'zod';
import { ProtocolError } from '../errors.js';
import type { Message } from '../wire/model.js';
import { AckBody, CancelBody, ErrorBody, ResultBody, StatusBody, TaskBody } from './bodies.js';
import { type Escalation, parseEscalationBody } from './escalation.js';
import { parseSubject } from './subject.js';

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
 * Decodes a message: subject, then the JSON body against its schema. Never throws on foreign
 * input: returns a typed value, or a {@link DecodeFailure} saying what was wrong.
 */
export function decodeMessage(message: Message): ProtocolMessage | DecodeFailure {
  const subject = parseSubject(message.subject);
  if (subject instanceof ProtocolError) return { error: subject, taskId: undefined, kind: undefined };
  switch (subject.kind) {
    case 'other':
      return { kind: 'other', message };
    case 'collab':
      return { kind: 'collab', topic: subject.topic, message };
    case 'escalation': {
      // `Re: [ESCALATION Ln] …` is an answer in an escalation thread (a decision), not an escalation.
      if (subject.reply) return { kind: 'other', message };
      const escalation = parseEscalationBody(message.body_text);
      if (escalation instanceof ProtocolError) return { error: escalation, taskId: undefined, kind: 'escalation' };
      return { kind: 'escalation', level: subject.level, errorType: subject.errorType, escalation, message };
    }
    default: {
      // `Re: STATUS:…` answers a question (a STATUS of state input-required): plain mail, from an
      // agent or a person's mail client, not a STATUS.
      if (subject.reply && subject.kind === 'status') return { kind: 'other', message };
      const fail = (text: string, cause?: unknown): DecodeFailure => ({
        error: new ProtocolError(`${subject.kind.toUpperCase()}:${subject.taskId}: ${text}`, { cause }),
        taskId: subject.taskId,
        kind: subject.kind,
      });
      let json: unknown;
      try {
        json = JSON.parse(message.body_text ?? '');
      } catch (cause) {
        return fail('body is not valid JSON', cause);
      }
      const parsed = (BODY[subject.kind] as z.ZodType).safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return fail(
          `body fails its schema${issue ? ` at ${issue.path.join('.') || '(root)'}: ${issue.message}` : ''}`,
          parsed.error,
        );
      }
      const body = parsed.data as { task_id: string };
      if (body.task_id !== subject.taskId) return fail(`body task_id ${body.task_id} does not match the subject`);
      if (subject.kind === 'task') {
        return { kind: 'task', taskId: subject.taskId, name: subject.name, body: body as TaskBody, message };
      }
      return { kind: subject.kind, taskId: subject.taskId, body, message } as ProtocolMessage;
    }
  }
}

/** True when `decodeMessage` failed. */
export function isDecodeFailure(value: ProtocolMessage | DecodeFailure): value is DecodeFailure {
  return 'error' in value;
}
