import { Writable } from 'node:stream';
import { pino } from 'pino';
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskFailedError } from '../errors.js';
import { LocalMailbox } from '../mailbox/local-mailbox.js';
import type { Mailbox } from '../mailbox/mailbox.js';
import { MemoryPostOffice } from '../post-office/memory/memory-post-office.js';
import { createRuntime, type Runtime } from '../runtime/runtime.js';
import { TaskTimeoutError } from '../tasks/task-timeout-error.js';
import { embeddedRuntime, Recorder, VirtualTime } from '../testing/index.js';
import { Agent, type AgentContext, type Task } from './agent.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

function logCapture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

const setup = (options: Parameters<typeof embeddedRuntime>[1] = {}) => embeddedRuntime(runtimes, options);

class Echo extends Agent {
  override onTask(task: Task) {
    return { echoed: task.input };
  }
}

describe('Agent tasks', () => {
  it('answers a task with ACK, then RESULT in the same thread', async () => {
    const { runtime, user, userRef } = await setup();
    const echo = await runtime.spawn(new Echo(), { id: 'echo' });
    const { taskId, threadId } = await userRef.delegate(echo.address, {
      name: 'echo',
      description: 'say it back',
      input: 42,
    });
    const [outcome] = await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ state: 'completed', result: { echoed: 42 }, from: echo.address });
    await user.next((s) => s.kind === 'result');
    const thread = await userRef.thread(threadId);
    expect(thread.messages.map((m) => m.subject)).toEqual([
      `TASK:${taskId} — echo`,
      `ACK:${taskId}`,
      `RESULT:${taskId}`,
    ]);
    expect(user.seen.map((s) => s.kind)).toEqual(['ack', 'result']);
    expect(userRef.tasks.get(taskId)?.history.map((h) => h.state)).toEqual(['submitted', 'accepted', 'completed']);
    // Either side reads the same thread as an audit trail.
    for (const side of [userRef, echo]) {
      expect((await side.audit(threadId)).map((e) => [e.from, e.kind, e.state])).toEqual([
        [userRef.address, 'task', 'submitted'],
        [echo.address, 'ack', 'accepted'],
        [echo.address, 'result', 'completed'],
      ]);
    }
  });

  it('sends no ACK when told not to, and honours the callback address', async () => {
    const { runtime, userRef } = await setup();
    const echo = await runtime.spawn(new Echo(), { id: 'echo', ack: false });
    const sink = new Recorder();
    const sinkRef = await runtime.spawn(sink, { id: 'sink' });
    await userRef.delegate(echo.address, { name: 'echo', description: 'x', input: 'hi', callback: sinkRef.address });
    const got = await sink.next((s) => s.kind === 'result');
    expect(got.kind === 'result' && got.mail.body.result).toEqual({ echoed: 'hi' });
    const sent = await echo.mailbox.account();
    expect(sent.total_sent).toBe(1);
  });

  it('answers ERROR with type and message when the handler throws TaskFailedError', async () => {
    const { runtime, userRef } = await setup();
    class Picky extends Agent {
      override onTask(): never {
        throw new TaskFailedError('BadInput', 'no thanks');
      }
    }
    const picky = await runtime.spawn(new Picky(), { id: 'picky' });
    const { taskId } = await userRef.delegate(picky.address, { name: 'x', description: 'x' });
    const [outcome] = await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ state: 'failed', error: { type: 'BadInput', message: 'no thanks' } });
  });

  it('collects results while the collecting handler is itself busy (no deadlock)', async () => {
    const { runtime, userRef } = await setup();
    await runtime.spawn(new Echo(), { id: 'one' });
    await runtime.spawn(new Echo(), { id: 'two' });
    class Hub extends Agent {
      override async onTask(task: Task, ctx: AgentContext) {
        const ids = await Promise.all(
          ['one', 'two'].map((id) =>
            ctx.delegate(`${id}@agents.localhost`, { name: 'echo', description: 'x', input: id }),
          ),
        );
        const outcomes = await ctx.collect(
          ids.map((i) => i.taskId),
          { timeoutMs: 5000 },
        );
        return { from: task.from, results: outcomes.map((o) => (o.state === 'completed' ? o.result : null)) };
      }
    }
    const hub = await runtime.spawn(new Hub(), { id: 'hub' });
    const { taskId } = await userRef.delegate(hub.address, { name: 'fan', description: 'x' });
    const [outcome] = await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ result: { results: [{ echoed: 'one' }, { echoed: 'two' }] } });
  });

  it('rejects collect with TaskTimeoutError naming the tasks that did not answer (virtual time)', async () => {
    const vt = new VirtualTime(Date.UTC(2026, 0, 1));
    const { runtime, userRef } = await setup({ scheduler: vt.scheduler });
    class Silent extends Agent {
      override onTask() {
        return new Promise(() => {});
      }
    }
    await runtime.spawn(new Echo(), { id: 'fast' });
    await runtime.spawn(new Silent(), { id: 'slow' });
    const fast = await userRef.delegate('fast@agents.localhost', { name: 'a', description: 'a' });
    const slow = await userRef.delegate('slow@agents.localhost', { name: 'b', description: 'b' });
    let settled: unknown;
    userRef.collect([fast.taskId, slow.taskId], { timeoutMs: 1000 }).then(
      (v) => (settled = v),
      (e) => (settled = e),
    );
    await vt.advance(999);
    expect(settled).toBeUndefined();
    expect(userRef.tasks.get(fast.taskId)?.state).toBe('completed');
    await vt.advance(1);
    expect(settled).toBeInstanceOf(TaskTimeoutError);
    expect((settled as TaskTimeoutError).missing).toEqual([slow.taskId]);
    expect((settled as TaskTimeoutError).outcomes).toMatchObject([{ taskId: fast.taskId, state: 'completed' }]);
    expect(userRef.tasks.get(slow.taskId)?.state).toBe('timed_out');
    // The silent handler never ends: stop() waits out its deadline in virtual time, then aborts it.
    const stopping = runtime.stop();
    await vt.advance(10_000);
    await stopping;
  });

  it('reports progress with status(), seen by the requester as a working task with a note', async () => {
    const { runtime, user, userRef } = await setup();
    class Worker extends Agent {
      override async onTask(_task: Task, ctx: AgentContext) {
        await ctx.status('working', { note: 'halfway', progress: 0.5 });
        return 'done';
      }
    }
    const worker = await runtime.spawn(new Worker(), { id: 'worker' });
    const { taskId } = await userRef.delegate(worker.address, { name: 'w', description: 'w' });
    const status = await user.next((s) => s.kind === 'status');
    expect(status.kind === 'status' && status.mail.body).toEqual({
      task_id: taskId,
      state: 'working',
      progress: 0.5,
      note: 'halfway',
    });
    await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(userRef.tasks.get(taskId)?.history.map((h) => h.state)).toEqual([
      'submitted',
      'accepted',
      'working',
      'completed',
    ]);
  });

  it('aborts the handler’s signal on CANCEL and answers nothing more', async () => {
    const { runtime, user, userRef } = await setup();
    let aborted: unknown;
    let cancelHandled!: () => void;
    const onCancelRan = new Promise<void>((resolve) => (cancelHandled = resolve));
    class Long extends Agent {
      override onCancel() {
        cancelHandled();
      }
      override onTask(_task: Task, ctx: AgentContext) {
        return new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => {
            aborted = ctx.signal.reason;
            reject(new Error('aborted'));
          }),
        );
      }
    }
    const long = await runtime.spawn(new Long(), { id: 'long' });
    const { taskId, messageId } = await userRef.delegate(long.address, { name: 'l', description: 'l' });
    await user.next((s) => s.kind === 'ack');
    await userRef.send(
      long.address,
      `CANCEL:${taskId}`,
      { task_id: taskId, reason: 'changed my mind' },
      { inReplyTo: messageId },
    );
    const cancelSeen = new Promise<void>((resolve) => {
      const check = () => (long.tasks.get(taskId, 'received')?.state === 'canceled' ? resolve() : undefined);
      long.tasks.changes$.subscribe(check);
      check();
    });
    await cancelSeen;
    expect(aborted).toBe('changed my mind');
    await onCancelRan;
    await long.stop();
    expect((await long.mailbox.account()).total_sent).toBe(1); // the ACK only: no RESULT, no ERROR
    expect((await long.mailbox.inbox({ unread_only: true })).messages).toEqual([]);
  });

  it('logs through a pino child that names the agent, thread and task', async () => {
    const { logger, lines } = logCapture();
    const { runtime, userRef } = await setup({ logger });
    class Chatty extends Agent {
      override onTask(_task: Task, ctx: AgentContext) {
        ctx.log.info('working on it');
        return 1;
      }
    }
    const chatty = await runtime.spawn(new Chatty(), { id: 'chatty' });
    const { taskId, threadId } = await userRef.delegate(chatty.address, { name: 'c', description: 'c' });
    await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(lines.find((l) => l.msg === 'working on it')).toMatchObject({
      agent: chatty.address,
      thread_id: threadId,
      task_id: taskId,
    });
  });
});

