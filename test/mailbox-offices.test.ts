import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { LocalMailbox } from '@mailroom/core';
import { mailboxConformance } from '@mailroom/core/testing';
import { PostgresPostOffice, pgDatabase, pgliteDatabase, SqlitePostOffice } from '@mailroom/server';
import { freshDatabase, postgresReachable } from './support/postgres.js';

// The Mailbox contract (push and concurrent sends included) on every post office, in process; the
// server behind HttpMailbox is held to it in http-mailbox.test.ts, the memory office in core.

mailboxConformance('LocalMailbox on SqlitePostOffice', async ({ clock }) => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-mailbox-'));
  const po = new SqlitePostOffice({ path: join(dir, 'mail.db'), clock });
  return {
    async agent(agentId, options = {}) {
      const { email_address } = await po.register({ agent_id: agentId });
      if (options.hourly !== undefined) po.setLimits(email_address, { hourly: options.hourly });
      return new LocalMailbox(po, email_address);
    },
    async close() {
      po.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

mailboxConformance('LocalMailbox on PostgresPostOffice on PGlite', async ({ clock }) => {
  const database = pgliteDatabase(await PGlite.create());
  const po = await PostgresPostOffice.open({ database, ownsDatabase: true, clock });
  return {
    async agent(agentId, options = {}) {
      const { email_address } = await po.register({ agent_id: agentId });
      if (options.hourly !== undefined) await po.setLimits(email_address, { hourly: options.hourly });
      return new LocalMailbox(po, email_address);
    },
    close: () => po.close(),
  };
});

const server = await postgresReachable();
if (server) {
  mailboxConformance('LocalMailbox on PostgresPostOffice on the PostgreSQL server', async ({ clock }) => {
    const fresh = await freshDatabase();
    const po = await PostgresPostOffice.open({
      database: pgDatabase({ connectionString: fresh.url, max: 4 }),
      ownsDatabase: true,
      clock,
    });
    return {
      async agent(agentId, options = {}) {
        const { email_address } = await po.register({ agent_id: agentId });
        if (options.hourly !== undefined) await po.setLimits(email_address, { hourly: options.hourly });
        return new LocalMailbox(po, email_address);
      },
      async close() {
        await po.close();
        await fresh.drop();
      },
    };
  });
}
