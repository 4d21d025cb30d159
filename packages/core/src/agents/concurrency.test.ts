import { afterEach, describe, expect, it } from 'vitest';
import { LocalMailbox } from '../mailbox/local-mailbox.js';
import type { Runtime } from '../runtime/runtime.js';
import { embeddedRuntime } from '../testing/index.js';
import type { InboxPage, Message } from '../wire/model.js';
import { Agent, type AgentContext, type Task } from './agent.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

/** A gate handlers wait at until the test opens it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

/** Resolves once `check` holds, re-checking after each turn of the event loop (bounded). */
async function until(check: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns && !check(); i++) await new Promise<void>((r) => setImmediate(r));
  if (!check()) throw new Error('the condition never held');
}

/** Counts handlers running at once, overall and per key, and the order each key's messages ran in. */
class Watcher extends Agent {
  running = 0;
  most = 0;
  readonly runningPer = new Map<string, number>();
  overlapWithinKey = false;
  readonly order = new Map<string, string[]>();
  constructor(
    private readonly keyOf: (m: Message) => string,
    private readonly hold: (m: Message) => Promise<void>,
  ) {
    super();
  }
  override async onMessage(message: Message) {
    const key = this.keyOf(message);
    this.running += 1;
    this.most = Math.max(this.most, this.running);
    const now = (this.runningPer.get(key) ?? 0) + 1;
    this.runningPer.set(key, now);
    if (now > 1) this.overlapWithinKey = true;
    this.order.set(key, [...(this.order.get(key) ?? []), message.body_text ?? '']);
    await this.hold(message);
    this.runningPer.set(key, (this.runningPer.get(key) ?? 1) - 1);
    this.running -= 1;
  }
}

