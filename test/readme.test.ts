import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tsBlocks } from './support/readme-blocks.js';
import { runTsc } from './support/tsc.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
// Inside the repository, so that `@mailroom/*` resolves as it does for the examples.
const scratch = join(root, 'test', `.readme-${process.pid}`);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const blocks = tsBlocks(join(root, 'README.md'));

/**
 * `@mailroom/*` as a user gets it: the built declarations (`pnpm test` builds first). The
 * repository's own paths point at the sources, and checking a few blocks against them type-checked
 * every package again: 20 s of a 30 s budget on a loaded machine, for what takes 5 s this way.
 */
const published = {
  '@mailroom/core': [join(root, 'packages/core/dist/index.d.ts')],
  '@mailroom/core/testing': [join(root, 'packages/core/dist/testing/index.d.ts')],
  '@mailroom/core/post-office': [join(root, 'packages/core/dist/post-office/index.d.ts')],
  '@mailroom/server': [join(root, 'packages/server/dist/index.d.ts')],
  '@mailroom/http': [join(root, 'packages/http/dist/index.d.ts')],
  '@mailroom/ai': [join(root, 'packages/ai/dist/index.d.ts')],
};

/** Writes blocks as modules and type-checks (or builds) them; returns tsc's complaints ('' when none). */
async function compile(dir: string, files: { name: string; text: string }[], emit: boolean): Promise<string> {
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f.name), f.text);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: emit ? { noEmit: false, outDir: 'out', rootDir: '.', paths: {} } : { paths: published },
      include: files.map((f) => f.name),
    }),
  );
  return runTsc(dir);
}

describe('the README', () => {
  it('has TypeScript blocks to check', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
  });

  it('every TypeScript block compiles (strict, as the tests are)', async () => {
    const files = blocks.map((b) => ({
      name: `block-${b.line}.ts`,
      text: `${b.prelude}\n${b.code}\nexport {};\n`,
    }));
    const errors = await compile(join(scratch, 'all'), files, false);
    // block-N.ts is the block that starts on README line N (after its prelude's lines).
    expect(errors).toBe('');
  });

  it('the first block (Getting started, "1. A first agent") runs and prints its outcome', async () => {
    const first = blocks[0];
    if (!first) throw new Error('no block');
    expect(first.prelude).toBe(''); // a user can paste it as it stands
    const dir = join(scratch, 'first');
    expect(await compile(dir, [{ name: 'first.ts', text: first.code }], true)).toBe('');
    const { stdout, stderr } = await run(process.execPath, [join(dir, 'out', 'first.js')], { timeout: 20_000 });
    expect(stderr).toBe('');
    expect(stdout).toContain("state: 'completed'");
    expect(stdout).toContain("result: { papers: [ 'about actor runtimes' ] }");
  });

  it('the tracing block runs, with an in-memory exporter as its exporter', async () => {
    const block = blocks.find((b) => b.code.includes('trace.setGlobalTracerProvider'));
    if (!block) throw new Error('no tracing block');
    const text = [
      "import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';",
      "import { Agent as A } from '@mailroom/core';",
      'const exporter = new InMemorySpanExporter();',
      block.code,
      // "… spawn agents": a task and its answer, traced.
      "class Worker extends A { override async onTask() { return 'done'; } }",
      "const worker = await runtime.spawn(new Worker(), { id: 'worker' });",
      "const me = await runtime.spawn(new (class extends A {})(), { id: 'requester' });",
      "const { taskId } = await me.delegate(worker.address, { name: 'work', description: 'traced' });",
      'const [outcome] = await me.collect([taskId], { timeoutMs: 5_000 });',
      'await runtime.stop(); await provider.forceFlush();',
      'const names = new Set(exporter.getFinishedSpans().map((s) => s.name.split(" ")[0]));',
      'await provider.shutdown();',
      "console.log(outcome?.state, [...names].sort().join(','));",
      'export {};',
    ].join('\n');
    const dir = join(scratch, 'tracing');
    expect(await compile(dir, [{ name: 'tracing.ts', text }], true)).toBe('');
    const { stdout, stderr } = await run(process.execPath, [join(dir, 'out', 'tracing.js')], { timeout: 20_000 });
    expect({ stdout, stderr }).toEqual({ stdout: 'completed process,receive,send\n', stderr: '' });
  });
});
