import type { Thread } from '../wire/model.js';
import { renderTimelineText, type TimelineEntry, timeline } from './timeline.js';

const name = (address: string) => address.split('@')[0] ?? address;

/** The participants of a timeline, in order of first appearance. */
function actors(entries: readonly TimelineEntry[]): string[] {
  const seen: string[] = [];
  for (const e of entries) for (const a of [e.from, ...e.to]) if (!seen.includes(a)) seen.push(a);
  return seen;
}

/** A Mermaid sequence diagram of a timeline: one arrow per message, every recipient. */
export function renderMermaid(entries: readonly TimelineEntry[]): string {
  const ids = new Map(actors(entries).map((a, i) => [a, `p${i}`]));
  const esc = (s: string) => s.replace(/#/g, '#35;').replace(/;/g, '#59;').replace(/\n/g, ' ');
  const lines = ['sequenceDiagram'];
  for (const [address, id] of ids) lines.push(`  participant ${id} as ${esc(name(address))}`);
  for (const e of entries) {
    for (const to of e.to) lines.push(`  ${ids.get(e.from)}->>${ids.get(to)}: ${esc(e.subject)} (+${e.elapsedMs} ms)`);
  }
  return lines.join('\n');
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The sequence diagram as inline SVG (no script, no network: the page stands alone). */
export function renderSvg(entries: readonly TimelineEntry[]): string {
  const people = actors(entries);
  const col = 200;
  const row = 44;
  const x = (a: string) => 100 + people.indexOf(a) * col;
  const height = 90 + entries.length * row;
  const width = Math.max(400, 200 + (people.length - 1) * col);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="sequence" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>',
  ];
  for (const a of people) {
    parts.push(
      `<g class="participant"><rect x="${x(a) - 70}" y="10" width="140" height="28" rx="4" fill="#eef" stroke="#336"/>` +
        `<text x="${x(a)}" y="29" text-anchor="middle">${xml(name(a))}</text>` +
        `<line x1="${x(a)}" y1="38" x2="${x(a)}" y2="${height - 10}" stroke="#99a" stroke-dasharray="4 3"/></g>`,
    );
  }
  entries.forEach((e, i) => {
    const y = 70 + i * row;
    for (const to of e.to) {
      const [x1, x2] = [x(e.from), x(to)];
      const self = x1 === x2;
      parts.push(
        `<g class="message" data-message-id="${xml(e.messageId)}">` +
          (self
            ? `<path d="M${x1},${y} h40 v14 h-40" fill="none" stroke="#333" marker-end="url(#arrow)"/>`
            : `<line x1="${x1}" y1="${y}" x2="${x2}" y2="${y}" stroke="#333" marker-end="url(#arrow)"/>`) +
          `<text x="${(x1 + x2) / 2 + (self ? 50 : 0)}" y="${y - 6}" text-anchor="middle">${xml(e.subject)}</text></g>`,
      );
    }
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** A self-contained HTML page of a thread: the diagram, the timeline, the Mermaid source. */
export function renderThreadHtml(thread: Thread): string {
  const entries = timeline(thread);
  const rows = entries
    .map(
      (e) =>
        `<tr data-message-id="${xml(e.messageId)}"><td>+${e.elapsedMs} ms</td><td>${xml(e.at)}</td><td>${xml(name(e.from))}</td>` +
        `<td>${xml(e.to.map(name).join(', '))}</td><td>${xml(e.subject)}</td><td>${xml(e.state ?? '')}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${xml(thread.subject)} — Mailroom thread</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style>
</head><body>
<h1>${xml(thread.subject)}</h1>
<p>Thread <code>${xml(thread.thread_id)}</code>: ${entries.length} messages between ${xml(thread.participant_addresses.join(', '))}.</p>
${renderSvg(entries)}
<table><thead><tr><th>elapsed</th><th>at</th><th>from</th><th>to</th><th>subject</th><th>task state</th></tr></thead><tbody>
${rows}
</tbody></table>
<details><summary>Mermaid</summary><pre>${xml(renderMermaid(entries))}</pre></details>
<details><summary>Text</summary><pre>${xml(renderTimelineText(entries))}</pre></details>
</body></html>
`;
}
