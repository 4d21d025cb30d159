// pnpm bench [--rounds N] [ID…]: runs the benchmarks (all, or those named), each N times (default 3,
// or BENCH_ROUNDS) in a fresh process, prints a table and writes bench/results.json: every figure is
// the median of the rounds, with min and max beside it, and the machine's load average when the run
// began (figures of benchmarks not run this time are kept from the last run).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { p1 } from './p1-throughput.js';
import { p2 } from './p2-latency.js';
import { p3 } from './p3-http.js';
import { p4 } from './p4-idle.js';
import { p5 } from './p5-scheduler.js';
import { p6 } from './p6-scatter.js';
import { p7 } from './p7-replicas.js';
import { p8 } from './p8-workflows.js';
import { type BenchResult, medianOfRounds } from './result.js';

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

const argv = process.argv.slice(2);
const roundsAt = argv.indexOf('--rounds');
const rounds = Number(roundsAt >= 0 ? argv.splice(roundsAt, 2)[1] : (process.env.BENCH_ROUNDS ?? 3));
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error('--rounds (or BENCH_ROUNDS) must be a whole number ≥ 1');
  process.exit(2);
}
const asked = argv.map((a) => a.toUpperCase());
const unknown = asked.filter((id) => !(id in all));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(all).join(', ')}`);
  process.exit(2);
}
const ids = asked.length > 0 ? asked : Object.keys(all);
const file = fileURLToPath(new URL('../results.json', import.meta.url));
const previous: BenchResult[] = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : [];
const results = new Map(previous.map((r) => [r.id, r]));

/** Load average over 1, 5 and 15 minutes, two decimals. */
const load = () => loadavg().map((n) => Number(n.toFixed(2)));
const runStart = load();
const cores = availableParallelism();
// A noisy run shows here: a load average near or above the number of cores means the figures are low.
console.log(`load average ${runStart.join(' ')} (1, 5, 15 min) on ${cores} cores; ${rounds} round(s) each`);

const span = (r: { min: number; max: number } | undefined) => (r ? ` [${r.min}–${r.max}]` : '');
for (const id of ids) {
  const before = load();
  const each: BenchResult[] = [];
  for (let i = 0; i < rounds; i++) {
    process.stdout.write(`running ${id} ${i + 1}/${rounds}… `);
    const r = await runOne(id);
    each.push(r);
    console.log(`${r.value} ${r.unit}${r.ratio !== undefined ? ` (ratio ${r.ratio})` : ''}`);
  }
  const r = medianOfRounds(each);
  results.set(id, {
    ...r,
    measuredAt: new Date().toISOString(),
    node: process.version,
    load: { runStart, before, after: load(), cores },
  });
  if (rounds > 1) {
    const range = r.range as Record<string, { min: number; max: number }>;
    console.log(
      `${id}: median ${r.value}${span(range.value)} ${r.unit}${r.ratio !== undefined ? `, ratio ${r.ratio}${span(range.ratio)}` : ''}`,
    );
  }
}

const sorted = [...results.values()].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
writeFileSync(file, `${JSON.stringify(sorted, null, 2)}\n`);
const rangeOf = (r: BenchResult, key: string) => span((r.range as Record<string, { min: number; max: number }>)?.[key]);
console.table(
  sorted.map((r) => ({
    id: r.id,
    value: `${r.value}${rangeOf(r, 'value')}`,
    unit: r.unit,
    baseline: r.baseline ? `${r.baseline.value}${rangeOf(r, 'baseline.value')} (${r.baseline.name})` : '',
    ratio: r.ratio !== undefined ? `${r.ratio}${rangeOf(r, 'ratio')}` : '',
    target: r.target ?? '',
  })),
);
console.log(`written to ${file}`);
