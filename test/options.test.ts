import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Agent,
  createRuntime,
  defineTask,
  MemoryPostOffice,
  NotFoundError,
  StoppedError,
  ValidationError,
} from '@mailroom/core';
import { VirtualTime } from '@mailroom/core/testing';
import { HttpMailbox } from '@mailroom/http';
import { SqlitePostOffice } from '@mailroom/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

class Plain extends Agent {}

// Every option is checked where it enters, with one ValidationError naming option, value and rule.
const rejects = (fn: () => unknown, message: RegExp) => {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as Error).message).toMatch(message);
};

describe('options are checked at the boundary', () => {
  it('post offices: a domain that is not one, a limit that is not a number', () => {
    rejects(() => new MemoryPostOffice({ domain: 'Not A Domain' }), /domain = "Not A Domain" \(a domain name/);
    rejects(
      () => new MemoryPostOffice({ limits: { hourly: 'ten' as unknown as number } }),
      /limits\.hourly = "ten" \(.*number/i,
    );
    rejects(() => new SqlitePostOffice({ path: ':memory:', limits: { daily: -1 } }), /limits\.daily = -1/);
  });

  it('supervisors: an ack timeout that is not one, an empty chain, a fractional restart count', async () => {
    const runtime = createRuntime({ postOffice: new MemoryPostOffice() });
    const children = [{ id: 'worker', make: () => new Plain() }];
    await expect(
      runtime.supervise({ id: 'boss', children, escalation: { chain: ['lead@agents.localhost'], ackTimeoutMs: -1 } }),
    ).rejects.toThrow(/supervisor options: escalation\.ackTimeoutMs = -1 \(/);
    await expect(
      runtime.supervise({ id: 'boss', children, escalation: { chain: [], ackTimeoutMs: 1000 } }),
    ).rejects.toThrow(/escalation\.chain = \[\] \(/);
    await expect(runtime.supervise({ id: 'boss', children, maxRestarts: 1.5 })).rejects.toBeInstanceOf(ValidationError);
    await runtime.stop();
  });

  it('runtime and collect: a negative stop timeout, a NaN collect timeout', async () => {
    rejects(() => createRuntime({ stopTimeoutMs: -5 }), /runtime options: stopTimeoutMs = -5 \(/);
    const runtime = createRuntime({ postOffice: new MemoryPostOffice() });
    try {
      const ref = await runtime.spawn(new Plain(), { id: 'asker' });
      const error = await ref.collect(['t-1'], { timeoutMs: Number.NaN }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toMatch(/collect options: timeoutMs = NaN/);
    } finally {
      await runtime.stop();
    }
  });

  it('HttpMailbox: a baseUrl without a scheme', () => {
    rejects(
      () => new HttpMailbox({ baseUrl: 'localhost:8025', apiKey: 'k', address: 'a@agents.localhost' }),
      /baseUrl = "localhost:8025" \(an http:\/\/ or https:\/\/ URL\)/,
    );
  });

  it('collect of a task id this agent never sent fails at once, not after its timeout', async () => {
    // Virtual time: waiting out the timeout would take 60 s of it (and end in a TaskTimeoutError).
    const vt = new VirtualTime(Date.UTC(2026, 0, 1));
    const runtime = createRuntime({ postOffice: new MemoryPostOffice({ clock: vt }), scheduler: vt.scheduler });
    try {
      const ref = await vt.until(runtime.spawn(new Plain(), { id: 'asker' }));
      const started = vt.now();
      const error = await vt.until(ref.collect(['t-never-sent'], { timeoutMs: 60_000 })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as Error).message).toMatch(/never sent task\(s\) t-never-sent/);
      expect(vt.now() - started).toBeLessThan(60_000);
    } finally {
      await vt.until(runtime.stop());
    }
  });

  it('send, delegate and ask on a stopped ref are a StoppedError', async () => {
    const runtime = createRuntime({ postOffice: new MemoryPostOffice() });
    const ref = await runtime.spawn(new Plain(), { id: 'sender' });
    const peer = await runtime.spawn(new Plain(), { id: 'peer' });
    await ref.stop();
    const contract = defineTask({ name: 'echo', input: z.string(), output: z.string() });
    for (const attempt of [
      ref.send(peer.address, 'hello', 'x'),
      ref.delegate(peer.address, { name: 'job', description: 'x' }),
      ref.ask(peer.address, contract, 'x', { timeoutMs: 1000 }),
    ]) {
      await expect(attempt).rejects.toBeInstanceOf(StoppedError);
    }
    await runtime.stop();
  });
});

describe('mailroom-server flags', () => {
  const cli = join(dirname(fileURLToPath(import.meta.url)), '../packages/server/dist/cli.js');
  const run = (...args: string[]) => spawnSync('node', [cli, ...args], { encoding: 'utf8', timeout: 10_000 });

  it('answers a bad flag in one line, with no stack', () => {
    for (const [args, said] of [
      [['--log-level', 'verbose'], /--log-level must be one of fatal, error, warn, info, debug, trace, silent/],
      [
        ['--db', '/no/such/folder/mail.db'],
        /--db \/no\/such\/folder\/mail\.db: the folder \/no\/such\/folder does not exist/,
      ],
      [['--domain', 'Not_A_Domain!'], /domain = "not_a_domain!"/],
    ] as const) {
      const p = run(...args);
      expect(p.status).toBe(2);
      expect(p.stderr.trim().split('\n')).toHaveLength(1);
      expect(p.stderr).toMatch(said);
      expect(p.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('SendScheduler and router options', () => {
  it('a stagger without a positive burst, a negative queue, an unknown strategy, a zero timeout', async () => {
    const { SendScheduler, createRouter } = await import('@mailroom/core');
    const mailbox = { send: async () => ({}) as never, account: async () => ({}) as never };
    rejects(() => new SendScheduler({ mailbox, stagger: { burst: 0, pauseMs: 10 } }), /SendScheduler options: stagger/);
    rejects(() => new SendScheduler({ mailbox, maxQueue: -1 }), /maxQueue = -1/);
    rejects(
      () => createRouter({ routees: ['a@x.test'], strategy: 'fastest' as never }),
      /router options: strategy = "fastest"/,
    );
    rejects(() => createRouter({ routees: ['a@x.test'], strategy: 'random', timeoutMs: 0 }), /timeoutMs = 0/);
  });
});
