import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type AgentContext, type Task } from '../agents/agent.js';
import { TaskFailedError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { embeddedRuntime, Recorder } from '../testing/index.js';
import type { Message } from '../wire/model.js';
import { contribute, hubAndSpoke, openSharedThread, pipeline } from './patterns.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

class Stage extends Agent {
  constructor(private readonly f: (s: string) => string) {
    super();
  }
  override onTask(task: Task) {
    if (typeof task.input !== 'string') throw new TaskFailedError('BadInput', 'a string, please');
    return this.f(task.input);
  }
}

describe('patterns', () => {
  it('pipeline: runs the stages in order in one thread, each TASK answering the previous RESULT', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const a = await runtime.spawn(new Stage((s) => s.toUpperCase()), { id: 'upper' });
    const b = await runtime.spawn(new Stage((s) => [...s].reverse().join('')), { id: 'reverse' });
    const c = await runtime.spawn(new Stage((s) => `${s}!`), { id: 'exclaim' });
    const run = await pipeline(
      userRef,
      [
        { to: a.address, name: 'upper' },
        { to: b.address, name: 'reverse' },
        { to: c.address, name: 'exclaim' },
      ],
      'mail',
      { timeoutMs: 5000 },
    );
    expect(run.output).toBe('LIAM!');
    const thread = await userRef.thread(run.threadId);
    const tasks = thread.messages.filter((m) => m.subject.startsWith('TASK:'));
    const results = thread.messages.filter((m) => m.subject.startsWith('RESULT:'));
    expect(tasks.map((m) => m.subject.split(' — ')[1])).toEqual(['upper', 'reverse', 'exclaim']);
    expect(results).toHaveLength(3);
    expect(tasks[1]?.in_reply_to).toBe(results[0]?.message_id);
    expect(tasks[2]?.in_reply_to).toBe(results[1]?.message_id);
  });

  it('pipeline: a failed stage fails the pipeline, naming it', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const a = await runtime.spawn(new Stage(() => 42 as unknown as string), { id: 'broken' });
    const b = await runtime.spawn(new Stage((s) => s), { id: 'strict' });
    const failure = pipeline(
      userRef,
      [
        { to: a.address, name: 'first' },
        { to: b.address, name: 'second' },
      ],
      'x',
      { timeoutMs: 5000 },
    );
    await expect(failure).rejects.toThrow(/stage "second".*BadInput: a string, please/);
  });

  it('shared thread: every contribution goes to all participants, in reply to the latest message', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const others = await Promise.all(['ada', 'bob'].map(async (id) => runtime.spawn(new Recorder(), { id })));
    const opened = await openSharedThread(
      userRef,
      [userRef.address, ...others.map((o) => o.address)],
      'launch plan',
      'ideas?',
    );
    const one = await contribute(others[0]!, opened.thread_id, 'ship it');
    const two = await contribute(others[1]!, opened.thread_id, 'after tests');
    expect(one.message.in_reply_to).toBe(opened.message_id);
    expect(two.message.in_reply_to).toBe(one.message_id);
    expect(new Set(two.message.to_addresses)).toEqual(new Set([userRef.address, others[0]!.address]));
    for (const who of [userRef, ...others]) {
      const thread = await who.thread(opened.thread_id);
      expect(thread.subject).toBe('[COLLAB] launch plan');
      expect(thread.messages.map((m) => m.body_text)).toEqual(['ideas?', 'ship it', 'after tests']);
    }
  });

  it('async callbacks: the RESULT goes to the callback address under its callback_subject', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const worker = await runtime.spawn(new Stage((s) => s.toUpperCase()), { id: 'worker' });
    const got: Message[] = [];
    let arrived!: () => void;
    const done = new Promise<void>((r) => (arrived = r));
    const sink = await runtime.spawn(
      new (class Sink extends Agent {
        override onMessage(m: Message, _ctx: AgentContext) {
          got.push(m);
          arrived();
        }
      })(),
      { id: 'sink' },
    );
    const { taskId } = await userRef.delegate(worker.address, {
      name: 'shout',
      description: 'x',
      input: 'later',
      callback: sink.address,
      callbackSubject: 'report ready',
    });
    await done;
    expect(got[0]?.subject).toBe('report ready');
    expect(JSON.parse(got[0]?.body_text ?? '{}')).toEqual({ task_id: taskId, result: 'LATER' });
  });

  it('hub and spoke: each specialist gets its own task, and every outcome comes back by the deadline', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const up = await runtime.spawn(new Stage((s) => s.toUpperCase()), { id: 'upper' });
    const rev = await runtime.spawn(new Stage((s) => [...s].reverse().join('')), { id: 'reverse' });
    const outcomes = await hubAndSpoke(
      userRef,
      [
        { to: up.address, task: { name: 'shout', description: 'x', input: 'abc' } },
        { to: rev.address, task: { name: 'flip', description: 'x', input: 'abc' } },
      ],
      { timeoutMs: 5000 },
    );
    expect(outcomes.map((o) => o.state === 'completed' && o.result)).toEqual(['ABC', 'cba']);
  });

  it('cancel: CANCEL aborts the assignee’s handler and the task ends canceled for both', async () => {
    const { runtime, user, userRef } = await embeddedRuntime(runtimes);
    let aborted!: () => void;
    const wasAborted = new Promise<void>((r) => (aborted = r));
    const slow = await runtime.spawn(
      new (class Slow extends Agent {
        override onTask(_t: Task, ctx: AgentContext) {
          return new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => {
              aborted();
              reject(new Error('stopped'));
            }),
          );
        }
      })(),
      { id: 'slow' },
    );
    const { taskId } = await userRef.delegate(slow.address, { name: 'long', description: 'x' });
    await user.next((s) => s.kind === 'ack');
    await userRef.cancel(taskId, 'no longer needed');
    await wasAborted;
    await expect(userRef.collect([taskId], { timeoutMs: 1000 })).resolves.toMatchObject([{ state: 'canceled' }]);
    expect(userRef.tasks.get(taskId)?.history.map((h) => h.state)).toEqual(['submitted', 'accepted', 'canceled']);
  });
});
