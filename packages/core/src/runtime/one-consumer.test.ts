import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../agents/agent.js';
import { ConflictError } from '../errors.js';
import { embeddedRuntime } from '../testing/index.js';
import type { Runtime } from './runtime.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

/** Counts the runs of each task, across instances. */
function counting(runs: Map<string, number>) {
  return new (class Worker extends Agent {
    override onTask(task: { id: string }) {
      runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
      return 'done';
    }
  })();
}

describe('one identity, one consumer in a runtime', () => {
  it('spawning an id that is running is a ConflictError, and each task runs once', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const runs = new Map<string, number>();
    const first = await runtime.spawn(counting(runs), { id: 'worker' });
    await expect(runtime.spawn(counting(runs), { id: 'worker' })).rejects.toBeInstanceOf(ConflictError);
    await expect(runtime.spawn(counting(runs), { mailbox: first.mailbox })).rejects.toThrow(/already consumed/);
    const { taskId } = await userRef.delegate(first.address, { name: 'job', description: 'once' });
    await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(runs.get(taskId)).toBe(1);
    expect(runtime.agents.filter((a) => a.address === first.address)).toHaveLength(1);
  });

  it('of two spawns of one id at the same time, one runs and the other is refused', async () => {
    const { runtime } = await embeddedRuntime(runtimes);
    const runs = new Map<string, number>();
    const results = await Promise.allSettled([
      runtime.spawn(counting(runs), { id: 'twin' }),
      runtime.spawn(counting(runs), { id: 'twin' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(results.find((r) => r.status === 'rejected')?.reason).toBeInstanceOf(ConflictError);
  });

  it('once the agent stopped, its id can be spawned again', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const runs = new Map<string, number>();
    const first = await runtime.spawn(counting(runs), { id: 'worker' });
    await first.stop();
    const again = await runtime.spawn(counting(runs), { id: 'worker' });
    const { taskId } = await userRef.delegate(again.address, { name: 'job', description: 'after restart' });
    await expect(userRef.collect([taskId], { timeoutMs: 5000 })).resolves.toMatchObject([{ state: 'completed' }]);
  });
});