/** Yields a few turns (a different number per message), so that handlers end out of order. */
const jiggle = async (m: Message) => {
  const n = Number(m.body_text?.split('-').pop() ?? 0) % 4;
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

describe('concurrency inside an agent', () => {
  it('runs different threads side by side, up to `concurrency` and no more', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const g = gate();
    const agent = new Watcher(
      (m) => m.thread_id,
      () => g.opened,
    );
    const ref = await runtime.spawn(agent, { id: 'parallel', concurrency: 4 });
    for (let i = 0; i < 10; i++) await userRef.send(ref.address, `job ${i}`, `t${i}-0`);
    await until(() => agent.running === 4);
    // Nothing more starts while four run.
    for (let i = 0; i < 50; i++) await new Promise<void>((r) => setImmediate(r));
    expect(agent.running).toBe(4);
    g.open();
    await until(() => [...agent.order.values()].length === 10 && agent.running === 0);
    expect(agent.most).toBe(4);
  });

  it('never runs two messages of one thread at once, and runs them in arrival order', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const agent = new Watcher((m) => m.thread_id, jiggle);
    const ref = await runtime.spawn(agent, { id: 'ordered', concurrency: 8 });
    const sent = new Map<string, string[]>();
    // Three threads, eight messages each, interleaved.
    const last = new Map<number, string>();
    for (let i = 0; i < 8; i++) {
      for (let t = 0; t < 3; t++) {
        const body = `thread${t}-${i}`;
        const inReplyTo = last.get(t);
        const r = await userRef.send(ref.address, `step ${i}`, body, inReplyTo ? { inReplyTo } : {});
        last.set(t, r.message_id);
        sent.set(r.thread_id, [...(sent.get(r.thread_id) ?? []), body]);
      }
    }
    await until(() => [...agent.order.values()].flat().length === 24 && agent.running === 0);
    expect(agent.overlapWithinKey).toBe(false);
    expect(new Map([...agent.order])).toEqual(sent);
    expect(agent.most).toBeGreaterThan(1); // the threads did run side by side
  });

  it('orders by the key the agent names (`orderingKey`), across threads', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const customer = (m: Message) => m.subject.split(' ')[0] as string;
    const agent = new Watcher(customer, jiggle);
    const ref = await runtime.spawn(agent, { id: 'by-customer', orderingKey: customer });
    const sent = new Map<string, string[]>();
    for (let i = 0; i < 12; i++) {
      const who = `customer${i % 2}`;
      await userRef.send(ref.address, `${who} order`, `${who}-${i}`); // each in a new thread
      sent.set(who, [...(sent.get(who) ?? []), `${who}-${i}`]);
    }
    await until(() => [...agent.order.values()].flat().length === 12 && agent.running === 0);
    expect(agent.overlapWithinKey).toBe(false);
    expect(new Map([...agent.order])).toEqual(sent);
  });

  it('keeps no more in memory than the limit plus a bounded prefetch', async () => {
    const { runtime, userRef, postOffice } = await embeddedRuntime(runtimes);
    const g = gate();
    const agent = new Watcher(
      (m) => m.thread_id,
      () => g.opened,
    );
    // A mailbox that counts what the agent was handed and has not marked read yet.
    const inner = new LocalMailbox(postOffice, (await postOffice.register({ agent_id: 'bounded' })).email_address);
    const held = new Set<string>();
    let mostHeld = 0;
    const counting = Object.assign(Object.create(inner) as LocalMailbox, {
      inbox: async (...args: Parameters<LocalMailbox['inbox']>): Promise<InboxPage> => {
        const page = await inner.inbox(...args);
        for (const m of page.messages) held.add(m.message_id);
        mostHeld = Math.max(mostHeld, held.size);
        return page;
      },
      markRead: async (ids: readonly string[]) => {
        for (const id of ids) held.delete(id);
        return inner.markRead(ids);
      },
    });
    const ref = await runtime.spawn(agent, {
      mailbox: counting,
      concurrency: 3,
      inbox: { maxInFlight: 10, limit: 5 },
    });
    for (let i = 0; i < 60; i++) await userRef.send(ref.address, `job ${i}`, `t${i}-0`);
    await until(() => agent.running === 3);
    for (let i = 0; i < 50; i++) await new Promise<void>((r) => setImmediate(r));
    expect(mostHeld).toBeLessThanOrEqual(10 + 5);
    g.open();
    await until(() => [...agent.order.values()].length === 60 && held.size === 0);
    expect(agent.most).toBe(3);
  });

  it('stops gracefully under concurrency: running handlers finish and are marked read, waiting mail stays unread', async () => {
    const { runtime, userRef, postOffice } = await embeddedRuntime(runtimes);
    const g = gate();
    const agent = new Watcher(
      (m) => m.thread_id,
      () => g.opened,
    );
    const ref = await runtime.spawn(agent, { id: 'stopping', concurrency: 2 });
    for (let i = 0; i < 6; i++) await userRef.send(ref.address, `job ${i}`, `t${i}-0`);
    await until(() => agent.running === 2);
    const stopped = ref.stop();
    g.open();
    await stopped;
    expect([...agent.order.keys()]).toHaveLength(2);
    const unread = await postOffice.inbox(ref.address, { unread_only: true });
    expect(unread.messages.map((m) => m.body_text).sort()).toEqual(['t2-0', 't3-0', 't4-0', 't5-0']);
  });

  it('an orchestrator waiting on collect takes its other requests meanwhile', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const g = gate();
    let workerTasks = 0;
    const worker = await runtime.spawn(
      new (class extends Agent {
        override async onTask(task: Task) {
          workerTasks += 1;
          await g.opened;
          return `done ${String(task.input)}`;
        }
      })(),
      { id: 'worker' },
    );
    const orchestrator = await runtime.spawn(
      new (class extends Agent {
        override async onTask(task: Task, ctx: AgentContext) {
          const { taskId } = await ctx.delegate(worker.address, { name: 'part', description: 'p', input: task.input });
          const [outcome] = await ctx.collect([taskId], { timeoutMs: 10_000 });
          return outcome?.state === 'completed' ? outcome.result : outcome;
        }
      })(),
      { id: 'orchestrator' },
    );
    const jobs = await Promise.all(
      [1, 2, 3].map((i) => userRef.delegate(orchestrator.address, { name: 'job', description: 'j', input: i })),
    );
    // All three requests reached the worker while the first still waits for its answer.
    await until(() => workerTasks === 3);
    g.open();
    const outcomes = await userRef.collect(
      jobs.map((j) => j.taskId),
      { timeoutMs: 10_000 },
    );
    expect(outcomes.map((o) => (o.state === 'completed' ? o.result : o.state))).toEqual(['done 1', 'done 2', 'done 3']);
  });

  it('answers to its own tasks pass the work waiting, so a busy orchestrator never starves itself', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const worker = await runtime.spawn(
      new (class extends Agent {
        override onTask(task: Task) {
          return task.input;
        }
      })(),
      { id: 'worker' },
    );
    // One at a time, and room for 40 messages: 30 requests wait while each workflow's ACK and
    // RESULT come in. Were the answers queued behind the requests, the room would fill up and the
    // orchestrator's own answers could no longer come in.
    const orchestrator = await runtime.spawn(
      new (class extends Agent {
        override async onTask(task: Task, ctx: AgentContext) {
          const { taskId } = await ctx.delegate(worker.address, { name: 'part', description: 'p', input: task.input });
          const [outcome] = await ctx.collect([taskId], { timeoutMs: 5_000 });
          return outcome?.state === 'completed' ? outcome.result : outcome;
        }
      })(),
      { id: 'orchestrator', concurrency: 1, inbox: { maxInFlight: 40 } },
    );
    const jobs = [];
    for (let i = 0; i < 30; i++)
      jobs.push(await userRef.delegate(orchestrator.address, { name: 'job', description: 'j', input: i }));
    const outcomes = await userRef.collect(
      jobs.map((j) => j.taskId),
      { timeoutMs: 20_000 },
    );
    expect(outcomes.map((o) => (o.state === 'completed' ? o.result : o.state))).toEqual(
      Array.from({ length: 30 }, (_, i) => i),
    );
  }, 30_000);
});
