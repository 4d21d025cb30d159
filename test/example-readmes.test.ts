import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tsBlocks } from './support/readme-blocks.js';
import { runTsc } from './support/tsc.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// Inside the repository, so that `@mailroom/*` resolves as it does for the README's blocks.
const scratch = join(root, 'test', `.readme-examples-${process.pid}`);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The runnable examples: every folder of examples/ with a main.ts (support is a library). */
const examples = readdirSync(join(root, 'examples')).filter((name) =>
  existsSync(join(root, 'examples', name, 'src', 'main.ts')),
);

describe("the examples' READMEs", () => {
  it('every example has one that says how to run it and shows how its runtime is built', () => {
    expect(examples.length).toBeGreaterThanOrEqual(8);
    for (const name of examples) {
      const path = join(root, 'examples', name, 'README.md');
      expect(existsSync(path), `examples/${name}/README.md`).toBe(true);
      const text = readFileSync(path, 'utf8');
      expect(text, name).toContain(`node examples/${name}/dist/main.js`);
      const blocks = tsBlocks(path);
      expect(
        blocks.some((b) => b.code.includes('createRuntime(')),
        `${name}: a TypeScript block that builds the runtime`,
      ).toBe(true);
      // And the example builds it the same way itself, not behind a helper.
      const sources = readdirSync(join(root, 'examples', name, 'src'))
        .map((f) => readFileSync(join(root, 'examples', name, 'src', f), 'utf8'))
        .join('\n');
      expect(sources, name).toContain('createRuntime(');
      expect(sources, name).not.toContain('exampleRuntime(');
    }
  });

  it('every TypeScript block in them compiles (strict, as the tests are)', async () => {
    const files = examples.flatMap((name) =>
      tsBlocks(join(root, 'examples', name, 'README.md')).map((b) => ({
        name: `${name}-${b.line}.ts`,
        text: `${b.prelude}\n${b.code}\nexport {};\n`,
      })),
    );
    mkdirSync(scratch, { recursive: true });
    for (const f of files) writeFileSync(join(scratch, f.name), f.text);
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({ extends: join(root, 'tsconfig.json'), include: files.map((f) => f.name) }),
    );
    // {example}-N.ts is the block that starts on line N of that example's README.
    expect(await runTsc(scratch)).toBe('');
  });
});

describe('examples/support', () => {
  it('is not an example (no main.ts) and has a README that says it is shared code', () => {
    expect(existsSync(join(root, 'examples', 'support', 'src', 'main.ts'))).toBe(false);
    const text = readFileSync(join(root, 'examples', 'support', 'README.md'), 'utf8');
    expect(text).toContain('Not an example: the code the examples share');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain('`examples/support` is not an example but the command-line code they share');
  });
});
