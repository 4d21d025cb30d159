// Fan-out under a quota: a coordinator delegates one task to 20 agents while its account may
// send only 12 mails an hour. The SendScheduler sends 12 now, queues 8, and sends those at the
// top of the next UTC hour. Time is virtual: two hours pass in well under a second.
import { Agent, createRuntime, fanOut, MemoryPostOffice, type Task, VirtualTime } from '@mailroom/core';

const vt = new VirtualTime(Date.UTC(2026, 0, 1, 9, 15, 0));
const postOffice = new MemoryPostOffice({ clock: vt.scheduler });
const runtime = createRuntime({ postOffice, scheduler: vt.scheduler });
const clock = () => new Date(vt.now()).toISOString().slice(11, 19);

class Worker extends Agent {
  override onTask(task: Task) {
    console.log(`${clock()}  ${task.message.to_addresses[0]?.split('@')[0]} got "${task.name}"`);
    return 'done';
  }
}
const workers: string[] = [];
for (let i = 1; i <= 20; i++) {
  const id = `worker-${String(i).padStart(2, '0')}`;
  workers.push((await runtime.spawn(new Worker(), { id })).address);
}

await postOffice.register({ agent_id: 'coordinator' });
postOffice.setLimits(`coordinator@${postOffice.domain}`, { hourly: 12, daily: 100 });
const coordinator = await runtime.spawn(new (class Coordinator extends Agent {})(), {
  id: 'coordinator',
  sendScheduler: true, // every send of the coordinator goes through a SendScheduler of its account
});

console.log(`${clock()}  coordinator: fanning "survey" out to ${workers.length} agents (quota: 12 sends per hour)`);
const done = fanOut(
  coordinator,
  workers,
  { name: 'survey', description: 'answer the survey' },
  { timeoutMs: 3 * 3_600_000 },
);
await vt.advance(1_000);
const account = await postOffice.account(coordinator.address);
console.log(
  `${clock()}  coordinator: ${account.rate_limits.hourly.used} sent, ${20 - account.rate_limits.hourly.used} queued for the next window`,
);
await vt.advance(3_600_000);
const outcomes = await done;
const sent = await postOffice.sent(coordinator.address, { limit: 100 });
const byHour = new Map<string, number>();
for (const m of sent.messages)
  byHour.set(m.created_at.slice(11, 16), (byHour.get(m.created_at.slice(11, 16)) ?? 0) + 1);
console.log(
  `${clock()}  coordinator: ${outcomes.filter((o) => o.state === 'completed').length} of 20 results collected`,
);
console.log(`schedule: ${[...byHour].map(([at, n]) => `${n} sent at ${at}`).join(', ')}`);
await runtime.stop();
