import { RunningClock } from '@mailroom/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './support/ops.js';
import { startServer } from './support/server.js';

// An operator changes the send quotas of an account that exists: over the admin API or with the
// CLI on the store, and a running server holds the new limit at once.

describe("changing an existing account's send quotas", () => {
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const admin = (path: string, body: unknown) =>
    fetch(`${server?.url}${path}`, {
      method: 'POST',
      headers: { 'x-admin-key': 'admin-secret', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('over the admin API: the new hourly limit holds at once, the daily one stays', async () => {
    server = await startServer({ adminKey: 'admin-secret', office: { clock: new RunningClock() } });
    const a = await server.register('limited');
    const res = await admin('/admin/accounts/limited/limits', { hourly: 1 });
    expect(res.status).toBe(200);
    const summary = (await res.json()) as { rate_limits: { hourly: { limit: number }; daily: { limit: number } } };
    expect(summary.rate_limits.hourly.limit).toBe(1);
    expect(summary.rate_limits.daily.limit).toBe(100_000);
    const send = (subject: string) =>
      server?.request('/email/send', {
        method: 'POST',
        key: a.api_key,
        body: JSON.stringify({ to: [a.email_address], subject }),
      });
    expect((await send('one'))?.status).toBe(200);
    expect((await send('two'))?.status).toBe(429);
    expect((await admin('/admin/accounts/limited/limits', {})).status).toBe(422);
    expect((await admin('/admin/accounts/limited/limits', { hourly: -1 })).status).toBe(422);
    expect((await admin('/admin/accounts/nobody/limits', { hourly: 5 })).status).toBe(404);
  });

  it('with the CLI on the store: set-limits changes what it is given and says so; without a limit it is a usage error', async () => {
    server = await startServer();
    await server.register('cli-limited');
    const done = await runCli(['set-limits', 'cli-limited', '--db', server.path, '--daily-limit', '7']);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toMatch(/may now send 10000 an hour and 7 a day/);
    const account = (await server.postOffice.listAccounts()).accounts.find((x) => x.agent_id === 'cli-limited');
    expect(account?.rate_limits.daily.limit).toBe(7);
    expect(account?.rate_limits.hourly.limit).toBe(10_000);
    const usage = await runCli(['set-limits', 'cli-limited', '--db', server.path]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('set-limits needs --hourly-limit N, --daily-limit N or both');
  });
});
