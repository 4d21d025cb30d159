import { firstValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Agent, type AgentContext, type Task } from '../agents/agent.js';
import type { DeadLetter } from '../agents/agent-options.js';
import { embeddedRuntime, Recorder } from '../testing/index.js';
import type { Message } from '../wire/model.js';
import type { Runtime } from './runtime.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

const setup = (options: Parameters<typeof embeddedRuntime>[1] = {}) => embeddedRuntime(runtimes, options);

/** A deferred: a promise with its resolve at hand. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('delivery rules', () => {
  it('with concurrency 1, handles one message at a time', async () => {
    const { runtime, userRef } = await setup();
    let running = 0;
    let most = 0;
    const done = deferred();
    let handled = 0;
    class Slow extends Agent {
      override async onMessage() {
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((r) => setImmediate(r));
        running -= 1;
        if (++handled === 20) done.resolve();
      }
    }
    const slow = await runtime.spawn(new Slow(), { id: 'slow', concurrency: 1 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => userRef.send(slow.address, `hello ${i}`, 'x')));
    await done.promise;
    expect(most).toBe(1);
  });

  it('marks a message read only after its handler finished', async () => {
    const { runtime, userRef, postOffice } = await setup();
    const release = deferred();
    const seenUnread = deferred<boolean>();
    class Holder extends Agent {
      override async onMessage(message: Message, ctx: AgentContext) {
        const unread = await postOffice.inbox(ctx.address, { unread_only: true });
        seenUnread.resolve(unread.messages.some((m) => m.message_id === message.message_id));
        await release.promise;
      }
    }
    const holder = await runtime.spawn(new Holder(), { id: 'holder' });
    await userRef.send(holder.address, 'hold me', 'x');
    expect(await seenUnread.promise).toBe(true);
    release.resolve();
    await holder.stop();
    expect((await postOffice.inbox(holder.address, { unread_only: true })).messages).toHaveLength(0);
  });

  it('never handles the same message_id twice, even when it shows up unread again', async () => {
    const { runtime, userRef, postOffice } = await setup();
    const calls: string[] = [];
    const first = deferred();
    const second = deferred();
    class Once extends Agent {
      override onMessage(message: Message) {
        calls.push(message.message_id);
        (calls.length === 1 ? first : second).resolve();
      }
    }
    const once = await runtime.spawn(new Once(), { id: 'once', inbox: { heartbeatMs: 10 } });
    const sent = await userRef.send(once.address, 'only once', 'x');
    await first.promise;
    // Someone marks it unread again: the agent sees it on a later poll, marks it read, and does not run the handler.
    await postOffice.markRead(once.address, [sent.message_id], { unread: true });
    const marker = await userRef.send(once.address, 'marker', 'x');
    await second.promise;
    await once.stop();
    expect(calls).toEqual([sent.message_id, marker.message_id]);
    expect((await postOffice.inbox(once.address, { unread_only: true })).messages).toHaveLength(0);
  });

  it('answers a body that fails its schema with ERROR and a log line, and goes on', async () => {
    const { runtime, user, userRef } = await setup();
    const echo = await runtime.spawn(
      new (class extends Agent {
        override onTask(task: Task) {
          return task.input;
        }
      })(),
      { id: 'echo' },
    );
    await userRef.send(echo.address, 'TASK:t-bad — broken', '{"task_id": "t-bad"', {});
    await userRef.send(echo.address, 'TASK:t-bad2 — wrong', { task_id: 't-bad2' });
    const { taskId } = await userRef.delegate(echo.address, { name: 'fine', description: 'ok', input: 7 });
    const errors = await user.count((s) => s.kind === 'error', 2);
    expect(errors.map((e) => (e.kind === 'error' ? [e.mail.taskId, e.mail.body.error.type] : []))).toEqual([
      ['t-bad', 'ProtocolError'],
      ['t-bad2', 'ProtocolError'],
    ]);
    expect(errors[0]?.kind === 'error' && errors[0].mail.body.error.message).toMatch(/not valid JSON/);
    const [outcome] = await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ state: 'completed', result: 7 });
  });

  it('redelivers a task whose handler crashed, and completes it once', async () => {
    const { runtime, userRef } = await setup();
    let runs = 0;
    class Flaky extends Agent {
      override onTask() {
        runs += 1;
        if (runs < 3) throw new Error(`crash ${runs}`);
        return 'finally';
      }
    }
    const flaky = await runtime.spawn(new Flaky(), { id: 'flaky', retry: { initialDelayMs: 1 } });
    const { taskId, threadId } = await userRef.delegate(flaky.address, { name: 'f', description: 'f' });
    const [outcome] = await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ state: 'completed', result: 'finally' });
    expect(runs).toBe(3);
    const subjects = (await userRef.thread(threadId)).messages.map((m) => m.subject);
    expect(subjects.filter((s) => s.startsWith('RESULT:'))).toHaveLength(1);
    expect(subjects.filter((s) => s.startsWith('ACK:'))).toHaveLength(1);
  });

  it('dead-letters a message whose handler failed maxAttempts times: read, answered with ERROR, emitted', async () => {
    const { runtime, userRef, postOffice } = await setup();
    let runs = 0;
    class Broken extends Agent {
      override onTask(): never {
        runs += 1;
        throw new RangeError('always');
      }
    }
    const broken = await runtime.spawn(new Broken(), { id: 'broken', maxAttempts: 4, retry: { initialDelayMs: 1 } });
    const dead = firstValueFrom(runtime.deadLetters$);
    const { taskId } = await userRef.delegate(broken.address, { name: 'b', description: 'b' });
    const [outcome] = await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ state: 'failed', error: { type: 'RangeError', message: 'always' } });
    const letter: DeadLetter = await dead;
    expect(letter).toMatchObject({ agent: broken.address, attempts: 4, error: { type: 'RangeError' } });
    expect(runs).toBe(4);
    await broken.stop();
    expect((await postOffice.inbox(broken.address, { unread_only: true })).messages).toHaveLength(0);
  });
});

describe('Runtime', () => {
  it('stops gracefully: the handler in progress finishes and is marked read, polling stops', async () => {
    const { runtime, userRef, postOffice } = await setup();
    const started = deferred();
    const release = deferred();
    let finished = 0;
    class Busy extends Agent {
      override async onMessage() {
        started.resolve();
        await release.promise;
        finished += 1;
      }
    }
    const busy = await runtime.spawn(new Busy(), { id: 'busy' });
    await userRef.send(busy.address, 'work', 'x');
    await started.promise;
    const stopping = runtime.stop();
    release.resolve();
    await stopping;
    expect(finished).toBe(1);
    await postOffice.send(`user@${postOffice.domain}`, { to: [busy.address], subject: 'after stop' });
    await new Promise<void>((r) => setImmediate(r));
    const unread = await postOffice.inbox(busy.address, { unread_only: true });
    expect(unread.messages.map((m) => m.subject)).toEqual(['after stop']);
    expect(finished).toBe(1);
  });

  it('aborts handlers still running at the stop deadline and leaves their mail unread', async () => {
    const { runtime, userRef, postOffice } = await setup({ stopTimeoutMs: 20 });
    const started = deferred();
    let reason: unknown;
    class Stuck extends Agent {
      override onMessage(_m: Message, ctx: AgentContext) {
        started.resolve();
        return new Promise<void>((resolve) =>
          ctx.signal.addEventListener('abort', () => {
            reason = ctx.signal.reason;
            resolve();
          }),
        );
      }
    }
    const stuck = await runtime.spawn(new Stuck(), { id: 'stuck' });
    await userRef.send(stuck.address, 'forever', 'x');
    await started.promise;
    await runtime.stop();
    expect(reason).toBeDefined();
    expect((await postOffice.inbox(stuck.address, { unread_only: true })).messages).toHaveLength(1);
  });

  it('stops when its AbortSignal is aborted', async () => {
    const controller = new AbortController();
    const { runtime } = await setup({ signal: controller.signal });
    controller.abort();
    await expect(runtime.spawn(new Recorder(), { id: 'late' })).rejects.toThrow(/stopped/);
  });

  it('keeps two runtimes in one process apart', async () => {
    const one = await setup();
    const two = await setup();
    const broken = new (class extends Agent {
      override onMessage(): never {
        throw new Error('boom');
      }
    })();
    const ref = await one.runtime.spawn(broken, { id: 'broken', maxAttempts: 1 });
    const lettersOfTwo = two.runtime.deadLetters$.pipe(toArray());
    const collected = firstValueFrom(lettersOfTwo);
    const letter = firstValueFrom(one.runtime.deadLetters$);
    await one.userRef.send(ref.address, 'boom', 'x');
    await letter;
    expect(two.runtime.agents.map((a) => a.address)).toEqual([`user@${two.postOffice.domain}`]);
    await two.runtime.stop();
    expect(await collected).toEqual([]);
    // Stopping one runtime leaves the other running.
    const echo = await one.runtime.spawn(
      new (class extends Agent {
        override onTask() {
          return 'still here';
        }
      })(),
      { id: 'echo' },
    );
    const { taskId } = await one.userRef.delegate(echo.address, { name: 'e', description: 'e' });
    await expect(one.userRef.collect([taskId], { timeoutMs: 5000 })).resolves.toMatchObject([{ result: 'still here' }]);
  });

  it('never prints to the console, even when handlers crash', async () => {
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m));
    const { runtime, userRef } = await setup();
    const ref = await runtime.spawn(
      new (class extends Agent {
        override onMessage(): never {
          throw new Error('boom');
        }
      })(),
      { id: 'noisy', retry: { initialDelayMs: 1 } },
    );
    const letter = firstValueFrom(runtime.deadLetters$);
    await userRef.send(ref.address, 'boom', 'x');
    await letter;
    await runtime.stop();
    for (const spy of spies) {
      expect(spy).not.toHaveBeenCalled();
      spy.mockRestore();
    }
  });
});
