import { get } from 'node:http';
import type { Socket } from 'node:net';
import { HttpMailbox } from '@mailroom/http';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from './support/server.js';

// The lease extension over HTTP: announced by the server, used by HttpMailbox when asked to.
describe('lease extension over HTTP', () => {
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function setup(mail: number) {
    server = await startServer();
    const boss = await server.register('boss');
    const worker = await server.register('worker');
    const bossBox = await HttpMailbox.connect({ baseUrl: server.url, apiKey: boss.api_key });
    for (let i = 0; i < mail; i++) await bossBox.send({ to: [worker.email_address], subject: `m${i}` });
    const member = () => HttpMailbox.connect({ baseUrl: server!.url, apiKey: worker.api_key, leases: true });
    return { s: server, boss, worker, bossBox, member };
  }

  it('announces it on every response; a pool member uses it, a plain client does not', async () => {
    const { s, worker, member } = await setup(0);
    const res = await s.request('/email/account', { key: worker.api_key });
    expect(res.headers.get('x-mailroom-leases')).toBe('1');
    expect((await member()).leases).toBe(true);
    expect((await HttpMailbox.connect({ baseUrl: s.url, apiKey: worker.api_key })).leases).toBe(false);
  });

  it('gives two members of a pool different messages, and renews and releases a lease', async () => {
    const { member } = await setup(3);
    const one = await member();
    const two = await member();
    const a = await one.claim({ limit: 2, lease_seconds: 30 });
    const b = await two.claim({ limit: 2, lease_seconds: 30 });
    expect(a.messages.map((m) => m.subject)).toEqual(['m0', 'm1']);
    expect(b.messages.map((m) => m.subject)).toEqual(['m2']);
    expect(await one.renewLease({ lease_id: a.lease_id as string, lease_seconds: 60 })).toMatchObject({ renewed: 2 });
    await one.markRead([a.messages[0]?.message_id as string]);
    expect((await one.renewLease({ lease_id: a.lease_id as string, lease_seconds: 0 })).renewed).toBe(1);
    expect((await two.claim({ lease_seconds: 30 })).messages.map((m) => m.subject)).toEqual(['m1']);
  });

  it('renews nothing of a lease that holds nothing, and names no expiry for it', async () => {
    const { member } = await setup(1);
    const one = await member();
    expect(await one.renewLease({ lease_id: 'lease_made_up', lease_seconds: 30 })).toEqual({
      renewed: 0,
      lease_expires_at: null,
    });
    const a = await one.claim({ lease_seconds: 30 });
    await one.markRead([a.messages[0]?.message_id as string]);
    expect(await one.renewLease({ lease_id: a.lease_id as string, lease_seconds: 30 })).toEqual({
      renewed: 0,
      lease_expires_at: null,
    });
  });

  // Held for 30 s, longer than the test may run: only the mail's wake-up can answer it in time.
  it('holds a claim with wait until mail arrives', async () => {
    const { worker, bossBox, member } = await setup(0);
    const one = await member();
    const held = one.claim({ lease_seconds: 30, wait: 30 });
    await bossBox.send({ to: [worker.email_address], subject: 'late' });
    const page = await held;
    expect(page.messages.map((m) => m.subject)).toEqual(['late']);
    expect(page.lease_id).toMatch(/^lease_/);
  }, 25_000);

  it('answers bad claims in the API’s error shapes', async () => {
    const { s, worker } = await setup(0);
    const bad = await s.request('/email/claim?lease_seconds=0', { key: worker.api_key });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({ detail: [{ loc: ['lease_seconds'] }] });
    const renew = await s.request('/email/lease', { method: 'POST', key: worker.api_key, body: '{}' });
    expect(renew.status).toBe(422);
    expect((await s.request('/email/claim')).status).toBe(401);
  });
  // A claim long poll released by its client leaving must not claim again: what it found would be
  // leased to nobody, out of every other member's reach for lease_seconds. Here mail lands just as
  // the poll is released.
  it('leases nothing to a client that left its claim long poll', async () => {
    const { s, worker, bossBox, member } = await setup(0);
    const office = s.postOffice;
    const claim = office.claim.bind(office);
    const sockets: Socket[] = [];
    s.app.server.on('connection', (socket: Socket) => sockets.push(socket));
    let sent: Promise<unknown> | undefined;
    const land = () => (sent ??= bossBox.send({ to: [worker.email_address], subject: 'late' }));
    let held!: () => void;
    const holding = new Promise<void>((r) => (held = r));
    let calls = 0;
    let left = false;
    office.claim = async (address, query) => {
      calls += 1;
      if (calls > 1 && left) await land();
      const page = await claim(address, query);
      if (calls === 1) held();
      return page;
    };
    try {
      // On a connection of its own, so that the server sees which one closes.
      const poll = get(`${s.url}/email/claim?wait=30`, { agent: false, headers: { 'x-api-key': worker.api_key } });
      poll.on('error', () => {});
      await holding;
      const socket = sockets.at(-1) as Socket;
      const closed = new Promise((r) => socket.once('close', r));
      left = true;
      poll.destroy();
      await closed;
      await land();
    } finally {
      office.claim = claim;
    }
    const page = await (await member()).claim({ limit: 10 });
    expect(page.messages.map((m) => m.subject)).toEqual(['late']);
  }, 20_000);
});
