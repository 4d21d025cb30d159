import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli } from './support/cli.js';
import { inOneHourSince } from './support/quota-window.js';

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
      const started = Date.now();
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
      const seen: { used: number; total: number; received: number }[] = [];
      for (const url of [one.url, two.url]) {
        const account = (await (
          await fetch(`${url}/email/account`, { headers: { 'x-api-key': sender.api_key } })
        ).json()) as {
          rate_limits: { hourly: { used: number } };
          total_sent: number;
        };
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
        seen.push({ used: account.rate_limits.hourly.used, total: account.total_sent, received });
      }
      expect(count(200) + count(429)).toBe(200);
      if (inOneHourSince(started)) {
        expect({ ok: count(200), limited: count(429) }).toEqual({ ok: 150, limited: 50 });
        expect(seen).toEqual([
          { used: 150, total: 150, received: 150 },
          { used: 150, total: 150, received: 150 },
        ]);
      } else {
        // An hour began during the race: each window held its 150, and every accepted send arrived.
        expect(count(200)).toBeLessThanOrEqual(300);
        for (const s of seen) expect(s).toEqual({ used: s.used, total: count(200), received: count(200) });
        for (const s of seen) expect(s.used).toBeLessThanOrEqual(150);
      }
    } finally {
      expect(await one.stop()).toBe(0);
      expect(await two.stop()).toBe(0);
    }
  });
});