describe('answers that come before the send returns', () => {
  it('keeps a RESULT that lands before its TASK send resolved (a slow or retried send)', async () => {
    const po = new MemoryPostOffice();
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    const runtime = createRuntime({
      mailboxFactory: async (id) => {
        const { email_address } = await po.register({ agent_id: id });
        const box = new LocalMailbox(po, email_address);
        if (id !== 'slow-user') return box;
        // This user's TASK sends return only after the answer reached its inbox and was seen.
        const slow: Mailbox = Object.create(box);
        slow.send = async (request) => {
          const answered = firstValueFrom(po.wakeups(email_address));
          const result = await box.send(request);
          if (request.subject.startsWith('TASK:')) {
            await answered;
            await turn();
            await turn();
          }
          return result;
        };
        return slow;
      },
    });
    runtimes.push(runtime);
    const echo = await runtime.spawn(new Echo(), { id: 'echo' });
    const user = await runtime.spawn(new (class User extends Agent {})(), { id: 'slow-user', ack: false });
    const { taskId } = await user.delegate(echo.address, { name: 'echo', description: 'x', input: 7 });
    const [outcome] = await user.collect([taskId], { timeoutMs: 2000 });
    expect(outcome).toMatchObject({ state: 'completed', result: { echoed: 7 } });
    expect(user.tasks.get(taskId)?.history.map((h) => h.state)).toEqual(['submitted', 'accepted', 'completed']);
  });
});
