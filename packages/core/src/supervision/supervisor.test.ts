import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type Task } from '../agents/agent.js';
import { MemoryPostOffice } from '../post-office/memory/memory-post-office.js';
import type { EscalationDecision } from '../protocol/decision.js';
import type { Escalation } from '../protocol/escalation.js';
import { createRuntime, type Runtime } from '../runtime/runtime.js';
import { Recorder, VirtualTime } from '../testing/index.js';
import type { Message } from '../wire/model.js';
import type { SupervisorOptions, UnansweredEscalation } from './supervision.js';

const T0 = Date.UTC(2026, 0, 1, 10, 0, 0);
const live: { runtime: Runtime; vt: VirtualTime }[] = [];
afterEach(async () => {
  for (const { runtime, vt } of live.splice(0)) {
    const stopping = runtime.stop();
    await vt.advance(1);
    await stopping;
  }
});

/** A worker whose instances are counted; it throws while `failures` says so. */
function workerKind(name: string, log: string[], failures: { left: number }) {
  let instances = 0;
  return {
    instances: () => instances,
    make: () => {
      instances += 1;
      const instance = instances;
      return new (class extends Agent {
        override onTask(task: Task) {
          log.push(`${name}#${instance}:${task.name}`);
          if (failures.left > 0) {
            failures.left -= 1;
            throw new Error(`${name} crashed`);
          }
          return `${name} did ${task.name}`;
        }
      })();
    },
  };
}

/** A level of an escalation chain: records what reached it and answers with `decision` (or nothing). */
class Level extends Agent {
  readonly seen: (Escalation & { errorType: string })[] = [];
  readonly at: number[] = [];
  constructor(
    private readonly decision?: EscalationDecision,
    private readonly now: () => number = () => 0,
  ) {
    super();
  }
  override onEscalation(e: Escalation & { errorType: string }) {
    this.seen.push(e);
    this.at.push(this.now());
    return this.decision;
  }
  override onMessage(_m: Message) {}
}

async function setup() {
  const vt = new VirtualTime(T0);
  const postOffice = new MemoryPostOffice({ clock: vt.scheduler });
  const runtime = createRuntime({ postOffice, scheduler: vt.scheduler, stopTimeoutMs: 1 });
  live.push({ runtime, vt });
  const user = new Recorder();
  const userRef = await runtime.spawn(user, { id: 'user' });
  const addr = (id: string) => `${id}@${postOffice.domain}`;
  const ask = (id: string, name: string) => userRef.delegate(addr(id), { name, description: name });
  return { vt, postOffice, runtime, user, userRef, addr, ask };
}

const base = (children: SupervisorOptions['children'], extra: Partial<SupervisorOptions> = {}): SupervisorOptions => ({
  id: 'boss',
  children,
  backoff: { minBackoffMs: 100, maxBackoffMs: 1000, randomFactor: 0 },
  ...extra,
});

