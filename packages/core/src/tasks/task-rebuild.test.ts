import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type Task } from '../agents/agent.js';
import { MemoryPostOffice } from '../post-office/memory/memory-post-office.js';
import { createRuntime, type Runtime } from '../runtime/runtime.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

class Echo extends Agent {
  override onTask(task: Task) {
    return task.input;
  }
}

/** A requester that sent tasks, was stopped (its memory gone), and is spawned again on the same office. */
async function restarted() {
  const postOffice = new MemoryPostOffice();
  const before = createRuntime({ postOffice });
  runtimes.push(before);
  const worker = await before.spawn(new Echo(), { id: 'worker' });
  const boss = await before.spawn(new (class Boss extends Agent {})(), { id: 'boss' });
  const sent = await Promise.all(
    [1, 2, 3].map((n) => boss.delegate(worker.address, { name: 'echo', description: 'e', input: n })),
  );
  await boss.collect(
    sent.map((s) => s.taskId),
    { timeoutMs: 5000 },
  );
  // Once the answers were handled and marked read, only the threads keep them.
  const unread = async () => (await postOffice.inbox(boss.address, { unread_only: true })).messages.length;
  for (let i = 0; i < 10_000 && (await unread()) > 0; i++) await new Promise<void>((r) => setImmediate(r));
  expect(await unread()).toBe(0);
  await boss.stop();
  const after = createRuntime({ postOffice });
  runtimes.push(after);
  const again = await after.spawn(new (class Boss extends Agent {})(), { id: 'boss' });
  return { again, taskIds: sent.map((s) => s.taskId) };
}

describe('task state rebuilt from the mail', () => {
  it('collect of tasks sent before a restart resolves from the sent TASKs and their threads', async () => {
    const { again, taskIds } = await restarted();
    expect(again.tasks.get(taskIds[0] as string)).toBeUndefined();
    const outcomes = await again.collect(taskIds, { timeoutMs: 5000 });
    expect(outcomes.map((o) => (o.state === 'completed' ? o.result : o.state))).toEqual([1, 2, 3]);
    expect(again.tasks.get(taskIds[0] as string)).toMatchObject({ role: 'sent', name: 'echo', state: 'completed' });
  });
});
