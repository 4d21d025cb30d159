import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RunningClock } from '@mailroom/core/testing';
import type { SqlitePostOfficeOptions } from '@mailroom/server';
import { describe, expect, it } from 'vitest';
import { startServer } from './support/server.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

/** An agent's name as printed: bare on the embedded office, with the run's suffix on a server. */
const n = (name: string) => `${name}(?:-[0-9a-z]+)?`;
const re = (source: string) => new RegExp(source);

/** Each pattern matches after the previous one. */
function inOrder(stdout: string, patterns: RegExp[]): void {
  let from = 0;
  for (const p of patterns) {
    const m = p.exec(stdout.slice(from));
    expect(m, String(p)).not.toBeNull();
    from += (m?.index ?? 0) + (m?.[0].length ?? 0);
  }
}

type Example = {
  name: string;
  title: string;
  /** Extra arguments on a server (real time there). */
  serverArgs?: string[];
  /** The server's post office (quotas, clock). */
  office?: Omit<SqlitePostOfficeOptions, 'path'>;
  check(stdout: string, on: { server?: Awaited<ReturnType<typeof startServer>> }): void | Promise<void>;
};

const examples: Example[] = [
  {
    name: 'hub-and-spoke',
    title: 'pnpm demo: the orchestrator asks search, analyze and cite for three requests at once and prints a thread',
    check(stdout) {
      // Three requests served at once: every specialist took all three before the first report was done.
      for (const topic of ['actor runtimes', 'email agents', 'typed tasks'])
        expect(stdout).toContain(`user: report on "${topic}" completed`);
      const firstReport = stdout.indexOf('user: report on');
      for (const r of [1, 2, 3]) expect(stdout.indexOf(`is accepted [request ${r}]`)).toBeLessThan(firstReport);
      for (const skill of ['search', 'analyze', 'cite']) {
        // The skill and the specialist's id once each: `search is accepted`, `search (search-x1) is accepted`.
        expect(stdout).toMatch(re(`orchestrator: ${skill}(?: \\(${skill}-[0-9a-z]+\\))? is accepted`));
        expect(stdout).not.toContain(`${skill} (${skill})`);
        expect(stdout).toMatch(re(`${n('orchestrator')} → ${n(skill)} +TASK:t-[0-9a-z]+ — ${skill}`));
        expect(stdout).toMatch(re(`${n(skill)} → ${n('orchestrator')} +ACK:t-`));
        expect(stdout).toMatch(re(`${n(skill)} → ${n('orchestrator')} +RESULT:t-`));
        expect(stdout).toMatch(re(`"answer": "${skill} of \\\\"[a-z ]+\\\\" done"`));
      }
      expect(stdout).toMatch(re(`${n('orchestrator')} → ${n('user')} +RESULT:t-`));
    },
  },
  {
    name: 'pipeline',
    title: 'draft → edit → publish in one thread',
    check(stdout) {
      expect(stdout).toContain('output: EDITED: AGENTS THAT COORDINATE BY EMAIL (published)');
      inOrder(
        stdout,
        ['draft', 'edit', 'publish'].map((stage) => re(`${n('user')} → ${n('\\w+')} +TASK:t-\\w+ — ${stage}`)),
      );
    },
  },
  {
    name: 'shared-thread',
    title: 'everyone speaks once, to everyone, in reply to the latest message',
    check(stdout) {
      const said = (who: string, what: string) => `${n(who)}: ${what}`;
      expect(stdout).toMatch(
        re(
          `${said('host', 'When do we ship\\?')}\\n(${said('planner', 'Ship on Monday\\.')}\\n${said('tester', 'Only after the load test\\.')}|${said('tester', 'Only after the load test\\.')}\\n${said('planner', 'Ship on Monday\\.')})`,
        ),
      );
      expect(stdout).toMatch(re(`${n('planner')} → ${n('host')}, ${n('tester')} +Re: \\[COLLAB\\] release date`));
      expect(stdout).toMatch(re(`${n('tester')} → ${n('host')}, ${n('planner')} +Re: \\[COLLAB\\] release date`));
    },
  },
  {
    name: 'callbacks',
    title: 'the result lands at the callback inbox under its subject',
    check(stdout) {
      expect(stdout).toMatch(/requester: sent t-\w+, not waiting/);
      expect(stdout).toContain('callback inbox: "translation ready" → results arrive later');
    },
  },
  {
    name: 'research-team',
    title: 'a model-backed orchestrator delegates to model-backed specialists on a scripted model, tokens per task',
    check(stdout) {
      expect(stdout.split('\n')[0]).toMatch(/^research-team on a scripted model \(no --model given; offline/);
      inOrder(stdout, [
        /orchestrator: calls research \{"topic":"actors"\}/,
        /orchestrator: calls research \{"topic":"email"\}/,
        /orchestrator: calls critique/,
        /"brief": "Actors give each agent/,
        re(`${n('user')} → ${n('orchestrator')} +TASK:t-\\w+ — brief`),
        re(`${n('orchestrator')} → ${n('researcher')} +TASK:t-\\w+ — research`),
        re(`${n('orchestrator')} → ${n('researcher')} +TASK:t-\\w+ — research`),
        re(
          `${n('researcher')} → ${n('orchestrator')} +RESULT:t-\\w+ +\\(completed\\) \\[274 tokens \\(210 in, 64 out\\)\\]`,
        ),
        re(`${n('critic')} → ${n('orchestrator')} +RESULT:t-\\w+ +\\(completed\\) \\[202 tokens`),
        re(
          `${n('orchestrator')} → ${n('user')} +RESULT:t-\\w+ +\\(completed\\) \\[2875 tokens \\(2550 in, 325 out\\)\\]`,
        ),
        /tokens per task:/,
        /t-\w+ brief +orchestrator(-\w+)? +2875 tokens/,
      ]);
    },
  },
  {
    name: 'escalation',
    title: 'walks the chain: L0 silent, L1 answers retry after the ack timeout, the retried task succeeds',
    serverArgs: ['--ack-timeout-ms', '1000'],
    check(stdout, { server }) {
      const at = (time: string) => (server ? '\\d\\d:\\d\\d:\\d\\d\\.\\d{3}' : time.replaceAll('.', '\\.'));
      inOrder(stdout, [
        re(`${at('09:00:00.000')} {2}worker: run 1 of "report" fails`),
        re(`${at('09:00:00.500')} {2}worker: run 2 of "report" fails`),
        re(
          `${at('09:00:00.500')} {2}L0 on-call bot: got \\[ESCALATION L0\\] Error: upstream timed out \\(does not answer\\)`,
        ),
        // What it waits for, said before it waits.
        re(
          `${at('09:00:00.500')} {2}supervisor: waits ${server ? 1 : 30} s for L0 to answer, until ${at('09:00:30.500')} \\(--ack-timeout-ms\\), then asks L1`,
        ),
        re(
          `${at('09:00:30.500')} {2}L1 team lead: got \\[ESCALATION L1\\] Error: upstream timed out → answers "retry"`,
        ),
        re(`${at('09:00:30.500')} {2}worker: run 3 of "report" succeeds`),
        /user: the report is completed: \{"report":"ready"\}/,
        re(`${n('supervisor')} → ${n('oncall-bot')} +\\[ESCALATION L0\\] Error`),
        re(`${n('supervisor')} → ${n('team-lead')} +\\[ESCALATION L1\\] Error`),
        re(`${n('team-lead')} → ${n('supervisor')} +Re: \\[ESCALATION L1\\] Error`),
      ]);
      expect(stdout).not.toMatch(/L2 human: got/);
    },
  },
  {
    name: 'fan-out',
    title: 'sends 12 tasks now and queues 8 for the next hour window, never over the quota',
    // On a server: its quota is 12 an hour, its clock stays inside one hour whatever the wall clock
    // says, and the deadline passes long before the next window: the 8 are withdrawn unsent.
    serverArgs: ['--deadline-ms', '5000'],
    office: { limits: { hourly: 12, daily: 100 }, clock: new RunningClock(Date.UTC(2026, 0, 1, 9, 15, 0)) },
    async check(stdout, { server }) {
      // It says what it waits for: the next quota window, in words, and the deadline.
      expect(stdout).toMatch(
        /coordinator: 12 sent, 8 queued for the next quota window at \d\d:\d\d UTC, in \d+ (?:s|min|h)\b/,
      );
      expect(stdout).toMatch(/coordinator: collecting the results until the deadline, at \d\d:\d\d(:\d\d)? UTC, in /);
      const coordinator = /the post office counted (\d+) sends of (\S+) today/.exec(stdout);
      expect(coordinator?.[1]).toBe(server ? '12' : '20');
      if (!server) {
        expect(stdout).toMatch(
          /09:15:00 {2}coordinator: 12 sent, 8 queued for the next quota window at 10:00 UTC, in 45 min/,
        );
        expect(stdout.match(/09:15:00 {2}worker-\d+ got "survey"/g)).toHaveLength(12);
        expect(stdout.match(/10:00:00 {2}worker-\d+ got "survey"/g)).toHaveLength(8);
        expect(stdout).toMatch(/20 of 20 results collected/);
        expect(stdout).toMatch(/schedule: 12 sent at 09:15, 8 sent at 10:00/);
        return;
      }
      // The 12 went out at once; how many were answered before the (real-time) deadline depends on
      // how busy the machine is, so only the upper bound is certain. The 8 never go out.
      expect(stdout.match(/worker-\d+-[0-9a-z]+ got "survey"/g)?.length ?? 0).toBeLessThanOrEqual(12);
      const collected = /(\d+) of 20 results collected by the deadline; 8 withdrawn unsent/.exec(stdout);
      expect(Number(collected?.[1])).toBeLessThanOrEqual(12);
      const account = await server.postOffice.account(coordinator?.[2] ?? '');
      expect(account.rate_limits.hourly.used).toBe(12);
      expect(server.logLines.filter((l) => l.includes('"statusCode":429'))).toEqual([]);
    },
  },
];

for (const example of examples) {
  describe(`examples/${example.name}`, () => {
    it(`${example.title} (embedded post office)`, async () => {
      const { stdout, stderr } = await run('node', [`examples/${example.name}/dist/main.js`], {
        cwd: root,
        timeout: 20_000,
      });
      expect(stderr).toBe('');
      await example.check(stdout, {});
    });

    it(`${example.title} (on a mailroom-server: --server URL --admin-key KEY)`, async () => {
      const server = await startServer({
        adminKey: 'example-key',
        ...(example.office ? { office: example.office } : {}),
      });
      try {
        const { stdout, stderr } = await run(
          'node',
          [
            `examples/${example.name}/dist/main.js`,
            '--server',
            server.url,
            '--admin-key',
            'example-key',
            ...(example.serverArgs ?? []),
          ],
          { cwd: root, timeout: 30_000 },
        );
        expect(stderr).toBe('');
        expect(stdout).toContain(server.url);
        await example.check(stdout, { server });
      } finally {
        await server.close();
      }
    });
  });
}

describe('examples/research-team with --model', () => {
  it('a provider whose package is not installed: says so, names the package to add, exits 1', async () => {
    const failed = await run('node', ['examples/research-team/dist/main.js', '--model', 'openai:gpt-4o-mini'], {
      cwd: root,
      timeout: 20_000,
    }).catch((err: { code: number; stdout: string; stderr: string }) => err);
    expect(failed).toMatchObject({ code: 1, stdout: '' });
    expect((failed as { stderr: string }).stderr).toContain(
      'the provider package @ai-sdk/openai is not installed: pnpm --filter @mailroom/example-research-team add @ai-sdk/openai',
    );
  });
});

describe('examples/two-processes', () => {
  it('coordinates agents in two processes through one mailroom-server', async () => {
    const { stdout } = await run('node', ['examples/two-processes/dist/main.js'], { cwd: root, timeout: 30_000 });
    const worker = /\[worker\] worker (\d+): translator@\S+ ready/.exec(stdout);
    const requester = /\[requester\] requester (\d+): completed: (.*)/.exec(stdout);
    expect(worker).not.toBeNull();
    expect(requester).not.toBeNull();
    expect(requester?.[1]).not.toBe(worker?.[1]);
    expect(JSON.parse(requester?.[2] ?? '{}')).toEqual({
      pid: Number(worker?.[1]),
      translated: 'coordinate agents by mail',
    });
    for (const line of [
      /requester → translator +TASK:t-/,
      /translator → requester +ACK:t-/,
      /translator → requester +RESULT:t-/,
    ]) {
      expect(stdout).toMatch(line);
    }
    expect(stdout).toMatch(/\[worker\] worker \d+: stopped/);
  });
});
