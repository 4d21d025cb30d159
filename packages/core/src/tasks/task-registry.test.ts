import { describe, expect, it } from 'vitest';
import { ManualClock } from '../testing/manual-clock.js';
import { TaskRegistry } from './task-registry.js';

const sent = (taskId: string, messageId: string, callbackSubject?: string) => ({
  taskId,
  role: 'sent' as const,
  name: 'work',
  peer: 'worker@x',
  threadId: `thr_${taskId}`,
  messageId,
  ...(callbackSubject !== undefined ? { callbackSubject } : {}),
});

describe('TaskRegistry.answeredBy: the open task that plain mail answers', () => {
  it('finds it by the TASK it replies to, or by its callback subject, while it is open', () => {
    const tasks = new TaskRegistry(new ManualClock());
    tasks.open(sent('t1', 'msg_1'));
    tasks.open(sent('t2', 'msg_2', 'report for t2'));
    expect(tasks.answeredBy({ in_reply_to: 'msg_1', subject: 'hello' })).toBe('t1');
    expect(tasks.answeredBy({ in_reply_to: null, subject: 'report for t2' })).toBe('t2');
    expect(tasks.answeredBy({ in_reply_to: 'msg_9', subject: 'unrelated' })).toBeUndefined();
    // Accepted is still open; completed is not.
    tasks.update('t1', 'sent', 'accepted');
    expect(tasks.answeredBy({ in_reply_to: 'msg_1' })).toBe('t1');
    tasks.update('t1', 'sent', 'completed', { result: 'done' });
    expect(tasks.answeredBy({ in_reply_to: 'msg_1' })).toBeUndefined();
    // A task given up on is not waited for; one that comes back to life late is again.
    tasks.update('t2', 'sent', 'timed_out');
    expect(tasks.answeredBy({ subject: 'report for t2' })).toBeUndefined();
    tasks.update('t2', 'sent', 'working');
    expect(tasks.answeredBy({ subject: 'report for t2' })).toBe('t2');
  });

  it('answers the oldest open task of a shared callback subject first, and then the next', () => {
    const tasks = new TaskRegistry(new ManualClock());
    tasks.open(sent('a', 'msg_a', 'daily report'));
    tasks.open(sent('b', 'msg_b', 'daily report'));
    tasks.update('a', 'sent', 'accepted');
    expect(tasks.answeredBy({ subject: 'daily report' })).toBe('a');
    tasks.update('a', 'sent', 'completed');
    expect(tasks.answeredBy({ subject: 'daily report' })).toBe('b');
  });

  it('holds nothing for tasks received (only a sent task is answered)', () => {
    const tasks = new TaskRegistry(new ManualClock());
    tasks.open({ ...sent('r1', 'msg_r1', 'subject'), role: 'received' });
    expect(tasks.answeredBy({ in_reply_to: 'msg_r1', subject: 'subject' })).toBeUndefined();
  });
});
