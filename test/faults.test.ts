import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, createRuntime, type InboxPage, type InboxQuery, type Task } from '@mailroom/core';
import { HttpMailbox } from '@mailroom/http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allMail, countBySubject } from './support/mail.js';
import { startServer } from './support/server.js';
import { report } from './support/soak-report.js';

// R3 (toward the reliability issue): a fault-injecting proxy between HttpMailbox and the server.
const MESSAGES = Number(process.env.R3_MESSAGES ?? 30);
const STALL_MS = Number(process.env.R3_STALL_MS ?? 300);
/** Long enough for the run at any size: stalls and retries take real time. */
const BUDGET_MS = Math.max(60_000, MESSAGES * STALL_MS * 4);

/** Each request: 10 % answered 503, 10 % connection reset, 10 % stalled, the rest passed on. */
function faultyProxy(target: string, random: () => number) {
  const faults = { '5xx': 0, reset: 0, stall: 0, passed: 0 };
  const upstream = new URL(target);
  const server = createServer((req: IncomingMessage, res) => {
    const roll = random();
    if (roll < 0.1) {
      faults['5xx'] += 1;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"detail":"injected"}');
      return;
    }
    if (roll < 0.2) {
      faults.reset += 1;
      req.socket.destroy();
      return;
    }
    const forward = () => {
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      req.pipe(out);
    };
    if (roll < 0.3) {
      faults.stall += 1;
      // The injected fault itself (a slow network), not a wait that orders the test's events.
      setTimeout(forward, STALL_MS);
    } else {
      faults.passed += 1;
      forward();
    }
  });
  return { server, faults };
}

describe('R3: network faults', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.close());

  it(
    `${MESSAGES} tasks through 5xx, resets and stalls: none lost, none sent twice`,
    async () => {
      let seed = 7;
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const { server: proxy, faults } = faultyProxy(s.url, random);
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const boss = await s.register('fault-boss');
      const worker = await s.register('fault-worker');
      const options = { baseUrl: url, retries: 8, timeoutMs: STALL_MS * 4 };
      const runtime = createRuntime({
        mailboxFactory: async (id) =>
          id === 'fault-boss'
            ? new HttpMailbox({ ...options, apiKey: boss.api_key, address: boss.email_address })
            : new HttpMailbox({ ...options, apiKey: worker.api_key, address: worker.email_address }),
        stopTimeoutMs: 1_000,
      });
      try {
        const runs = new Map<string, number>();
        await runtime.spawn(
          new (class Worker extends Agent {
            override onTask(task: Task) {
              runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
              return task.input;
            }
          })(),
          { id: 'fault-worker', ack: false, inbox: { retryMaxMs: 300 } },
        );
        const bossRef = await runtime.spawn(new (class Boss extends Agent {})(), {
          id: 'fault-boss',
          inbox: { retryMaxMs: 300 },
        });
        const ids: string[] = [];
        for (let i = 0; i < MESSAGES; i++)
          ids.push((await bossRef.delegate(worker.email_address, { name: 'job', description: 'x', input: i })).taskId);
        const outcomes = await bossRef.collect(ids, { timeoutMs: BUDGET_MS });
        expect(outcomes.every((o) => o.state === 'completed')).toBe(true); // none lost

        // On the server (not through the proxy): every TASK and every RESULT exactly once.
        const count = async (key: string, prefix: string) => {
          const page = async (q: InboxQuery) => {
            const qs = new URLSearchParams(
              Object.entries(q).map(([k, v]): [string, string] => [k, String(v)]),
            ).toString();
            return (await (await s.request(`/email/inbox?${qs}`, { key })).json()) as InboxPage;
          };
          return countBySubject(await allMail(page), new RegExp(`^(${prefix}.*)$`));
        };
        const tasks = await count(worker.api_key, 'TASK:');
        const results = await count(boss.api_key, 'RESULT:');
        report({
          test: 'R3 network faults',
          tasks: MESSAGES,
          completed: outcomes.filter((o) => o.state === 'completed').length,
          deadLettered: outcomes.filter((o) => o.state === 'failed').length,
          lost: MESSAGES - results.size,
          duplicates: [...tasks.values(), ...results.values()].filter((n) => n > 1).length,
          faults: faults['5xx'] + faults.reset + faults.stall,
        });
        expect(tasks.size).toBe(MESSAGES);
        expect([...tasks.values()].every((n) => n === 1)).toBe(true);
        expect(results.size).toBe(MESSAGES);
        expect([...results.values()].every((n) => n === 1)).toBe(true);
        expect(faults['5xx'] + faults.reset + faults.stall).toBeGreaterThan(10); // faults really happened
      } finally {
        await runtime.stop();
        proxy.close();
      }
    },
    BUDGET_MS + 30_000,
  );
});
