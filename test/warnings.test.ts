import { Agent, createRuntime, defineTask, MemoryPostOffice, type Task } from '@mailroom/core';
import { HttpMailbox } from '@mailroom/http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startServer } from './support/server.js';

// No warnings under load: a library never makes Node print one (MaxListenersExceededWarning was
// printed from the 11th concurrent collect on one agent).
const warnings: Error[] = [];
const listen = (w: Error) => warnings.push(w);
beforeEach(() => {
  warnings.length = 0;
  process.on('warning', listen);
});
afterEach(() => {
  process.off('warning', listen);
});
/** `process.emitWarning` emits on the next tick: one turn of the event loop lets every one come. */
const settle = () => new Promise<void>((r) => setImmediate(r));

const Double = defineTask({ name: 'double', input: z.number(), output: z.number() });

describe('no warnings under load', () => {
  it('1 000 concurrent collect and 1 000 concurrent ask on one agent', async () => {
    const postOffice = new MemoryPostOffice({ limits: { hourly: 1e6, daily: 1e7 } });
    const runtime = createRuntime({ postOffice });
    try {
      const worker = await runtime.spawn(
        new (class extends Agent {
          constructor() {
            super();
            this.handle(Double, (n) => n * 2);
          }
          override onTask(task: Task) {
            return task.input;
          }
        })(),
        { id: 'worker', concurrency: 64 },
      );
      const hub = await runtime.spawn(new (class Hub extends Agent {})(), { id: 'hub' });
      const sent = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          hub.delegate(worker.address, { name: 'echo', description: 'e', input: i }),
        ),
      );
      const [collected, asked] = await Promise.all([
        Promise.all(sent.map(({ taskId }) => hub.collect([taskId], { timeoutMs: 60_000 }))),
        Promise.all(Array.from({ length: 1000 }, (_, i) => hub.ask(worker.address, Double, i, { timeoutMs: 60_000 }))),
      ]);
      expect(collected.map(([o]) => (o?.state === 'completed' ? o.result : o))).toEqual(
        Array.from({ length: 1000 }, (_, i) => i),
      );
      expect(asked).toEqual(Array.from({ length: 1000 }, (_, i) => i * 2));
      await settle();
      expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
    } finally {
      await runtime.stop();
    }
  }, 60_000);

  it('1 000 concurrent long polls on mailroom-server', async () => {
    const server = await startServer();
    try {
      const agent = await server.register('poller');
      const mailbox = await HttpMailbox.connect({ baseUrl: server.url, apiKey: agent.api_key });
      const pages = await Promise.all(
        Array.from({ length: 1000 }, () => mailbox.inbox({ unread_only: true, wait: 1 })),
      );
      expect(pages.every((p) => p.messages.length === 0)).toBe(true);
      await settle();
      expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
    } finally {
      await server.close();
    }
  }, 60_000);
});
