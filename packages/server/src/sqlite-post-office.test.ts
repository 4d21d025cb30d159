import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, postOfficeConformance } from '@mailroom/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SqlitePostOffice } from './sqlite-post-office.js';

const dir = mkdtempSync(join(tmpdir(), 'mailroom-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

postOfficeConformance(
  'SqlitePostOffice',
  ({ clock, limits, domain }) => new SqlitePostOffice({ path: join(dir, `po-${++n}.db`), clock, limits, domain }),
);

describe('SqlitePostOffice', () => {
  it('keeps accounts, mail, read state, threads and quotas across a restart', async () => {
    const path = join(dir, 'restart.db');
    const clock = new ManualClock();
    const first = new SqlitePostOffice({ path, clock, limits: { hourly: 5, daily: 50 } });
    const a = await first.register({ agent_id: 'alice' });
    const b = await first.register({ agent_id: 'bob' });
    const root = await first.send(a.email_address, { to: [b.email_address], subject: 'hello', body_text: 'one' });
    await first.send(b.email_address, { to: [a.email_address], subject: 'Re: hello', in_reply_to: root.message_id });
    await first.send(a.email_address, { to: [b.email_address], subject: 'second' });
    await first.markRead(b.email_address, [root.message_id]);
    first.close();

    const second = new SqlitePostOffice({ path, clock, limits: { hourly: 5, daily: 50 } });
    expect(await second.authenticate(a.api_key)).toBe(a.email_address);
    const unread = await second.inbox(b.email_address, { unread_only: true });
    expect(unread.messages.map((m) => m.subject)).toEqual(['second']);
    const thread = await second.thread(a.email_address, root.thread_id);
    expect(thread.messages.map((m) => m.subject)).toEqual(['hello', 'Re: hello']);
    expect((await second.account(a.email_address)).rate_limits.hourly.used).toBe(2);
    const next = await second.send(a.email_address, { to: [b.email_address], subject: 'after restart' });
    expect(next.message_id).not.toBe(root.message_id);
    second.close();
  });

  it('stores API keys hashed, never in the clear', async () => {
    const path = join(dir, 'keys.db');
    const po = new SqlitePostOffice({ path });
    const reg = await po.register({ agent_id: 'alice' });
    po.close();
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(path).includes(Buffer.from(reg.api_key))).toBe(false);
  });
});
