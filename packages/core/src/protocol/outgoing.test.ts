import { describe, expect, it } from 'vitest';
import type { Message } from '../wire/model.js';
import { decodeMessage, isDecodeFailure } from './codec.js';
import {
  ackMail,
  cancelMail,
  collabMail,
  decisionMail,
  errorMail,
  escalationMail,
  type OutgoingMail,
  resultMail,
  statusMail,
  taskMail,
} from './outgoing.js';

/** A mail as the receiver reads it. */
const received = (m: OutgoingMail, id = 'm2'): Message => ({
  message_id: id,
  thread_id: 't1',
  from_address: 'a@x.test',
  from_agent_id: 'a',
  to_addresses: m.to,
  cc_addresses: [],
  subject: m.subject,
  body_text: m.body_text ?? null,
  body_html: null,
  direction: 'inbound',
  delivery_type: 'internal',
  status: 'delivered',
  has_attachments: false,
  attachments: [],
  in_reply_to: m.in_reply_to ?? null,
  read_at: null,
  starred: false,
  created_at: '2026-01-01T00:00:00.000Z',
  delivered_at: null,
});

const longId = 'x'.repeat(128);
const task = received(taskMail('b@x.test', 'search', { task_id: longId, description: 'find' }), 'm1');

describe('the builders of outgoing protocol mail', () => {
  it('build mail that the receiver decodes as the kind it is, with the body it was given', () => {
    const cases: [OutgoingMail, string][] = [
      [taskMail('b@x.test', 'search', { task_id: 't-1', description: 'find', input: { q: 1 } }), 'task'],
      [ackMail(task, longId), 'ack'],
      [statusMail('a@x.test', 'm1', { task_id: 't-1', state: 'working', progress: 0.5 }), 'status'],
      [resultMail({ message: task }, 't-1', { papers: 2 }), 'result'],
      [errorMail({ message: task }, 't-1', { type: 'Boom', message: 'no' }), 'error'],
      [cancelMail('b@x.test', 'm1', { task_id: 't-1', reason: 'late' }), 'cancel'],
      [escalationMail('l0@x.test', 'e1', { type: 'Error', message: 'crashed', level: 0, from: 'boss' }), 'escalation'],
    ];
    for (const [mail, kind] of cases) {
      const decoded = decodeMessage(received(mail));
      expect(isDecodeFailure(decoded) ? decoded.error.message : decoded.kind).toBe(kind);
    }
    expect(decodeMessage(received(collabMail(['b@x.test'], 'plan', 'hello')))).toMatchObject({ kind: 'collab' });
  });

  it('derive one idempotency key per answered message: RESULT, ERROR and a decision share it', () => {
    const keys = [
      resultMail({ message: task }, 't-1', 1),
      errorMail({ message: task }, 't-1', { type: 'E', message: '' }),
      decisionMail(task, 'skip'),
    ].map((m) => m.idempotency_key);
    expect(new Set(keys)).toEqual(new Set(['reply:m1']));
    expect(ackMail(task, 't-1').idempotency_key).toBe('ack:m1');
  });

  it('keep every key within the API limit of 128 characters, and distinct', () => {
    const a = taskMail('b@x.test', 'n', { task_id: longId, description: '' }).idempotency_key;
    const b = taskMail('b@x.test', 'n', { task_id: `${longId.slice(1)}y`, description: '' }).idempotency_key;
    expect(a?.length).toBeLessThanOrEqual(128);
    expect(a).toMatch(/^task:[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
    expect(taskMail('b@x.test', 'n', { task_id: 't-1', description: '' }).idempotency_key).toBe('task:t-1');
  });

  it('answer a task to its callback, under its callback subject', () => {
    const mail = resultMail({ message: task, callback: 'c@x.test', callbackSubject: 'Report ready' }, 't-1', 1);
    expect(mail).toMatchObject({ to: ['c@x.test'], subject: 'Report ready', in_reply_to: 'm1' });
  });
});
