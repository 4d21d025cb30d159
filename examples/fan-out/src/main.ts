// Fan-out under a quota: a coordinator delegates one task to 20 agents while its account may send
// only 12 mails an hour. Its SendScheduler sends 12 now, queues 8, and sends those at the top of
// the next UTC hour. On the embedded office time is virtual (two hours pass in well under a
// second); on a server (--server URL --admin-key KEY) the quota is the server's, time is real, and
// --deadline-ms bounds the wait (1 min by default there): what could not be sent by then is
// withdrawn, never sent late.
import { Agent, createRuntime, fanOut, MemoryPostOffice, type Task, TaskTimeoutError } from '@mailroom/core';
import { VirtualTime } from '@mailroom/core/testing';
import { exampleArgs, whenInWords } from '@mailroom/example-support';
import { registeringMailboxFactory } from '@mailroom/http';
import { first } from 'rxjs';

const args = exampleArgs(process.argv, ['deadline-ms']);
const { id, flag } = args;
// The embedded post office runs on virtual time from 09:15 UTC, so that the hour of quota passes at
// once; a mailroom-server (--server URL --admin-key KEY) runs on the wall clock.
const vt = new VirtualTime(Date.UTC(2026, 0, 1, 9, 15, 0));
const postOffice = new MemoryPostOffice({ clock: vt.scheduler });
const runtime = args.server
  ? createRuntime({ mailboxFactory: registeringMailboxFactory(args.server) })
  : createRuntime({ postOffice, scheduler: vt.scheduler });
const where = args.server ? args.where : 'the embedded post office, on virtual time';
const now = () => (args.server ? Date.now() : vt.now());
/** Awaits `work`; on virtual time, runs the clock forward until it settles. */
const run = <T>(work: Promise<T>) => (args.server ? work : vt.until(work));
// Demo-sized: on a real clock the next window may be an hour away; wait a minute, not three hours.
const deadlineMs = Number(flag('deadline-ms') ?? (args.server ? 60_000 : 3 * 3_600_000));
const say = (line: string) => console.log(`${new Date(now()).toISOString().slice(11, 19)}  ${line}`);

class Worker extends Agent {
  override onTask(task: Task) {
    say(`${task.message.to_addresses[0]?.split('@')[0]} got "${task.name}"`);
    return 'done';
  }
}
console.log(`on ${where}`);
const workers: string[] = [];
for (let i = 1; i <= 20; i++) {
  workers.push((await runtime.spawn(new Worker(), { id: id(`worker-${String(i).padStart(2, '0')}`) })).address);
}
// The embedded office stands in for a server started with --hourly-limit 12.
if (!args.server) {
  const { email_address } = await postOffice.register({ agent_id: id('coordinator') });
  postOffice.setLimits(email_address, { hourly: 12, daily: 100 });
}
const coordinator = await runtime.spawn(new (class Coordinator extends Agent {})(), {
  id: id('coordinator'),
  sendScheduler: true, // every send of the coordinator goes through a SendScheduler of its account
});
const { hourly } = (await coordinator.mailbox.account()).rate_limits;
say(`coordinator: fanning "survey" out to 20 agents (quota: ${hourly.remaining} of ${hourly.limit} sends this hour)`);
coordinator.sendScheduler?.state$
  .pipe(first((s) => s.limits.hourly > 0 && s.inFlight === 0 && s.sent + s.queued === workers.length))
  .subscribe((s) =>
    say(
      `coordinator: ${s.sent} sent, ${s.queued} queued for the next quota window${s.waitingUntil ? ` ${whenInWords(s.waitingUntil, now())}` : ''}`,
    ),
  );
say(
  `coordinator: collecting the results until the deadline, ${whenInWords(now() + deadlineMs, now())} (--deadline-ms)`,
);

const answered = (states: string[]) => states.filter((s) => s === 'completed').length;
try {
  const outcomes = await run(
    fanOut(coordinator, workers, { name: 'survey', description: 'answer' }, { timeoutMs: deadlineMs }),
  );
  say(`coordinator: ${answered(outcomes.map((o) => o.state))} of 20 results collected`);
} catch (err) {
  if (!(err instanceof TaskTimeoutError)) throw err;
  say(
    `coordinator: ${answered(err.outcomes.map((o) => o.state))} of 20 results collected by the deadline; ${err.unsent.length} withdrawn unsent`,
  );
}
const byMinute = new Map<string, number>();
for (const t of coordinator.tasks.list({ role: 'sent' })) {
  const at = new Date(t.history[0]?.at ?? 0).toISOString().slice(11, 16);
  byMinute.set(at, (byMinute.get(at) ?? 0) + 1);
}
console.log(`schedule: ${[...byMinute].map(([at, n]) => `${n} sent at ${at}`).join(', ')}`);
const used = (await coordinator.mailbox.account()).rate_limits.daily.used;
console.log(`the post office counted ${used} sends of ${coordinator.address} today`);
await run(runtime.stop());
