import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryPostOffice } from '@mailroom/core';
import { leaseConformance } from '@mailroom/core/testing';
import { SqlitePostOffice } from '@mailroom/server';
import { afterAll } from 'vitest';

// The lease extension on the one-process post offices (PostgreSQL's runs in postgres-post-office.test.ts).
const dir = mkdtempSync(join(tmpdir(), 'mailroom-leases-'));
const sqlite: SqlitePostOffice[] = [];
afterAll(() => {
  for (const po of sqlite) po.close();
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;

leaseConformance('MemoryPostOffice', (options) => new MemoryPostOffice(options));
leaseConformance('SqlitePostOffice', (options) => {
  const po = new SqlitePostOffice({ ...options, path: join(dir, `leases-${++n}.db`) });
  sqlite.push(po);
  return po;
});