describe('Supervisor', () => {
  it('one-for-one: restarts only the failed child, as a fresh instance, and its mail is handled again', async () => {
    const s = await setup();
    const log: string[] = [];
    const a = workerKind('a', log, { left: 1 });
    const b = workerKind('b', log, { left: 0 });
    await s.runtime.supervise(
      base([
        { id: 'w-a', make: a.make },
        { id: 'w-b', make: b.make },
      ]),
    );
    const job = await s.ask('w-a', 'job');
    await s.vt.advance(99);
    expect(a.instances()).toBe(1);
    await s.vt.advance(1);
    const [outcome] = await s.userRef.collect([job.taskId], { timeoutMs: 1000 });
    expect(outcome).toMatchObject({ state: 'completed', result: 'a did job' });
    expect(log).toEqual(['a#1:job', 'a#2:job']);
    expect([a.instances(), b.instances()]).toEqual([2, 1]);
  });

  it('a child whose plain-mail handler throws synchronously takes nothing more: its restart handles the page, each once', async () => {
    const s = await setup();
    const log: string[] = [];
    let instances = 0;
    await s.runtime.supervise(
      base([
        {
          id: 'w-sync',
          make: () => {
            instances += 1;
            const instance = instances;
            return new (class extends Agent {
              override onMessage(m: Message) {
                if (instance === 1 && m.body_text === 'm0') {
                  log.push(`#1:m0 failed`);
                  throw new Error('crashed');
                }
                log.push(`#${instance}:${m.body_text}`);
              }
            })();
          },
        },
      ]),
    );
    // Sent before the child polls: one page of five.
    for (let i = 0; i < 5; i++) await s.userRef.send(s.addr('w-sync'), 'work', `m${i}`);
    await s.vt.advance(1);
    expect(log).toEqual(['#1:m0 failed']);
    await s.vt.advance(1000);
    expect(log).toEqual(['#1:m0 failed', '#2:m0', '#2:m1', '#2:m2', '#2:m3', '#2:m4']);
    expect((await s.postOffice.inbox(s.addr('w-sync'), { unread_only: true })).unread_count).toBe(0);
  });

  it('all-for-one: restarts every child when one fails', async () => {
    const s = await setup();
    const log: string[] = [];
    const a = workerKind('a', log, { left: 1 });
    const b = workerKind('b', log, { left: 0 });
    await s.runtime.supervise(
      base(
        [
          { id: 'w-a', make: a.make },
          { id: 'w-b', make: b.make },
        ],
        { strategy: 'all-for-one' },
      ),
    );
    await s.ask('w-a', 'job');
    await s.vt.advance(100);
    expect([a.instances(), b.instances()]).toEqual([2, 2]);
  });

  it('rest-for-one: restarts the failed child and those started after it', async () => {
    const s = await setup();
    const log: string[] = [];
    const kinds = ['a', 'b', 'c'].map((n) => workerKind(n, log, { left: n === 'b' ? 1 : 0 }));
    await s.runtime.supervise(
      base(
        kinds.map((k, i) => ({ id: `w-${'abc'[i]}`, make: k.make })),
        { strategy: 'rest-for-one' },
      ),
    );
    await s.ask('w-b', 'job');
    await s.vt.advance(100);
    expect(kinds.map((k) => k.instances())).toEqual([1, 2, 2]);
  });

  it('honours the backoff: 100 ms, then 200 ms, then 400 ms', async () => {
    const s = await setup();
    const log: string[] = [];
    const a = workerKind('a', log, { left: 3 });
    await s.runtime.supervise(base([{ id: 'w-a', make: a.make, options: { maxAttempts: 9 } }], { maxRestarts: 5 }));
    await s.ask('w-a', 'job');
    const at: number[] = [];
    for (let t = 0; t < 1000; t += 10) {
      const before = a.instances();
      await s.vt.advance(10);
      if (a.instances() > before) at.push(s.vt.now() - T0);
    }
    expect(at).toEqual([100, 300, 700]);
  });

  it('a temporary child is not restarted', async () => {
    const s = await setup();
    const log: string[] = [];
    const a = workerKind('a', log, { left: 1 });
    const sup = await s.runtime.supervise(base([{ id: 'w-a', make: a.make, restart: 'temporary' }]));
    await s.ask('w-a', 'job');
    await s.vt.advance(5000);
    expect(a.instances()).toBe(1);
    expect(sup.child('w-a')).toBeUndefined();
    expect((await s.postOffice.inbox(s.addr('w-a'), { unread_only: true })).messages).toHaveLength(1);
  });

  it('restarts a permanent child that stopped normally, not a transient one; both after a failure', async () => {
    const s = await setup();
    const log: string[] = [];
    const p = workerKind('p', log, { left: 0 });
    const t = workerKind('t', log, { left: 1 });
    const sup = await s.runtime.supervise(
      base([
        { id: 'w-p', make: p.make, restart: 'permanent' },
        { id: 'w-t', make: t.make, restart: 'transient' },
      ]),
    );
    await sup.child('w-p')?.stop();
    await sup.child('w-t')?.stop();
    await s.vt.advance(1000);
    expect([p.instances(), t.instances()]).toEqual([2, 1]);
    const sup2 = await s.runtime.supervise(
      base([{ id: 'w-t2', make: t.make, restart: 'transient' }], { id: 'boss-two' }),
    );
    await s.ask('w-t2', 'job');
    await s.vt.advance(1000);
    expect(t.instances()).toBe(3);
    expect(sup2.child('w-t2')).toBeDefined();
  });

  it('past its intensity with no chain, emits on escalations$ and keeps the mail unread', async () => {
    const s = await setup();
    const log: string[] = [];
    const a = workerKind('a', log, { left: 99 });
    const sup = await s.runtime.supervise(
      base([{ id: 'w-a', make: a.make, options: { maxAttempts: 99 } }], { maxRestarts: 2, withinMs: 60_000 }),
    );
    const seen: UnansweredEscalation[] = [];
    sup.escalations$.subscribe((e) => seen.push(e));
    await s.ask('w-a', 'job');
    await s.vt.advance(5000);
    expect(a.instances()).toBe(3);
    expect(seen).toEqual([
      {
        supervisor: 'boss',
        child: 'w-a',
        error: { type: 'Error', message: 'a crashed' },
        levelsTried: 0,
        reason: 'intensity',
        history: [],
      },
    ]);
    expect((await s.postOffice.inbox(s.addr('w-a'), { unread_only: true })).messages).toHaveLength(1);
  });

  it('walks the chain: L0 does not answer within the ack timeout, L1 answers retry, and the task succeeds', async () => {
    const s = await setup();
    const log: string[] = [];
    const a = workerKind('a', log, { left: 2 });
    const l0 = new Level(undefined, () => s.vt.now());
    const l1 = new Level('retry', () => s.vt.now());
    await s.runtime.spawn(l0, { id: 'level-zero' });
    await s.runtime.spawn(l1, { id: 'level-one' });
    await s.runtime.supervise(
      base([{ id: 'w-a', make: a.make, options: { maxAttempts: 9 } }], {
        maxRestarts: 1,
        escalation: { chain: [s.addr('level-zero'), s.addr('level-one'), s.addr('user')], ackTimeoutMs: 5000 },
      }),
    );
    const job = await s.ask('w-a', 'job');
    await s.vt.advance(200);
    expect(l0.seen).toHaveLength(1);
    expect(l0.seen[0]).toMatchObject({ type: 'Error', message: 'a crashed', level: 0, errorType: 'Error' });
    expect(l0.seen[0]?.context).toMatchObject({ supervisor: 'boss', child: 'w-a', reason: 'intensity' });
    await s.vt.advance(5000);
    expect(l1.seen).toMatchObject([{ level: 1, from: 'L0' }]);
    expect((l1.at[0] as number) - (l0.at[0] as number)).toBe(5000); // the ack timeout, to the millisecond
    await s.vt.advance(100);
    const [outcome] = await s.userRef.collect([job.taskId], { timeoutMs: 1000 });
    expect(outcome).toMatchObject({ state: 'completed', result: 'a did job' });
    expect(a.instances()).toBe(2); // retry keeps the instance the chain decided on
  });

  for (const [decision, check] of [
    [
      'retry',
      async (s: Awaited<ReturnType<typeof setup>>, a: ReturnType<typeof workerKind>, taskId: string) => {
        await expect(s.vt.until(s.userRef.collect([taskId], { timeoutMs: 1000 }))).resolves.toMatchObject([
          { state: 'completed', result: 'a did job' },
        ]);
        expect(a.instances()).toBe(2); // the same instance runs the task again
      },
    ],
    [
      'restart',
      async (s: Awaited<ReturnType<typeof setup>>, a: ReturnType<typeof workerKind>, taskId: string) => {
        await expect(s.vt.until(s.userRef.collect([taskId], { timeoutMs: 1000 }))).resolves.toMatchObject([
          { state: 'completed' },
        ]);
        expect(a.instances()).toBe(3);
      },
    ],
    [
      'skip',
      async (s: Awaited<ReturnType<typeof setup>>, _a: ReturnType<typeof workerKind>, taskId: string) => {
        await expect(s.vt.until(s.userRef.collect([taskId], { timeoutMs: 1000 }))).resolves.toMatchObject([
          { state: 'failed', error: { type: 'Skipped' } },
        ]);
        expect((await s.postOffice.inbox(s.addr('w-a'), { unread_only: true })).messages).toHaveLength(0);
      },
    ],
    [
      'stop',
      async (
        s: Awaited<ReturnType<typeof setup>>,
        a: ReturnType<typeof workerKind>,
        _taskId: string,
        escalations: UnansweredEscalation[],
      ) => {
        await s.vt.advance(10_000); // past the ack timeout twice: a decided escalation goes no further
        expect(escalations).toEqual([]);
        expect(a.instances()).toBe(2);
        expect((await s.postOffice.inbox(s.addr('w-a'), { unread_only: true })).messages).toHaveLength(1);
      },
    ],
  ] as const) {
    for (const sendScheduler of [false, true]) {
      it(`carries out the decision "${decision}" ${sendScheduler ? 'with' : 'without'} a SendScheduler`, async () => {
        const s = await setup();
        const log: string[] = [];
        const a = workerKind('a', log, { left: 2 });
        await s.runtime.spawn(new Level(decision), { id: 'level-zero' });
        const sup = await s.runtime.supervise(
          base(
            [{ id: 'w-a', make: a.make, options: { maxAttempts: 9, ...(sendScheduler ? { sendScheduler } : {}) } }],
            {
              maxRestarts: 1,
              escalation: { chain: [s.addr('level-zero')], ackTimeoutMs: 5000 },
            },
          ),
        );
        const escalations: UnansweredEscalation[] = [];
        sup.escalations$.subscribe((e) => escalations.push(e));
        const job = await s.ask('w-a', 'job');
        await s.vt.advance(300);
        await check(s, a, job.taskId, escalations);
      });
    }
  }

  it('escalates at once an error that escalateWhen picks, and emits past the last level', async () => {
    const s = await setup();
    const log: string[] = [];
    const a = workerKind('a', log, { left: 1 });
    const silent = new Level();
    await s.runtime.spawn(silent, { id: 'level-zero' });
    const sup = await s.runtime.supervise(
      base([{ id: 'w-a', make: a.make }], {
        escalateWhen: (e) => e instanceof Error && e.message.includes('crashed'),
        escalation: { chain: [s.addr('level-zero')], ackTimeoutMs: 1000 },
      }),
    );
    const seen: UnansweredEscalation[] = [];
    sup.escalations$.subscribe((e) => seen.push(e));
    await s.ask('w-a', 'job');
    await s.vt.advance(10);
    expect(silent.seen).toMatchObject([{ level: 0 }]);
    expect(a.instances()).toBe(1);
    await s.vt.advance(1000);
    expect(seen).toMatchObject([{ child: 'w-a', levelsTried: 1, reason: 'escalateWhen' }]);
  });

  it('nests: a child supervisor past its intensity is restarted by its parent, children fresh', async () => {
    const s = await setup();
    const log: string[] = [];
    const a = workerKind('a', log, { left: 2 });
    const parent = await s.runtime.supervise(
      base([
        {
          id: 'team',
          supervisor: base([{ id: 'w-a', make: a.make, options: { maxAttempts: 9 } }], { id: 'lead', maxRestarts: 1 }),
        },
      ]),
    );
    const job = await s.ask('w-a', 'job');
    await s.vt.advance(1000);
    const [outcome] = await s.userRef.collect([job.taskId], { timeoutMs: 1000 });
    expect(outcome).toMatchObject({ state: 'completed' });
    expect(a.instances()).toBe(3);
    expect(parent.nested('team')?.child('w-a')).toBeDefined();
  });

  it('loses no mail across restarts: every task of a flaky child completes once', async () => {
    const s = await setup();
    const log: string[] = [];
    const a = workerKind('a', log, { left: 3 });
    await s.runtime.supervise(base([{ id: 'w-a', make: a.make, options: { maxAttempts: 9 } }], { maxRestarts: 10 }));
    const jobs = [];
    for (let i = 0; i < 10; i++) jobs.push(await s.ask('w-a', `t${i}`));
    await s.vt.advance(5000);
    const outcomes = await s.userRef.collect(
      jobs.map((j) => j.taskId),
      { timeoutMs: 1000 },
    );
    expect(outcomes.every((o) => o.state === 'completed')).toBe(true);
    const results = (await s.postOffice.inbox(s.addr('user'), { limit: 100 })).messages.filter((m) =>
      m.subject.startsWith('RESULT:'),
    );
    expect(results).toHaveLength(10);
  });
});
