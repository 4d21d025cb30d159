import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type Task } from '../agents/agent.js';
import { MemoryPostOffice } from '../post-office/memory/memory-post-office.js';
import { createRuntime, type Runtime } from '../runtime/runtime.js';
import { TaskTimeoutError } from '../tasks/task-timeout-error.js';
import { VirtualTime } from '../testing/index.js';
import { hubAndSpoke } from './patterns.js';
import { RouterAgent } from './router-agent.js';
import { createRouter, fanOut } from './routing.js';

const runtimes: { runtime: Runtime; vt: VirtualTime | undefined }[] = [];
afterEach(async () => {
  for (const { runtime, vt } of runtimes.splice(0)) {
    const stopping = runtime.stop();
    if (vt) await vt.advance(1); // the stop deadline of silent handlers, in virtual time
    await stopping;
  }
});

/** Answers with its own id; `silent` ones never answer. */
class Worker extends Agent {
  readonly seen: string[] = [];
  constructor(
    readonly id: string,
    readonly silent = false,
  ) {
    super();
  }
  override onTask(task: Task) {
    this.seen.push(task.name);
    return this.silent ? new Promise(() => {}) : { by: this.id, name: task.name };
  }
}

async function setup(
  ids: string[],
  silent: string[] = [],
  options: { vt?: VirtualTime; limits?: { hourly: number; daily: number } } = {},
) {
  const postOffice = new MemoryPostOffice({
    ...(options.vt ? { clock: options.vt.scheduler } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const runtime = createRuntime({
    postOffice,
    stopTimeoutMs: 1,
    ...(options.vt ? { scheduler: options.vt.scheduler } : {}),
  });
  runtimes.push({ runtime, vt: options.vt });
  const workers = new Map<string, Worker>();
  for (const id of ids) {
    const w = new Worker(id, silent.includes(id));
    workers.set(id, w);
    await runtime.spawn(w, { id });
  }
  const hub = await runtime.spawn(new (class Hub extends Agent {})(), { id: 'hub' });
  const addr = (id: string) => `${id}@${postOffice.domain}`;
  return { runtime, postOffice, workers, hub, addr, routees: ids.map(addr) };
}

describe('routers', () => {
  it('broadcast sends to every routee and gathers every result', async () => {
    const { hub, routees } = await setup(['wk1', 'wk2', 'wk3']);
    const result = await createRouter({ routees, strategy: 'broadcast' }).route(hub, { name: 'all', description: 'x' });
    expect(result.strategy === 'broadcast' && result.outcomes.map((o) => o.state === 'completed' && o.result)).toEqual([
      { by: 'wk1', name: 'all' },
      { by: 'wk2', name: 'all' },
      { by: 'wk3', name: 'all' },
    ]);
  });

  it('round-robin takes routees in turn', async () => {
    const { hub, routees, workers } = await setup(['wk1', 'wk2', 'wk3']);
    const router = createRouter({ routees, strategy: 'round-robin' });
    for (let i = 0; i < 6; i++) await router.route(hub, { name: `t${i}`, description: 'x' });
    expect([...workers.values()].map((w) => w.seen)).toEqual([
      ['t0', 't3'],
      ['t1', 't4'],
      ['t2', 't5'],
    ]);
  });

  it('random picks with the random source it is given', async () => {
    const { hub, routees } = await setup(['wk1', 'wk2', 'wk3']);
    const draws = [0.99, 0.0, 0.5];
    const router = createRouter({ routees, strategy: 'random', random: () => draws.shift() ?? 0 });
    expect([0, 1, 2].map(() => router.pick(hub, { name: 'x', description: 'x' }))).toEqual([
      routees[2],
      routees[0],
      routees[1],
    ]);
  });

  it('consistent-hash sends the same key to the same routee, and spreads keys', async () => {
    const { hub, routees } = await setup(['wk1', 'wk2', 'wk3']);
    const router = createRouter({
      routees,
      strategy: 'consistent-hash',
      key: (t) => String((t.input as { user: string }).user),
    });
    const pickFor = (user: string) => router.pick(hub, { name: 'x', description: 'x', input: { user } });
    expect(pickFor('ada')).toBe(pickFor('ada'));
    const used = new Set(Array.from({ length: 60 }, (_, i) => pickFor(`user-${i}`)));
    expect(used.size).toBe(3);
    // A ring with one more routee moves only part of the keys.
    const bigger = createRouter({
      routees: [...routees, 'wk4@agents.localhost'],
      strategy: 'consistent-hash',
      key: (t) => String((t.input as { user: string }).user),
    });
    const moved = Array.from({ length: 200 }, (_, i) => `user-${i}`).filter(
      (u) => bigger.pick(hub, { name: 'x', description: 'x', input: { user: u } }) !== pickFor(u),
    );
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.length).toBeLessThan(80); // about a quarter is ideal
  });

  it('smallest-mailbox avoids the routee with the most unanswered tasks', async () => {
    const { hub, routees } = await setup(['busy', 'free'], ['busy']);
    await hub.delegate(routees[0] as string, { name: 'stuck', description: 'x' });
    const router = createRouter({ routees, strategy: 'smallest-mailbox' });
    expect(router.pick(hub, { name: 'x', description: 'x' })).toBe(routees[1]);
    const result = await router.route(hub, { name: 'next', description: 'x' });
    expect(result.strategy !== 'broadcast' && result.routee).toBe(routees[1]);
  });

  it('scatter-gather takes the first answer and leaves the later ones', async () => {
    const { hub, routees } = await setup(['slow', 'fast'], ['slow']);
    const result = await createRouter({ routees, strategy: 'scatter-gather', timeoutMs: 5000 }).route(hub, {
      name: 'q',
      description: 'x',
    });
    expect(result.strategy !== 'broadcast' && [result.routee, result.outcome.state]).toEqual([routees[1], 'completed']);
  });

  it('scatter-gather fails with TaskTimeoutError when nobody answers by the deadline (virtual time)', async () => {
    const vt = new VirtualTime(Date.UTC(2026, 0, 1));
    const { hub, routees } = await setup(['ag1', 'ag2'], ['ag1', 'ag2'], { vt });
    let settled: unknown;
    createRouter({ routees, strategy: 'scatter-gather', timeoutMs: 2000 })
      .route(hub, { name: 'q', description: 'x' })
      .catch((e: unknown) => (settled = e));
    await vt.advance(1999);
    expect(settled).toBeUndefined();
    await vt.advance(1);
    expect(settled).toBeInstanceOf(TaskTimeoutError);
  });

  it('scatter-gather under a quota: the first answer wins, and the TASKs still queued are never sent', async () => {
    const vt = new VirtualTime(Date.UTC(2026, 0, 1, 9, 15, 0));
    const { runtime, routees, workers, postOffice } = await setup(['sg1', 'sg2', 'sg3', 'sg4'], [], { vt });
    await postOffice.register({ agent_id: 'asker' });
    postOffice.setLimits(`asker@${postOffice.domain}`, { hourly: 2 });
    const asker = await runtime.spawn(new (class Asker extends Agent {})(), { id: 'asker', sendScheduler: true });
    const router = createRouter({ routees, strategy: 'scatter-gather', timeoutMs: 60_000 });
    const result = await vt.until(router.route(asker, { name: 'q', description: 'x' }));
    expect(result.strategy !== 'broadcast' && result.outcome.state).toBe('completed');
    expect(asker.sendScheduler?.queued()).toBe(0);
    await vt.advance(2 * 3_600_000);
    expect([...workers.values()].filter((w) => w.seen.length > 0)).toHaveLength(2);
  });

  it('scatter-gather that could send nothing by its deadline says so (TaskTimeoutError, unsent)', async () => {
    const vt = new VirtualTime(Date.UTC(2026, 0, 1, 9, 15, 0));
    const { runtime, routees, postOffice } = await setup(['un1', 'un2'], [], { vt });
    await postOffice.register({ agent_id: 'asker' });
    postOffice.setLimits(`asker@${postOffice.domain}`, { hourly: 1 });
    const asker = await runtime.spawn(new (class Asker extends Agent {})(), { id: 'asker', sendScheduler: true });
    await asker.send(routees[0] as string, 'hello', 'uses the hour'); // the quota of this hour is gone
    const router = createRouter({ routees, strategy: 'scatter-gather', timeoutMs: 60_000 });
    const error: unknown = await vt
      .until(router.route(asker, { name: 'q', description: 'x' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect((error as TaskTimeoutError).unsent).toHaveLength(2);
    expect((error as TaskTimeoutError).message).toMatch(/2 never sent/);
  });

  it('tail-chopping tries the next routee after the interval, and the first answer wins (virtual time)', async () => {
    const vt = new VirtualTime(Date.UTC(2026, 0, 1));
    const { hub, routees, workers } = await setup(['first', 'second', 'third'], ['first'], { vt });
    let result: unknown;
    void createRouter({ routees, strategy: 'tail-chopping', intervalMs: 500, timeoutMs: 10_000 })
      .route(hub, { name: 'q', description: 'x' })
      .then((r) => (result = r));
    await vt.advance(499);
    expect(workers.get('second')?.seen).toEqual([]);
    await vt.advance(1);
    expect(workers.get('second')?.seen).toEqual(['q']);
    await vt.advance(2000);
    expect(result).toMatchObject({ strategy: 'tail-chopping', routee: routees[1], outcome: { state: 'completed' } });
    expect(workers.get('third')?.seen).toEqual([]);
  });

  it('a RouterAgent routes the tasks it receives and answers the requester', async () => {
    const { runtime, routees } = await setup(['wk1', 'wk2']);
    const router = await runtime.spawn(new RouterAgent({ routees, strategy: 'round-robin' }), { id: 'router' });
    const user = await runtime.spawn(new (class User extends Agent {})(), { id: 'user' });
    const a = await user.delegate(router.address, { name: 'one', description: 'x' });
    const b = await user.delegate(router.address, { name: 'two', description: 'x' });
    const outcomes = await user.collect([a.taskId, b.taskId], { timeoutMs: 5000 });
    expect(outcomes.map((o) => o.state === 'completed' && o.result)).toEqual([
      { by: 'wk1', name: 'one' },
      { by: 'wk2', name: 'two' },
    ]);
  });

  it('sends every routed task through the SendScheduler: over quota they wait for the next window', async () => {
    const vt = new VirtualTime(Date.UTC(2026, 0, 1, 10, 30));
    const { runtime, routees, workers, postOffice } = await setup(['wk1', 'wk2', 'wk3', 'wk4'], [], { vt });
    await postOffice.register({ agent_id: 'fan' });
    postOffice.setLimits(`fan@${postOffice.domain}`, { hourly: 2 });
    const fan = await runtime.spawn(new (class Fan extends Agent {})(), { id: 'fan', sendScheduler: true });
    let outcomes: unknown;
    void fanOut(fan, routees, { name: 'job', description: 'x' }, { timeoutMs: 2 * 3_600_000 }).then(
      (o) => (outcomes = o),
    );
    await vt.advance(1000);
    expect([...workers.values()].filter((w) => w.seen.length > 0)).toHaveLength(2);
    await vt.advance(30 * 60_000);
    expect([...workers.values()].filter((w) => w.seen.length > 0)).toHaveLength(4);
    await vt.advance(1000);
    expect(outcomes).toHaveLength(4);
  });
  it('fanOut: a deadline that passes while TASKs wait for quota withdraws them and keeps the answers that came', async () => {
    const vt = new VirtualTime(Date.UTC(2026, 0, 1, 9, 15, 0));
    const { runtime, routees, workers, postOffice } = await setup(['wk1', 'wk2', 'wk3', 'wk4', 'wk5'], [], { vt });
    await postOffice.register({ agent_id: 'fan' });
    postOffice.setLimits(`fan@${postOffice.domain}`, { hourly: 3 });
    const fan = await runtime.spawn(new (class Fan extends Agent {})(), { id: 'fan', sendScheduler: true });
    const done = fanOut(fan, routees, { name: 'job', description: 'x' }, { timeoutMs: 10 * 60_000 });
    const error: unknown = await vt.until(done).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskTimeoutError);
    const timeout = error as TaskTimeoutError;
    expect(timeout.outcomes.map((o) => o.state)).toEqual(['completed', 'completed', 'completed']);
    expect(timeout.unsent).toHaveLength(2);
    expect(timeout.missing).toEqual(timeout.unsent);
    expect(timeout.message).toMatch(/2 never sent/);
    expect(fan.sendScheduler?.queued()).toBe(0);
    await vt.advance(2 * 3_600_000); // the next windows come: nothing withdrawn goes out late
    expect([...workers.values()].filter((w) => w.seen.length > 0)).toHaveLength(3);
    expect((await postOffice.account(fan.address)).rate_limits.daily.used).toBe(3);
  });
  it('cancel() withdraws a TASK that waits for quota: it never goes out, and hubAndSpoke reports it canceled', async () => {
    const vt = new VirtualTime(Date.UTC(2026, 0, 1, 9, 15, 0));
    const { runtime, routees, workers, postOffice } = await setup(['wk1', 'wk2', 'wk3'], [], { vt });
    await postOffice.register({ agent_id: 'fan' });
    postOffice.setLimits(`fan@${postOffice.domain}`, { hourly: 2 });
    const fan = await runtime.spawn(new (class Fan extends Agent {})(), { id: 'fan', sendScheduler: true });
    const done = hubAndSpoke(
      fan,
      routees.map((to, i) => ({ to, task: { taskId: `job-${i + 1}`, name: 'job', description: 'x' } })),
      { timeoutMs: 2 * 3_600_000 },
    );
    await vt.advance(1000);
    expect(fan.sendScheduler?.queued()).toBe(1);
    expect(fan.tasks.get('job-3')).toBeUndefined(); // still waiting for the next window
    expect(await fan.cancel('job-3', 'not needed')).toBeUndefined();
    const outcomes = await vt.until(done);
    expect(outcomes.map((o) => [o.taskId, o.state])).toEqual([
      ['job-1', 'completed'],
      ['job-2', 'completed'],
      ['job-3', 'canceled'],
    ]);
    await vt.advance(2 * 3_600_000);
    expect(workers.get('wk3')?.seen).toEqual([]); // never sent, not even in the next window
    expect((await postOffice.account(fan.address)).rate_limits.daily.used).toBe(2);
    await expect(fan.cancel('job-3')).rejects.toThrow(/no sent task job-3/);
  });
  it('fanOut over more tasks than the agent keeps records of still collects every answer', async () => {
    const { runtime, routees } = await setup(Array.from({ length: 30 }, (_, i) => `many-${i}`));
    // The fan keeps 10 task records: answers that come early are evicted before the last one.
    const fan = await runtime.spawn(new (class Fan extends Agent {})(), { id: 'fan', maxTasks: 10 });
    const outcomes = await fanOut(fan, routees, { name: 'job', description: 'x' }, { timeoutMs: 10_000 });
    expect(outcomes).toHaveLength(30);
    expect(outcomes.every((o) => o.state === 'completed')).toBe(true);
    expect(fan.tasks.list({ role: 'sent' }).length).toBeLessThanOrEqual(10);
  });
});
