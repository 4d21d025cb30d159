// What a user installs: each package packed as `pnpm pack` makes it, installed from the tarballs
// into a scratch project with `npm install --engine-strict`, and the README's first block run there.
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tsBlocks } from './support/readme-blocks.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const packages = ['core', 'http', 'server', 'ai'] as const;
const nodeMajor = Number(process.versions.node.split('.')[0]);
/** npm and every script it starts run on the Node that runs this test. */
const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };

type Packed = { name: string; dir: string; filename: string; files: string[] };
const work = mkdtempSync(join(tmpdir(), 'mailroom-pack-'));
const scratch = join(work, 'scratch');
const packed: Packed[] = [];
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  for (const p of packages) {
    const dir = join(root, 'packages', p);
    if (!existsSync(join(dir, 'dist', 'index.js')))
      throw new Error(`packages/${p}/dist is missing: run pnpm build first`);
  }
  // One at a time: pnpm pack reads the workspace's lockfile and writes nothing else.
  for (const p of packages) {
    const dir = join(root, 'packages', p);
    const { stdout } = await run('pnpm', ['pack', '--json', '--pack-destination', work], { cwd: dir, env });
    const json = JSON.parse(stdout) as { name: string; filename: string; files: { path: string }[] };
    packed.push({ name: json.name, dir, filename: json.filename, files: json.files.map((f) => f.path) });
  }
}, 120_000);

/** Every file under dir. */
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

