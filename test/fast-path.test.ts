import { HttpMailbox } from '@mailroom/http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy } from './support/proxy.js';
import { startServer } from './support/server.js';

// Without an injected fetch, HttpMailbox makes the first attempt of a send, a batch send and a read
// mark on node:http; anything but a 2xx JSON answer goes the usual way (ky), and nothing is sent twice.
describe('HttpMailbox fast path (node:http first attempts)', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.close());

  async function pair(name: string) {
    const from = await s.register(`${name}-from`);
    const to = await s.register(`${name}-to`);
    return { from, to };
  }

  it('delivers a send once when the answer to its first attempt is lost after the server kept it', async () => {
    const { from, to } = await pair('lost-send');
    const proxy = await startProxy(s.url, (req, seen) =>
      req.url === '/email/send' && seen === 0 ? 'lose-answer' : 'pass',
    );
    try {
      const box = await HttpMailbox.connect({ baseUrl: proxy.url, apiKey: from.api_key, sendBatching: 0 });
      const sent = await box.send({ to: [to.email_address], subject: 'once' });
      const inbox = await (await HttpMailbox.connect({ baseUrl: s.url, apiKey: to.api_key })).inbox();
      expect(inbox.messages.map((m) => m.message_id)).toEqual([sent.message_id]);
    } finally {
      await proxy.close();
    }
  });

  it('delivers each send of a batch once when the batch is first refused (503), then answers each', async () => {
    const { from, to } = await pair('batch-503');
    const proxy = await startProxy(s.url, (req, seen) =>
      req.url === '/email/send/batch' && seen === 0 ? '503' : 'pass',
    );
    try {
      const box = await HttpMailbox.connect({ baseUrl: proxy.url, apiKey: from.api_key });
      // Called in one turn: they go out as one batch request.
      const sent = await Promise.all(['a', 'b', 'c'].map((subject) => box.send({ to: [to.email_address], subject })));
      const inbox = await (await HttpMailbox.connect({ baseUrl: s.url, apiKey: to.api_key })).inbox();
      expect(inbox.messages.map((m) => m.message_id).sort()).toEqual(sent.map((r) => r.message_id).sort());
      expect(sent.map((r) => r.message.subject)).toEqual(['a', 'b', 'c']);
    } finally {
      await proxy.close();
    }
  });

  it('marks read when the first attempt of the mark is refused, and says how many it marked', async () => {
    const { from, to } = await pair('mark-503');
    const sender = await HttpMailbox.connect({ baseUrl: s.url, apiKey: from.api_key });
    const sent = await sender.send({ to: [to.email_address], subject: 'read me' });
    const proxy = await startProxy(s.url, (req, seen) => (req.url === '/email/read' && seen === 0 ? '503' : 'pass'));
    try {
      const box = await HttpMailbox.connect({ baseUrl: proxy.url, apiKey: to.api_key });
      await expect(box.markRead([sent.message_id])).resolves.toBe(1);
      expect((await box.inbox({ unread_only: true })).messages).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});
