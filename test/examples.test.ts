import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

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
      expect(stdout).toMatch(new RegExp(`orchestrator → ${skill} +TASK:t-[0-9a-f]+ — ${skill}`));
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
