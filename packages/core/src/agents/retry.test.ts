import { afterEach, describe, expect, it } from 'vitest';
import { RateLimitedError, TaskFailedError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { embeddedRuntime, VirtualTime } from '../testing/index.js';
import type { Message } from '../wire/model.js';
import { Agent, type Task } from './agent.js';
import { retryAfterOf, retryDelay } from './retry-timing.js';

const live: { runtime: Runtime; vt: VirtualTime }[] = [];
afterEach(async () => {
  for (const { runtime, vt } of live.splice(0)) {
    const stopping = runtime.stop();
    await vt.advance(1);
    await stopping;
  }
});

const T0 = Date.UTC(2026, 0, 1);
async function setup() {
  const vt = new VirtualTime(T0);
  const running: Runtime[] = [];
  const env = await embeddedRuntime(running, { scheduler: vt.scheduler, stopTimeoutMs: 1 });
  live.push({ runtime: env.runtime, vt });
  return { ...env, vt };
}

/** A provider's 429: the error says how long to wait. */
class ProviderRateLimit extends Error {
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number) {
    super('429 Too Many Requests');
    this.retryAfterMs = retryAfterMs;
  }
}

describe('retry timing (pure)', () => {
  it('backs off exponentially up to the cap, with jitter inside its bounds', () => {
    const policy = { initialDelayMs: 1000, factor: 2, maxDelayMs: 5000, jitter: 0 };
    expect([1, 2, 3, 4, 5].map((a) => retryDelay(a, new Error('x'), policy))).toEqual([1000, 2000, 4000, 5000, 5000]);
    const low = retryDelay(2, new Error('x'), { ...policy, jitter: 0.5, random: () => 0 });
    const high = retryDelay(2, new Error('x'), { ...policy, jitter: 0.5, random: () => 0.999999 });
    expect(low).toBe(1000);
    expect(high).toBe(3000);
  });

  it("honours an error's retryAfterMs, on the error or its cause, over the backoff", () => {
    expect(retryDelay(1, new ProviderRateLimit(7000), { initialDelayMs: 10 })).toBe(7000);
    expect(retryDelay(1, new Error('wrapped', { cause: new RateLimitedError('429', 1234) }))).toBe(1234);
    expect(retryAfterOf(new Error('plain'))).toBeUndefined();
  });
});

describe('retries with backoff (virtual time)', () => {
  it('runs a failed handler again after 1 s, then 2 s (exponential), and answers once', async () => {
    const { runtime, userRef, vt } = await setup();
    const runsAt: number[] = [];
    const worker = await runtime.spawn(
      new (class extends Agent {
        override onTask() {
          runsAt.push(vt.now() - T0);
          if (runsAt.length < 3) throw new Error('model unavailable');
          return 'done';
        }
      })(),
      { id: 'flaky', retry: { initialDelayMs: 1000, factor: 2, jitter: 0 } },
    );
    const { taskId } = await userRef.delegate(worker.address, { name: 'f', description: 'f' });
    const [outcome] = await vt.until(userRef.collect([taskId], { timeoutMs: 60_000 }));
    expect(outcome).toMatchObject({ state: 'completed', result: 'done' });
    expect(runsAt).toEqual([0, 1000, 3000]);
  });

  it("waits out a provider's 429 (retryAfterMs) before the next run", async () => {
    const { runtime, userRef, vt } = await setup();
    const runsAt: number[] = [];
    const worker = await runtime.spawn(
      new (class extends Agent {
        override onTask() {
          runsAt.push(vt.now() - T0);
          if (runsAt.length === 1) throw new ProviderRateLimit(20_000);
          return 'done';
        }
      })(),
      { id: 'limited', retry: { initialDelayMs: 100, jitter: 0 } },
    );
    const { taskId } = await userRef.delegate(worker.address, { name: 'f', description: 'f' });
    await vt.until(userRef.collect([taskId], { timeoutMs: 60_000 }));
    expect(runsAt).toEqual([0, 20_000]);
  });

  it('a TaskFailedError stays final: one run, answered with ERROR at once', async () => {
    const { runtime, userRef, vt } = await setup();
    let runs = 0;
    const worker = await runtime.spawn(
      new (class extends Agent {
        override onTask(): never {
          runs += 1;
          throw new TaskFailedError('BadRequest', 'no');
        }
      })(),
      { id: 'final' },
    );
    const { taskId } = await userRef.delegate(worker.address, { name: 'f', description: 'f' });
    const [outcome] = await vt.until(userRef.collect([taskId], { timeoutMs: 60_000 }));
    expect(outcome).toMatchObject({ state: 'failed', error: { type: 'BadRequest' } });
    expect(runs).toBe(1);
    expect(vt.now()).toBe(T0);
  });

  it('while a message waits out its backoff, its thread waits too, and other threads go on', async () => {
    const { runtime, userRef, vt } = await setup();
    const ran: string[] = [];
    let failedOnce = false;
    const agent = await runtime.spawn(
      new (class extends Agent {
        override onMessage(message: Message) {
          const body = message.body_text ?? '';
          if (body === 'A' && !failedOnce) {
            failedOnce = true;
            ran.push('A failed');
            throw new Error('transient');
          }
          ran.push(`${body}@${vt.now() - T0}`);
        }
      })(),
      { id: 'ordered', retry: { initialDelayMs: 5000, jitter: 0 } },
    );
    const a = await userRef.send(agent.address, 'first', 'A');
    await vt.advance(0);
    await userRef.send(agent.address, 'Re: first', 'B', { inReplyTo: a.message_id }); // same thread
    await userRef.send(agent.address, 'other', 'C'); // another thread
    await vt.advance(4999);
    expect(ran).toEqual(['A failed', 'C@0']);
    await vt.advance(1);
    expect(ran).toEqual(['A failed', 'C@0', 'A@5000', 'B@5000']);
  });
});

describe('handlers see their task', () => {
  it('a retried task is ACKed once', async () => {
    const { runtime, userRef, vt } = await setup();
    let runs = 0;
    const worker = await runtime.spawn(
      new (class extends Agent {
        override onTask(task: Task) {
          runs += 1;
          if (runs === 1) throw new Error('once');
          return task.name;
        }
      })(),
      { id: 'acker', retry: { initialDelayMs: 10, jitter: 0 } },
    );
    const { taskId, threadId } = await userRef.delegate(worker.address, { name: 'n', description: 'd' });
    await vt.until(userRef.collect([taskId], { timeoutMs: 60_000 }));
    const subjects = (await userRef.thread(threadId)).messages.map((m) => m.subject.split(':')[0]);
    expect(subjects).toEqual(['TASK', 'ACK', 'RESULT']);
  });
});
