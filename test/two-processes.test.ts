import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli } from './support/cli.js';

describe('two mailroom-server processes on one SQLite file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-two-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('share it correctly: 200 racing sends through both, exactly the quota accepted, the rest 429, none lost', async () => {
    const db = join(dir, 'mail.db');
    const flags = ['--db', db, '--hourly-limit', '150', '--no-request-log'];
    const one = await startCli(flags);
    const two = await startCli(flags);
    try {
      const register = async (id: string) =>
        (await (
          await fetch(`${one.url}/agents/register`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ agent_id: id }),
          })
        ).json()) as { api_key: string; email_address: string };
      const sender = await register('sender');
      const inbox = await register('inbox');
      const statuses = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const res = await fetch(`${i % 2 === 0 ? one.url : two.url}/email/send`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': sender.api_key },
            body: JSON.stringify({ to: [inbox.email_address], subject: `race ${i}` }),
          });
          await res.arrayBuffer();
          return res.status;
        }),
      );
      const count = (status: number) => statuses.filter((s) => s === status).length;
      expect({ ok: count(200), limited: count(429), other: statuses.length - count(200) - count(429) }).toEqual({
        ok: 150,
        limited: 50,
        other: 0,
      });
      for (const url of [one.url, two.url]) {
        const account = (await (
          await fetch(`${url}/email/account`, { headers: { 'x-api-key': sender.api_key } })
        ).json()) as {
          rate_limits: { hourly: { used: number } };
          total_sent: number;
        };
        expect(account.rate_limits.hourly.used).toBe(150);
        expect(account.total_sent).toBe(150);
        let received = 0;
        let cursor: string | undefined;
        do {
          const page = (await (
            await fetch(`${url}/email/inbox?limit=100${cursor ? `&cursor=${cursor}` : ''}`, {
              headers: { 'x-api-key': inbox.api_key },
            })
          ).json()) as { messages: unknown[]; has_more: boolean; cursor: string | null };
          received += page.messages.length;
          cursor = page.has_more ? (page.cursor ?? undefined) : undefined;
        } while (cursor);
        expect(received).toBe(150);
      }
    } finally {
      expect(await one.stop()).toBe(0);
      expect(await two.stop()).toBe(0);
    }
  });
});
