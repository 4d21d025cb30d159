import { readFileSync } from 'node:fs';

/** A ```ts block of a Markdown file, with the hidden prelude before it, if any. */
export type CodeBlock = { line: number; code: string; prelude: string };

const PRELUDE = /<!--\s*prelude:?\s*([\s\S]*?)-->\s*$/;

/**
 * The TypeScript blocks of a Markdown file. A block may be preceded by an HTML comment
 * `<!-- prelude: … -->` (invisible when rendered) holding the declarations a fragment needs to
 * compile: `declare const ctx: AgentContext;` and the like.
 */
export function tsBlocks(path: string): CodeBlock[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s*$/.test(lines[i] as string)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end] as string)) end++;
    let before = i - 1;
    while (before >= 0 && (lines[before] as string).trim() === '') before--;
    let prelude = '';
    if (before >= 0 && (lines[before] as string).trimEnd().endsWith('-->')) {
      let open = before;
      while (open >= 0 && !(lines[open] as string).includes('<!--')) open--;
      prelude = PRELUDE.exec(lines.slice(open, before + 1).join('\n'))?.[1]?.trim() ?? '';
    }
    blocks.push({ line: start + 1, code: lines.slice(start, end).join('\n'), prelude });
    i = end;
  }
  return blocks;
}
