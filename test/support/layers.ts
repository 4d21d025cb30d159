import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative } from 'node:path';

/**
 * The layers of `packages/core/src`, bottom up. A file may import from its own folder and from
 * folders below it; folders in one row are siblings and never import each other. `testing/` stands
 * apart: it may import anything, and nothing but an entry point imports it.
 */
export const CORE_LAYERS: readonly (readonly string[])[] = [
  ['errors.ts'],
  ['wire'],
  ['time'],
  ['tracing'],
  ['protocol'],
  ['mailbox'],
  ['post-office'],
  ['inbox', 'outbox'],
  ['tasks'],
  ['audit'],
  ['agents'],
  ['supervision', 'routing'],
  ['runtime'],
  ['index.ts'],
];
const APART = 'testing';

/** One import of one file: `from` and `to` are paths relative to the source root. */
export type ImportEdge = { from: string; to: string; typeOnly: boolean };

const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;

/** The relative imports of every non-test `.ts` file under `root` (type imports included). */
export function importsOf(root: string): ImportEdge[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return walk(path);
      return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
    });
  const edges: ImportEdge[] = [];
  for (const path of walk(root)) {
    const from = relative(root, path).split('\\').join('/');
    const text = readFileSync(path, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = (m[3] ?? m[4]) as string;
      const to = posix.normalize(posix.join(posix.dirname(from), spec)).replace(/\.js$/, '.ts');
      edges.push({ from, to, typeOnly: m[2] !== undefined });
    }
  }
  return edges;
}

/** The layer (top folder, or file at the root) a path belongs to. */
const layerOf = (path: string): string => path.split('/')[0] as string;

/** Every import that goes up (or sideways) a layer, as readable lines. */
export function layerViolations(edges: readonly ImportEdge[], layers = CORE_LAYERS): string[] {
  const rank = (layer: string) => layers.findIndex((row) => row.includes(layer));
  const out: string[] = [];
  for (const { from, to } of edges) {
    const a = layerOf(from);
    const b = layerOf(to);
    if (a === b) continue;
    if (a === APART) continue;
    if (b === APART) {
      if (a !== 'index.ts') out.push(`${from} imports ${to}: only tests and entry points use testing/`);
      continue;
    }
    const ra = rank(a);
    const rb = rank(b);
    if (ra < 0 || rb < 0) out.push(`${from} imports ${to}: ${ra < 0 ? a : b} is in no layer`);
    else if (rb > ra) out.push(`${from} (${a}) imports ${to} (${b}), a higher layer`);
    else if (rb === ra) out.push(`${from} (${a}) imports ${to} (${b}), a sibling layer`);
  }
  return out;
}

/** Every import cycle between files (type imports included), each as `a → b → … → a`. */
export function importCycles(edges: readonly ImportEdge[]): string[] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const to of next.get(file) ?? []) {
      if (state.get(to) === 'open') cycles.push([...stack.slice(stack.indexOf(to)), to].join(' → '));
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of next.keys()) if (!state.has(file)) visit(file);
  return cycles;
}
