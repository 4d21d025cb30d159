import { Writable } from 'node:stream';
import { Agent, createRuntime, type Task } from '@mailroom/core';
import { HttpMailbox } from '@mailroom/http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './support/server.js';

class Echo extends Agent {
  override async onTask(task: Task) {
    return { echoed: task.description };
  }
}

/**
 * "Why does my agent get nothing?": at debug, the client and the agents log the flow of a
 * message — polled, received, replied, sent — and every 4xx with why; never a key or a body.
 */
describe('debug logs of the message flow on the client side', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    s = await startServer({ adminKey: 'admin-secret' });
  });
  afterAll(() => s.close());

  it('logs polls, receipt, reply and send, and why a call was refused', async () => {
    const lines: { msg: string; [k: string]: unknown }[] = [];
    const raw: string[] = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk, _enc, cb) {
          raw.push(String(chunk));
          lines.push(JSON.parse(String(chunk)) as { msg: string });
          cb();
        },
      }),
    );
    const keys = { echo: (await s.register('echo')).api_key, asker: (await s.register('asker')).api_key };
    const runtime = createRuntime({
      logger,
      mailboxFactory: (id) =>
        HttpMailbox.connect({ baseUrl: s.url, apiKey: keys[id as keyof typeof keys], logger, retries: 0 }),
    });
    try {
      const worker = await runtime.spawn(new Echo(), { id: 'echo' });
      const asker = await runtime.spawn(new (class extends Agent {})(), { id: 'asker' });
      const { taskId } = await asker.delegate(worker.address, { name: 'echo', description: 'the secret body' });
      const [outcome] = await asker.collect([taskId], { timeoutMs: 10_000 });
      expect(outcome?.state).toBe('completed');
      // A send the server refuses: the client's log says why.
      const box = await HttpMailbox.connect({ baseUrl: s.url, apiKey: keys.asker, logger, retries: 0 });
      await box.send({ to: ['ghost@agents.localhost'], subject: 'to nobody' }).catch(() => undefined);
    } finally {
      await runtime.stop();
    }
    const msgs = lines.map((l) => l.msg);
    expect(msgs).toContain('mail sent');
    // The inbox comes over the push stream where the server offers it (else by polls).
    expect(msgs.some((m) => m.startsWith('inbox pushed') || m.startsWith('inbox polled'))).toBe(true);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'message received', from: 'asker@agents.localhost', kind: 'task' }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'replied', to: ['asker@agents.localhost'] }));
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: expect.stringMatching(/^server answered 404: /), path: '/email/send' }),
    );
    const all = raw.join('');
    for (const secret of [keys.echo, keys.asker, 'the secret body', 'to nobody']) expect(all).not.toContain(secret);
  });
});
