import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import type { Message } from '../wire/model.js';
import { decodeMessage, isDecodeFailure } from './codec.js';
import { formatEscalationBody, parseEscalationBody } from './escalation.js';
import {
  formatCollabSubject,
  formatEscalationSubject,
  formatReplySubject,
  formatTaskMailSubject,
  formatTaskSubject,
  parseSubject,
} from './subject.js';

/** Fuzz runs per property (R4: 10 000 in `pnpm soak`). */
const RUNS = Number(process.env.R4_CODEC_RUNS ?? 2000);

const mail = (subject: string, body: string | null): Message => ({
  message_id: 'm1',
  thread_id: 't1',
  from_address: 'a@x.test',
  from_agent_id: 'a',
  to_addresses: ['b@x.test'],
  cc_addresses: [],
  subject,
  body_text: body,
  body_html: null,
  direction: 'inbound',
  delivery_type: 'internal',
  status: 'delivered',
  has_attachments: false,
  attachments: [],
  in_reply_to: null,
  read_at: null,
  starred: false,
  created_at: '2026-01-01T00:00:00.000Z',
  delivered_at: null,
});

describe('subject codec', () => {
  it('formats and parses every kind of subject', () => {
    expect(parseSubject(formatTaskSubject('t-1', 'search the web'))).toEqual({
      kind: 'task',
      taskId: 't-1',
      name: 'search the web',
      reply: false,
    });
    for (const kind of ['ack', 'status', 'result', 'error', 'cancel'] as const) {
      expect(parseSubject(formatTaskMailSubject(kind, 'abc'))).toEqual({ kind, taskId: 'abc', reply: false });
    }
    expect(parseSubject(formatEscalationSubject(2, 'TimeoutError'))).toEqual({
      kind: 'escalation',
      level: 2,
      errorType: 'TimeoutError',
      reply: false,
    });
    expect(parseSubject(formatCollabSubject('launch plan'))).toEqual({
      kind: 'collab',
      topic: 'launch plan',
      reply: false,
    });
    expect(parseSubject('Re: RE: re:RESULT:abc')).toEqual({ kind: 'result', taskId: 'abc', reply: true });
    expect(formatReplySubject('Re: hello')).toBe('Re: hello');
    expect(formatReplySubject('hello')).toBe('Re: hello');
  });

  it('accepts the seed’s dash variants in a TASK subject', () => {
    expect(parseSubject('TASK:t1 - plain dash')).toMatchObject({ kind: 'task', name: 'plain dash' });
    expect(parseSubject('TASK:t1 – en dash')).toMatchObject({ kind: 'task', name: 'en dash' });
  });

  it('returns foreign subjects as other, and malformed protocol subjects as a ProtocolError value', () => {
    expect(parseSubject('lunch?')).toEqual({ kind: 'other', subject: 'lunch?', reply: false });
    expect(parseSubject('RESULT:')).toBeInstanceOf(ProtocolError);
    expect(parseSubject('RESULT:abc trailing')).toBeInstanceOf(ProtocolError);
    expect(parseSubject('TASK:bad/id — x')).toBeInstanceOf(ProtocolError);
    expect(parseSubject(42)).toBeInstanceOf(ProtocolError);
    expect(() => formatTaskSubject('bad id', 'x')).toThrow(ProtocolError);
  });

  it('never throws on any string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const r = parseSubject(s);
        expect(r instanceof ProtocolError || typeof r.kind === 'string').toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('message codec', () => {
  it('decodes a TASK with its typed body', () => {
    const body = { task_id: 't1', description: 'find papers', input: { q: 'actors' } };
    const decoded = decodeMessage(mail('TASK:t1 — search', JSON.stringify(body)));
    expect(decoded).toMatchObject({ kind: 'task', taskId: 't1', name: 'search', body });
  });

  it('reports a body that is not JSON, fails its schema, or names another task', () => {
    const notJson = decodeMessage(mail('RESULT:t1', '{oops'));
    expect(isDecodeFailure(notJson) && notJson.error.message).toMatch(/not valid JSON/);
    expect(isDecodeFailure(notJson) && notJson.taskId).toBe('t1');
    const bad = decodeMessage(mail('ERROR:t1', JSON.stringify({ task_id: 't1', error: 'flat' })));
    expect(isDecodeFailure(bad) && bad.error.message).toMatch(/fails its schema at error/);
    const other = decodeMessage(mail('ACK:t1', JSON.stringify({ task_id: 't2' })));
    expect(isDecodeFailure(other) && other.error.message).toMatch(/does not match/);
    expect(isDecodeFailure(decodeMessage(mail('STATUS:t1', null)))).toBe(true);
  });

  it('never throws on random subjects and bodies', () => {
    const subjects = fc.oneof(
      fc.string(),
      fc.constantFrom('TASK:t1 — x', 'RESULT:t1', 'ERROR:t1', '[ESCALATION L1] E', '[COLLAB] x', 'CANCEL:t1'),
    );
    const bodies = fc.oneof(fc.string(), fc.json(), fc.constant(null));
    fc.assert(
      fc.property(subjects, bodies, (s, b) => {
        const r = decodeMessage(mail(s, b));
        expect(isDecodeFailure(r) ? r.error : r.kind).toBeTruthy();
      }),
      { numRuns: RUNS },
    );
  });
});

describe('escalation body', () => {
  it('is readable by a person and parses back', () => {
    const text = formatEscalationBody({
      type: 'TimeoutError',
      message: 'search took too long',
      level: 1,
      from: 'supervisor@x.test',
      context: { task_id: 't1', attempts: 3 },
    });
    expect(text).toContain('Type: TimeoutError\nMessage: search took too long\nLevel: L1');
    expect(parseEscalationBody(text)).toEqual({
      type: 'TimeoutError',
      message: 'search took too long',
      level: 1,
      from: 'supervisor@x.test',
      context: { task_id: 't1', attempts: 3 },
    });
    expect(parseEscalationBody('hello')).toBeInstanceOf(ProtocolError);
    expect(parseEscalationBody('Type: X\nLevel: L1\nContext:\n{bad')).toBeInstanceOf(ProtocolError);
  });
});

describe('interop leniency (docs/interop.md): mail from clients on other stacks', () => {
  const reply = (subject: string, body: string | null, inReplyTo = 'task-mail') => ({
    ...mail(subject, body),
    in_reply_to: inReplyTo,
  });

  it('takes a numeric deadline (seconds or milliseconds since the epoch) as ISO text', () => {
    const body = (deadline: number) => JSON.stringify({ task_id: 't1', description: 'x', deadline });
    expect(decodeMessage(mail('TASK:t1 — x', body(1_800_000_000)))).toMatchObject({
      body: { deadline: '2027-01-15T08:00:00.000Z' },
    });
    expect(decodeMessage(mail('TASK:t1 — x', body(1_800_000_000_000)))).toMatchObject({
      body: { deadline: '2027-01-15T08:00:00.000Z' },
    });
  });

  it('reads answers that keep the TASK subject as RESULT or ERROR, never as a new TASK', () => {
    const result = JSON.stringify({ task_id: 't1', result: 'done' });
    expect(decodeMessage(reply('Re: TASK:t1 — search', result))).toMatchObject({ kind: 'result', taskId: 't1' });
    expect(decodeMessage(reply('TASK:t1 — search', result))).toMatchObject({
      kind: 'result',
      body: { result: 'done' },
    });
    const error = JSON.stringify({ task_id: 't1', error: { type: 'E', message: 'no' } });
    expect(decodeMessage(reply('Re: TASK:t1 — search', error))).toMatchObject({ kind: 'error', taskId: 't1' });
    expect(decodeMessage(reply('Re: TASK:t1 — search', 'plain words'))).toMatchObject({
      kind: 'result',
      body: { task_id: 't1', result: 'plain words' },
    });
  });

  it('takes the task id from the body when the subject is a prefix and free text', () => {
    const body = JSON.stringify({ task_id: 't9', result: 42 });
    expect(decodeMessage(mail('RESULT: Market analysis complete', body))).toMatchObject({
      kind: 'result',
      taskId: 't9',
      body: { result: 42 },
    });
    expect(isDecodeFailure(decodeMessage(mail('RESULT: Market analysis complete', 'text')))).toBe(true);
  });

  it('reads the seed’s callback request as a TASK with an id made from its message id', () => {
    const body = JSON.stringify({ task: 'Generate analysis', callback: 'a@x.test', callback_subject: 'RESULT: done' });
    expect(decodeMessage(mail('Long task: Generate market analysis', body))).toMatchObject({
      kind: 'task',
      taskId: 'm-m1',
      name: 'Generate market analysis',
      body: { description: 'Generate analysis', callback: 'a@x.test', callback_subject: 'RESULT: done' },
    });
  });

  it('reads mail that answers a task the agent sent, but names none, as its RESULT', () => {
    const answered = () => 't5';
    expect(decodeMessage(reply('Market analysis ready', 'the text'), answered)).toMatchObject({
      kind: 'result',
      body: { task_id: 't5', result: 'the text' },
    });
    expect(decodeMessage(reply('Market analysis ready', 'the text'))).toMatchObject({ kind: 'other' });
  });

  it('parses the seed’s escalate_error body (text around the fields, JSON on the Context: line)', () => {
    const text =
      'Error requiring attention:\n\nType: PaymentFailed\nMessage: card declined\nContext: {\n  "order": 42\n}\n\nThis was escalated from level -1.';
    expect(decodeMessage(mail('[ESCALATION L0] PaymentFailed', text))).toMatchObject({
      kind: 'escalation',
      escalation: {
        type: 'PaymentFailed',
        message: 'card declined',
        level: 0,
        from: 'a@x.test',
        context: { order: 42 },
      },
    });
  });
});
