import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type Task } from '../agents/agent.js';
import type { Runtime } from '../runtime/runtime.js';
import { embeddedRuntime } from '../testing/index.js';
import { RouterAgent } from './router-agent.js';
import { createRouter } from './routing.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

/** Routees that hold every task until the gate opens, and say which routee took which task. */
async function gatedRoutees(runtime: Runtime, ids: string[]) {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const took = new Map<string, string[]>();
  const routees: string[] = [];
  for (const id of ids) {
    took.set(id, []);
    const ref = await runtime.spawn(
      new (class extends Agent {
        override async onTask(task: Task) {
          took.get(id)?.push(task.name);
          await gate;
          return id;
        }
      })(),
      { id },
    );
    routees.push(ref.address);
  }
  const started = () => [...took.values()].flat().length;
  return { routees, took, open, started };
}

async function until(check: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns && !check(); i++) await new Promise<void>((r) => setImmediate(r));
  if (!check()) throw new Error('the condition never held');
}

describe('routers that use their routees', () => {
  it('a RouterAgent routes its tasks concurrently: three routees work at once', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const { routees, took, open, started } = await gatedRoutees(runtime, ['rr-1', 'rr-2', 'rr-3']);
    const router = await runtime.spawn(new RouterAgent({ routees, strategy: 'round-robin' }), { id: 'router' });
    const jobs = await Promise.all(
      ['a', 'b', 'c'].map((name) => userRef.delegate(router.address, { name, description: 'x' })),
    );
    // All three are with a routee while none has answered.
    await until(() => started() === 3);
    expect([...took.values()].map((names) => names.length)).toEqual([1, 1, 1]);
    open();
    const outcomes = await userRef.collect(
      jobs.map((j) => j.taskId),
      { timeoutMs: 5000 },
    );
    expect(outcomes.map((o) => o.state)).toEqual(['completed', 'completed', 'completed']);
  });

  it('smallest-mailbox counts a TASK from the moment it is queued: six concurrent routes spread 2-2-2', async () => {
    const { runtime } = await embeddedRuntime(runtimes);
    const { routees, took, open, started } = await gatedRoutees(runtime, ['sm-1', 'sm-2', 'sm-3']);
    // Through a SendScheduler: the TASKs wait in its queue (stagger) before they go out.
    const hub = await runtime.spawn(new (class Hub extends Agent {})(), { id: 'hub', sendScheduler: true });
    const router = createRouter({ routees, strategy: 'smallest-mailbox', timeoutMs: 5000 });
    const routes = Array.from({ length: 6 }, (_, i) => router.route(hub, { name: `t${i}`, description: 'x' }));
    await until(() => started() === 6);
    expect([...took.values()].map((names) => names.length)).toEqual([2, 2, 2]);
    open();
    await Promise.all(routes);
    expect(hub.tasks.openTo(routees[0] as string)).toBe(0);
  });

  it('smallest-mailbox through a RouterAgent spreads concurrent requests too', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const { routees, took, open, started } = await gatedRoutees(runtime, ['ma-1', 'ma-2', 'ma-3']);
    const router = await runtime.spawn(new RouterAgent({ routees, strategy: 'smallest-mailbox' }), { id: 'router' });
    const jobs = await Promise.all(
      Array.from({ length: 6 }, (_, i) => userRef.delegate(router.address, { name: `j${i}`, description: 'x' })),
    );
    await until(() => started() === 6);
    expect([...took.values()].map((names) => names.length)).toEqual([2, 2, 2]);
    open();
    await userRef.collect(
      jobs.map((j) => j.taskId),
      { timeoutMs: 5000 },
    );
  });

  it("smallest-mailbox adds a routee's unread mail where the post office can tell", async () => {
    const { runtime, userRef, postOffice } = await embeddedRuntime(runtimes);
    const { routees, open } = await gatedRoutees(runtime, ['un-1', 'un-2']);
    open();
    // u1 has a backlog the router did not send (its own inbox says so).
    const backlog = (await postOffice.register({ agent_id: 'backlog' })).email_address;
    await postOffice.register({ agent_id: 'stopped-one' });
    const idle = `stopped-one@${postOffice.domain}`;
    for (let i = 0; i < 3; i++) await postOffice.send(backlog, { to: [idle], subject: 'old', body_text: 'x' });
    const router = createRouter({
      routees: [idle, ...routees],
      strategy: 'smallest-mailbox',
      unread: async (r) => (await postOffice.inbox(r, { unread_only: true, limit: 1 })).unread_count,
    });
    const result = await router.route(userRef, { name: 'q', description: 'x' });
    expect(result.strategy !== 'broadcast' && result.routee).toBe(routees[0]);
  });
});
