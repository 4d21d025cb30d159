import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startServer } from './support/server.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

describe('examples', () => {
  it('pnpm demo: the hub-and-spoke orchestrator collects search, analyze and cite and prints the thread', async () => {
    const { stdout, stderr } = await run('node', ['examples/hub-and-spoke/dist/main.js'], {
      cwd: root,
      timeout: 20_000,
    });
    expect(stderr).toBe('');
    expect(stdout).toMatch(/user: report completed/);
    for (const skill of ['search', 'analyze', 'cite']) {
      expect(stdout).toMatch(new RegExp(`orchestrator: ${skill} \\(${skill}\\) is accepted`));
      expect(stdout).toMatch(new RegExp(`orchestrator → ${skill} +TASK:t-[0-9a-z]+ — ${skill}`));
      expect(stdout).toMatch(new RegExp(`${skill} → orchestrator +ACK:t-`));
      expect(stdout).toMatch(new RegExp(`${skill} → orchestrator +RESULT:t-`));
      expect(stdout).toContain(`"answer": "${skill} of \\"actor runtimes\\" done"`);
    }
    expect(stdout).toMatch(/orchestrator → user +RESULT:t-/);
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

describe('examples/fan-out', () => {
  it('sends 12 tasks now, queues 8, and sends them in the next hour window', async () => {
    const { stdout } = await run('node', ['examples/fan-out/dist/main.js'], { cwd: root, timeout: 20_000 });
    expect(stdout).toMatch(/09:15:01 {2}coordinator: 12 sent, 8 queued for the next window/);
    expect(stdout.match(/09:15:00 {2}worker-\d+ got "survey"/g)).toHaveLength(12);
    expect(stdout.match(/10:00:00 {2}worker-\d+ got "survey"/g)).toHaveLength(8);
    expect(stdout).toMatch(/20 of 20 results collected/);
    expect(stdout).toMatch(/schedule: 12 sent at 09:15, 8 sent at 10:00/);
  });
});

describe('examples/escalation', () => {
  it('walks the chain: L0 silent, L1 answers retry after the ack timeout, the retried task succeeds', async () => {
    const { stdout } = await run('node', ['examples/escalation/dist/main.js'], { cwd: root, timeout: 20_000 });
    const lines = [
      /09:00:00\.000 {2}worker: run 1 of "report" fails/,
      /09:00:00\.500 {2}worker: run 2 of "report" fails/,
      /09:00:00\.500 {2}L0 on-call bot: got \[ESCALATION L0\] Error: upstream timed out \(does not answer\)/,
      /09:00:30\.500 {2}L1 team lead: got \[ESCALATION L1\] Error: upstream timed out → answers "retry"/,
      /09:00:30\.500 {2}worker: run 3 of "report" succeeds/,
      /user: the report is completed: \{"report":"ready"\}/,
      /supervisor → oncall-bot +\[ESCALATION L0\] Error/,
      /supervisor → team-lead +\[ESCALATION L1\] Error/,
      /team-lead → supervisor +Re: \[ESCALATION L1\] Error/,
    ];
    let from = 0;
    for (const line of lines) {
      const m = line.exec(stdout.slice(from));
      expect(m, String(line)).not.toBeNull();
      from += (m?.index ?? 0) + (m?.[0].length ?? 0);
    }
    expect(stdout).not.toMatch(/L2 human: got/);
  });
});

describe('examples: patterns', () => {
  it('pipeline: draft → edit → publish in one thread', async () => {
    const { stdout } = await run('node', ['examples/pipeline/dist/main.js'], { cwd: root, timeout: 20_000 });
    expect(stdout).toContain('output: EDITED: AGENTS THAT COORDINATE BY EMAIL (published)');
    for (const stage of ['draft', 'edit', 'publish'])
      expect(stdout).toMatch(new RegExp(`user → \\w+ +TASK:t-\\w+ — ${stage}`));
  });

  it('shared thread: everyone speaks once, to everyone', async () => {
    const { stdout } = await run('node', ['examples/shared-thread/dist/main.js'], { cwd: root, timeout: 20_000 });
    expect(stdout).toMatch(
      /host: When do we ship\?\nplanner: Ship on Monday\.\ntester: Only after the load test\.|host: When do we ship\?\ntester: Only after the load test\.\nplanner: Ship on Monday\./,
    );
    expect(stdout).toMatch(/planner → host, tester +Re: \[COLLAB\] release date/);
    expect(stdout).toMatch(/tester → host, planner +Re: \[COLLAB\] release date/);
  });

  it('callbacks: the result lands at the callback inbox under its subject', async () => {
    const { stdout } = await run('node', ['examples/callbacks/dist/main.js'], { cwd: root, timeout: 20_000 });
    expect(stdout).toMatch(/requester: sent t-\w+, not waiting/);
    expect(stdout).toContain('callback inbox: "translation ready" → results arrive later');
  });

  it('runs on a mailroom-server with --server URL --admin-key KEY', async () => {
    const server = await startServer({ adminKey: 'example-key' });
    try {
      const { stdout } = await run(
        'node',
        ['examples/pipeline/dist/main.js', '--server', server.url, '--admin-key', 'example-key'],
        {
          cwd: root,
          timeout: 30_000,
        },
      );
      expect(stdout).toContain(`pipeline on ${server.url}`);
      expect(stdout).toContain('output: EDITED: AGENTS THAT COORDINATE BY EMAIL (published)');
    } finally {
      await server.close();
    }
  });
});
