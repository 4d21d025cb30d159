// An agent process of P7: a pool worker (leases) or a load generator ("boss") that keeps
// `inFlight` tasks outstanding and reports each round trip (send → RESULT in its inbox).
// argv: worker <url> <key> | boss <url> <key> <pool address> <tasks> <inFlight> <tag>
import { Agent, createRuntime, type Task } from '@mailroom/core';
import { HttpMailbox } from '@mailroom/http';

const [role, url, apiKey, pool, tasks, inFlight, tag] = process.argv.slice(2) as string[];

if (role === 'worker') {
  const runtime = createRuntime({
    mailboxFactory: () => HttpMailbox.connect({ baseUrl: url as string, apiKey: apiKey as string, leases: true }),
  });
  class Worker extends Agent {
    override onTask(task: Task) {
      return { done: task.id };
    }
  }
  await runtime.spawn(new Worker(), { id: 'worker', ack: false, inbox: { leaseSeconds: 30, limit: 10 } });
  process.stdout.write('ready\n');
} else {
  const box = await HttpMailbox.connect({ baseUrl: url as string, apiKey: apiKey as string });
  process.stdout.write('ready\n');
  // Waits for "go" on stdin, so that every boss starts at once.
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  const total = Number(tasks);
  const sentAt = new Map<string, number>();
  const rtts: number[] = [];
  let next = 0;
  const sendOne = async () => {
    if (next >= total) return;
    const id = `${tag}-${next++}`;
    sentAt.set(id, performance.now());
    await box.send({
      to: [pool as string],
      subject: `TASK:${id} — job`,
      body_text: JSON.stringify({ task_id: id, description: 'x' }),
      idempotency_key: `task:${id}`,
    });
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Number(inFlight) }, sendOne));
  while (rtts.length < total) {
    const page = await box.inbox({ unread_only: true, limit: 100, wait: 20 });
    const ids: string[] = [];
    const sends: Promise<void>[] = [];
    for (const m of page.messages) {
      ids.push(m.message_id);
      const id = /^RESULT:(\S+)$/.exec(m.subject)?.[1];
      const at = id === undefined ? undefined : sentAt.get(id);
      if (id === undefined || at === undefined) continue;
      sentAt.delete(id);
      rtts.push(performance.now() - at);
      sends.push(sendOne());
    }
    if (ids.length > 0) await box.markRead(ids);
    await Promise.all(sends);
  }
  process.stdout.write(`${JSON.stringify({ ms: performance.now() - t0, rtts })}\n`);
}
