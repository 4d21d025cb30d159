#!/usr/bin/env node
// pnpm soak: the long versions of the reliability suite, then a summary table.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const reportFile = join(tmpdir(), `mailroom-soak-${process.pid}.jsonl`);
rmSync(reportFile, { force: true });
const env = {
  ...process.env,
  SOAK_REPORT: reportFile,
  R1_TASKS: process.env.R1_TASKS ?? '100000',
  R2_TASKS: process.env.R2_TASKS ?? '2000',
  R3_MESSAGES: process.env.R3_MESSAGES ?? '100',
  R3_STALL_MS: process.env.R3_STALL_MS ?? '2000',
  R4_REQUESTS: process.env.R4_REQUESTS ?? '10000',
  R4_MAILS: process.env.R4_MAILS ?? '10000',
  R4_CODEC_RUNS: process.env.R4_CODEC_RUNS ?? '10000',
};
const cycles = Number(process.env.SOAK_CYCLES ?? 3);
let failed = false;
for (let i = 1; i <= cycles; i++) {
  console.log(`soak cycle ${i} of ${cycles}`);
  const run = spawnSync(
    'npx',
    [
      'vitest',
      'run',
      'test/reliability.test.ts',
      'test/kill.test.ts',
      'test/faults.test.ts',
      '--testTimeout',
      '900000',
      '--hookTimeout',
      '60000',
    ],
    { env, stdio: 'inherit' },
  );
  if (run.status !== 0) failed = true;
}
const rows = existsSync(reportFile)
  ? readFileSync(reportFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
rmSync(reportFile, { force: true });
const total = (key) => rows.reduce((n, r) => n + r[key], 0);
console.table([
  ...rows,
  {
    test: 'total',
    tasks: total('tasks'),
    completed: total('completed'),
    deadLettered: total('deadLettered'),
    lost: total('lost'),
    duplicates: total('duplicates'),
    faults: total('faults'),
  },
]);
if (failed || total('lost') > 0 || total('duplicates') > 0) {
  console.error('soak: FAILED');
  process.exit(1);
}
console.log('soak: 0 lost, 0 duplicates');
