import { ProtocolError } from '../errors.js';

/** The kinds of task mail of the subject-line protocol. */
export type TaskMailKind = 'task' | 'ack' | 'status' | 'result' | 'error' | 'cancel';

/** A subject, parsed. `reply` is true when it carried one or more `Re:` prefixes. */
export type ParsedSubject =
  | { kind: 'task'; taskId: string; name: string; reply: boolean }
  | { kind: 'ack' | 'status' | 'result' | 'error' | 'cancel'; taskId: string; reply: boolean }
  | { kind: 'escalation'; level: number; errorType: string; reply: boolean }
  | { kind: 'collab'; topic: string; reply: boolean }
  | { kind: 'other'; subject: string; reply: boolean };

/** Task ids: 1..128 letters, digits, `.`, `_` or `-`. */
export const TASK_ID = /^[A-Za-z0-9._-]{1,128}$/;

const PREFIX: Record<Exclude<TaskMailKind, 'task'>, string> = {
  ack: 'ACK',
  status: 'STATUS',
  result: 'RESULT',
  error: 'ERROR',
  cancel: 'CANCEL',
};
const KIND_OF: Record<string, TaskMailKind> = {
  TASK: 'task',
  ACK: 'ack',
  STATUS: 'status',
  RESULT: 'result',
  ERROR: 'error',
  CANCEL: 'cancel',
};

const RE = /^\s*re\s*:\s*/i;
/** By ASCII code, 1: the characters a protocol subject can start with. */
const PROTOCOL_START = new Uint8Array(128);
for (const c of 'TASRECr[ \t\n\r') PROTOCOL_START[c.charCodeAt(0)] = 1;
const TASK_MAIL = /^(TASK|ACK|STATUS|RESULT|ERROR|CANCEL):(\S*)(.*)$/s;
const ESCALATION = /^\[ESCALATION L(\d{1,3})\]\s*(.*)$/s;
const COLLAB = /^\[COLLAB\]\s*(.*)$/s;
const NAME_SEPARATOR = /^\s+[—–-]\s+(.*)$/s;

function checkTaskId(taskId: string): void {
  if (!TASK_ID.test(taskId)) throw new ProtocolError(`invalid task id ${JSON.stringify(taskId)}`);
}

/** `TASK:{taskId} — {name}` */
export function formatTaskSubject(taskId: string, name: string): string {
  checkTaskId(taskId);
  return `TASK:${taskId} — ${name}`.slice(0, 256);
}

/** `ACK:{taskId}`, `STATUS:{taskId}`, `RESULT:{taskId}`, `ERROR:{taskId}` or `CANCEL:{taskId}`. */
export function formatTaskMailSubject(kind: Exclude<TaskMailKind, 'task'>, taskId: string): string {
  checkTaskId(taskId);
  return `${PREFIX[kind]}:${taskId}`;
}

/** `[ESCALATION L{n}] {errorType}` */
export function formatEscalationSubject(level: number, errorType: string): string {
  if (!Number.isInteger(level) || level < 0 || level > 999)
    throw new ProtocolError(`invalid escalation level ${level}`);
  return `[ESCALATION L${level}] ${errorType}`.slice(0, 256);
}

/** `[COLLAB] {topic}` */
export function formatCollabSubject(topic: string): string {
  return `[COLLAB] ${topic}`.slice(0, 256);
}

/** `Re: {subject}`, without stacking a second `Re:`. */
export function formatReplySubject(subject: string): string {
  return (RE.test(subject) ? subject : `Re: ${subject}`).slice(0, 256);
}

/**
 * Parses a subject. Never throws: foreign subjects are `{ kind: 'other' }`, and a subject that
 * starts like protocol mail but is malformed comes back as a `ProtocolError` value.
 */
export function parseSubject(subject: unknown): ParsedSubject | ProtocolError {
  if (typeof subject !== 'string') return new ProtocolError('subject is not a string');
  // Fast path: every protocol subject starts with one of these letters (or `[`, or `Re:`).
  const first = subject.charCodeAt(0); // NaN for ''
  if (!(first < 128 && PROTOCOL_START[first] === 1)) return { kind: 'other', subject, reply: false };
  let rest = subject;
  let reply = false;
  for (let m = RE.exec(rest); m; m = RE.exec(rest)) {
    reply = true;
    rest = rest.slice(m[0].length);
  }
  const task = TASK_MAIL.exec(rest);
  if (task) {
    const kind = KIND_OF[task[1] as string] as TaskMailKind;
    const taskId = task[2] as string;
    const tail = task[3] as string;
    if (!TASK_ID.test(taskId)) return new ProtocolError(`invalid task id in subject ${JSON.stringify(subject)}`);
    if (kind === 'task') {
      const name = NAME_SEPARATOR.exec(tail);
      if (tail.trim() !== '' && !name) return new ProtocolError(`malformed TASK subject ${JSON.stringify(subject)}`);
      return { kind, taskId, name: name ? (name[1] as string).trim() : '', reply };
    }
    if (tail.trim() !== '') return new ProtocolError(`unexpected text after ${task[1]}:${taskId}`);
    return { kind, taskId, reply };
  }
  const escalation = ESCALATION.exec(rest);
  if (escalation) {
    return { kind: 'escalation', level: Number(escalation[1]), errorType: (escalation[2] as string).trim(), reply };
  }
  const collab = COLLAB.exec(rest);
  if (collab) return { kind: 'collab', topic: (collab[1] as string).trim(), reply };
  return { kind: 'other', subject: rest, reply };
}