describe('the packed packages', () => {
  it('each tarball holds its README, the LICENSE, dist and its sources, and no tests', () => {
    const license = readFileSync(join(root, 'LICENSE'), 'utf8');
    expect(license).toContain('MIT License');
    expect(packed.map((p) => p.name)).toEqual(packages.map((p) => `@mailroom/${p}`));
    for (const p of packed) {
      expect(p.files, p.name).toContain('README.md');
      expect(p.files, p.name).toContain('LICENSE');
      expect(p.files, p.name).toContain('package.json');
      expect(p.files, p.name).toContain('dist/index.js');
      expect(p.files, p.name).toContain('dist/index.d.ts');
      expect(p.files, p.name).toContain('src/index.ts');
      expect(readFileSync(join(p.dir, 'LICENSE'), 'utf8'), `${p.name}: LICENSE is the root's`).toBe(license);
      expect(
        p.files.filter((f) => /\.test\.|\.tsbuildinfo$|(^|\/)test\//.test(f)),
        p.name,
      ).toEqual([]);
      const manifest = JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8'));
      expect(manifest.engines, p.name).toEqual({ node: '>=22' });
      expect(manifest.license, p.name).toBe('MIT');
    }
  });

  it.runIf(nodeMajor < 22)(
    `npm install --engine-strict refuses them on Node ${process.versions.node} (they need Node 22)`,
    async () => {
      const dir = join(work, 'old-node');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), '{ "name": "old-node", "private": true, "type": "module" }\n');
      const err = await run(
        'npm',
        ['install', '--engine-strict', '--no-audit', '--no-fund', '--prefer-offline', ...packed.map((p) => p.filename)],
        { cwd: dir, env, timeout: 120_000 },
      ).then(
        () => undefined,
        (e: { stderr?: string }) => e,
      );
      expect(err?.stderr ?? '').toContain('EBADENGINE');
      expect(err?.stderr ?? '').toMatch(/Required: \{"node":">=22"\}/);
    },
    130_000,
  );

  describe.runIf(nodeMajor >= 22)(`installed with npm install --engine-strict on Node ${process.versions.node}`, () => {
    beforeAll(async () => {
      mkdirSync(scratch, { recursive: true });
      writeFileSync(join(scratch, 'package.json'), '{ "name": "scratch", "private": true, "type": "module" }\n');
      // The tarballs' own dependencies come from the registry (or npm's cache).
      await run(
        'npm',
        ['install', '--engine-strict', '--no-audit', '--no-fund', '--prefer-offline', ...packed.map((p) => p.filename)],
        { cwd: scratch, env, timeout: 240_000 },
      );
    }, 250_000);

    it("runs the README's first block, compiled against the installed packages, and prints its outcome", async () => {
      const first = tsBlocks(join(root, 'README.md'))[0];
      if (!first) throw new Error('the README has no TypeScript block');
      expect(first.prelude).toBe(''); // a user pastes it as it stands
      writeFileSync(join(scratch, 'first.ts'), first.code);
      // Every entry point, by its public name: `exports` and `types` must resolve.
      writeFileSync(
        join(scratch, 'entries.ts'),
        [
          "import * as ai from '@mailroom/ai';",
          "import * as core from '@mailroom/core';",
          "import * as postOffice from '@mailroom/core/post-office';",
          "import * as testing from '@mailroom/core/testing';",
          "import * as http from '@mailroom/http';",
          "import * as server from '@mailroom/server';",
          'const { ModelAgent } = ai;',
          'const { createRuntime } = core;',
          'const { VirtualTime } = testing;',
          'const { HttpMailbox } = http;',
          'const { buildServer, SqlitePostOffice } = server;',
          'console.log(JSON.stringify({ core: Object.keys(core).length, postOffice: Object.keys(postOffice).length,',
          '  names: [ModelAgent, createRuntime, VirtualTime, HttpMailbox, buildServer, SqlitePostOffice].map((f) => f.name) }));',
          '',
        ].join('\n'),
      );
      // The packages' own README blocks, compiled as a user of the installed packages would.
      const readmeBlocks = packed.flatMap((p, i) =>
        tsBlocks(join(p.dir, 'README.md')).map((b, j) => ({
          name: `readme-${i}-${j}.ts`,
          text: `${b.code}\nexport {};\n`,
        })),
      );
      for (const b of readmeBlocks) writeFileSync(join(scratch, b.name), b.text);
      writeFileSync(
        join(scratch, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            outDir: 'out',
            rootDir: '.',
            // Our declaration files are checked too; a dependency's own are not ours to fix.
            skipLibCheck: false,
            types: ['node'],
            typeRoots: [join(root, 'node_modules', '@types')],
          },
          include: ['first.ts', 'entries.ts', ...readmeBlocks.map((b) => b.name)],
        }),
      );
      const complaints = await run(process.execPath, [tsc, '-p', scratch], { cwd: scratch, env }).then(
        () => '',
        (e: { stdout?: string }) => e.stdout ?? String(e),
      );
      const ours = complaints
        .split('\n')
        .filter((l) => /error TS/.test(l) && !/^node_modules\/(?!@mailroom\/)/.test(l));
      expect(ours).toEqual([]);

      const first$ = await run(process.execPath, [join(scratch, 'out', 'first.js')], {
        cwd: scratch,
        env,
        timeout: 20_000,
      });
      expect(first$.stderr).toBe('');
      expect(first$.stdout).toContain("state: 'completed'");
      expect(first$.stdout).toContain("result: { papers: [ 'about actor runtimes' ] }");

      const entries = await run(process.execPath, [join(scratch, 'out', 'entries.js')], { cwd: scratch, env });
      const counts = JSON.parse(entries.stdout) as { core: number; postOffice: number };
      expect(counts.core).toBeGreaterThan(40); // the root entry's names (at most 60: test/entry-points.test.ts)
      expect(counts.postOffice).toBeGreaterThan(0);
      expect(JSON.parse(entries.stdout)).toEqual({
        core: expect.any(Number),
        postOffice: expect.any(Number),
        names: ['ModelAgent', 'createRuntime', 'VirtualTime', 'HttpMailbox', 'buildServer', 'SqlitePostOffice'],
      });
    }, 60_000);

    it('the installed mailroom-server command answers --help', async () => {
      const { stdout } = await run(join(scratch, 'node_modules', '.bin', 'mailroom-server'), ['--help'], { env });
      expect(stdout).toContain('Usage:');
      expect(stdout).toContain('mailroom-server register <id>');
    });

    it('every source map of the installed packages points at files that are there', () => {
      const missing: string[] = [];
      let maps = 0;
      for (const p of packages) {
        const pkg = join(scratch, 'node_modules', '@mailroom', p);
        for (const file of walk(join(pkg, 'dist'))) {
          if (file.endsWith('.js')) {
            const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(file, 'utf8'))?.[1];
            if (url && !existsSync(resolve(dirname(file), url))) missing.push(`${relative(scratch, file)} → ${url}`);
          }
          if (!file.endsWith('.map')) continue;
          maps += 1;
          const map = JSON.parse(readFileSync(file, 'utf8')) as { sources: string[]; sourceRoot?: string };
          for (const source of map.sources) {
            const at = resolve(dirname(file), map.sourceRoot ?? '', source);
            if (!existsSync(at)) missing.push(`${relative(scratch, file)} → ${source}`);
          }
        }
      }
      expect(maps).toBeGreaterThan(50);
      expect(missing).toEqual([]);
    });
  });
});
