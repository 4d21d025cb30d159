// pnpm bench [ID…]: runs the benchmarks (all, or those named), prints a table and writes
// bench/results.json (figures of benchmarks not run this time are kept from the last run).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { p1 } from './p1-throughput.js';
import { p2 } from './p2-latency.js';
import { p3 } from './p3-http.js';
import { p4 } from './p4-idle.js';
import { p5 } from './p5-scheduler.js';
import { p6 } from './p6-scatter.js';
import { p7 } from './p7-replicas.js';
import { p8 } from './p8-workflows.js';
import type { BenchResult } from './result.js';

const all: Record<string, () => Promise<BenchResult>> = {
  P1: p1,
  P2: p2,
  P3: p3,
  P4: p4,
  P5: p5,
  P6: p6,
  P7: p7,
  P8: p8,
};

// Each benchmark runs in a process of its own, so that none pays for another's garbage or timers.
if (process.argv[2] === '--one') {
  const bench = all[process.argv[3] ?? ''];
  if (!bench) process.exit(2);
  process.stdout.write(`${JSON.stringify(await bench())}\n`);
  process.exit(0);
}

function runOne(id: string): Promise<BenchResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--one', id], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as BenchResult);
      else reject(new Error(`${id} failed (exit ${code}): ${out}`));
    });
  });
}

const asked = process.argv.slice(2).map((a) => a.toUpperCase());
const unknown = asked.filter((id) => !(id in all));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(all).join(', ')}`);
  process.exit(2);
}
const ids = asked.length > 0 ? asked : Object.keys(all);
const file = fileURLToPath(new URL('../results.json', import.meta.url));
const previous: BenchResult[] = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : [];
const results = new Map(previous.map((r) => [r.id, r]));

for (const id of ids) {
  process.stdout.write(`running ${id}… `);
  const r = await runOne(id);
  results.set(id, { ...r, measuredAt: new Date().toISOString(), node: process.version });
  console.log(`${r.value} ${r.unit}${r.ratio !== undefined ? ` (ratio ${r.ratio})` : ''}`);
}

const sorted = [...results.values()].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
writeFileSync(file, `${JSON.stringify(sorted, null, 2)}\n`);
console.table(
  sorted.map((r) => ({
    id: r.id,
    value: r.value,
    unit: r.unit,
    baseline: r.baseline ? `${r.baseline.value} (${r.baseline.name})` : '',
    ratio: r.ratio ?? '',
    target: r.target ?? '',
  })),
);
console.log(`written to ${file}`);
