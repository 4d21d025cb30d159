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
