import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { runTsc } from './support/tsc.js';

// These tests read the built package (`pnpm test` builds first), as a user who installed it would.
const core = fileURLToPath(new URL('../packages/core/', import.meta.url));
const dist = join(core, 'dist');
const run = promisify(execFile);
const scratch = join(core, `.consumer-${process.pid}`);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));

describe('entry points by audience', () => {
  it('@mailroom/core names about 60 things a user writes agents with, and no internals', async () => {
    const names = Object.keys(await import(pathToFileURL(join(dist, 'index.js')).href));
    expect(names.length).toBeLessThanOrEqual(60);
    expect(names).toEqual(expect.arrayContaining(['Agent', 'createRuntime', 'MemoryPostOffice', 'hubAndSpoke']));
    for (const internal of [
      'SkipList',
      'HideableList',
      'InFlight',
      'SharedTimer',
      'TaskRegistry',
      'VirtualTime',
      'assertQuota',
      'encodeCursor',
    ])
      expect(names).not.toContain(internal);
  });

  it('@mailroom/core/post-office holds the kit an implementation needs', async () => {
    const kit = await import(pathToFileURL(join(dist, 'post-office', 'index.js')).href);
    for (const name of [
      'assertQuota',
      'countSend',
      'planSend',
      'encodeCursor',
      'decodeCursor',
      'hashKey',
      'WakeUps',
      'RateLimitBody',
    ])
      expect(kit).toHaveProperty(name);
  });

  it('no @internal member reaches the published .d.ts', () => {
    const leaks = walk(dist).filter((f) => f.endsWith('.d.ts') && readFileSync(f, 'utf8').includes('@internal'));
    expect(leaks).toEqual([]);
  });

  it('the published types compile in a strict project without skipLibCheck', async () => {
    mkdirSync(scratch, { recursive: true });
    writeFileSync(
      join(scratch, 'use.ts'),
      [
        "import { Agent, createRuntime, MemoryPostOffice, type Task } from '@mailroom/core';",
        "import { planSend } from '@mailroom/core/post-office';",
        "import { ManualClock, VirtualTime } from '@mailroom/core/testing';",
        'class A extends Agent { override onTask(t: Task) { return t.name; } }',
        'export const all = [A, createRuntime, MemoryPostOffice, planSend, ManualClock, VirtualTime];',
      ].join('\n'),
    );
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [fileURLToPath(new URL('../node_modules/@types', import.meta.url))],
        },
        files: ['use.ts'],
      }),
    );
    expect(await runTsc(scratch)).toBe('');
  });

  it('@mailroom/core/testing gives ManualClock and VirtualTime in a project without vitest', async () => {
    // A resolve hook makes `vitest` unfindable, as in a project that never installed it.
    mkdirSync(scratch, { recursive: true });
    writeFileSync(
      join(scratch, 'no-vitest.mjs'),
      "export async function resolve(s, c, next) { if (s === 'vitest' || s.startsWith('vitest/')) { const e = new Error('Cannot find package vitest'); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; } return next(s, c); }",
    );
    writeFileSync(
      join(scratch, 'register.mjs'),
      "import { register } from 'node:module'; register('./no-vitest.mjs', import.meta.url);",
    );
    const program = `
      const t = await import(${JSON.stringify(pathToFileURL(join(dist, 'testing', 'index.js')).href)});
      const clock = new t.ManualClock(1000); clock.advance(500);
      const vt = new t.VirtualTime();
      let fired = false; vt.scheduler.schedule(() => { fired = true; }, 50); await vt.advance(50);
      let suite = 'ran';
      try { t.postOfficeConformance('x', () => { throw new Error('unused'); }); } catch (e) { suite = e.message; }
      console.log(JSON.stringify({ now: clock.now(), fired, suite }));`;
    const { VITEST: _v, VITEST_POOL_ID: _p, VITEST_WORKER_ID: _w, ...env } = process.env;
    const { stdout } = await run(
      process.execPath,
      ['--import', pathToFileURL(join(scratch, 'register.mjs')).href, '--input-type=module', '-e', program],
      { env },
    );
    expect(JSON.parse(stdout)).toEqual({
      now: 1500,
      fired: true,
      suite: 'the conformance suites run inside a vitest run (install vitest and call them from a test file)',
    });
  });
});
