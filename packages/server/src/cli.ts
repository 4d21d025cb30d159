#!/usr/bin/env node
/**
 * The `mailroom-server` command: the Agent Email API on a SQLite or PostgreSQL post office
 * (`mailroom-server --help`), and the commands an operator manages its accounts with. Importing it runs it.
 * @module @mailroom/server/cli
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConflictError, MailroomError, NotFoundError, ValidationError } from '@mailroom/core';
import type { PostOffice } from '@mailroom/core/post-office';
import type { Logger } from 'pino';
import { type AccountAdmin, hasAccountAdmin } from './accounts.js';
import { buildServer } from './app.js';
import { type Command, helpText, readInvocation, UsageError, type Values } from './cli-config.js';
import { cliLogger, type LogFormat } from './cli-logger.js';
import { describeDb, isPostgresUrl, openPostOffice } from './open-post-office.js';

/** A bad flag or variable is answered in one line (no stack, no help text): exit code 2. */
function fail(message: string): never {
  process.stderr.write(`mailroom-server: ${message.split('\n')[0]} (see --help)\n`);
  process.exit(2);
}

let invocation: ReturnType<typeof readInvocation>;
try {
  invocation = readInvocation(process.argv.slice(2), process.env);
} catch (err) {
  if (err instanceof UsageError) fail(err.message);
  throw err;
}
if (invocation.help) {
  process.stdout.write(`${helpText()}\n`);
  process.exit(0);
}
const { command, agentId, values, sources } = invocation;

const db = String(values.db);
if (db !== ':memory:' && !isPostgresUrl(db) && !existsSync(dirname(resolve(db)))) {
  fail(`${sources.db} ${db}: the folder ${dirname(resolve(db))} does not exist`);
}
// The server logs to stdout; a command prints its answer there, so its log goes to stderr.
const logger = cliLogger({
  level: String(values['log-level']),
  format: values['log-format'] as LogFormat,
  fd: command === 'serve' ? 1 : 2,
});

let office: Awaited<ReturnType<typeof openPostOffice>>;
try {
  office = await openPostOffice({
    db,
    domain: String(values.domain).toLowerCase(),
    limits: { hourly: Number(values['hourly-limit']), daily: Number(values['daily-limit']) },
    logger,
    durability: values.durability as 'full' | 'fast',
    busyTimeoutMs: Number(values['busy-timeout']),
  });
} catch (err) {
  // A bad option (a domain that is not one) is the operator's: one line. Anything else is logged whole.
  if (err instanceof ValidationError) fail(`${sources.domain}: ${err.message}`);
  logger.error({ err, db: describeDb(db) }, 'could not open the database');
  process.exit(1);
}

if (command === 'serve') await serve(office, values);
else await manage(command, agentId as string, office);

/** `register`, `rotate-key`, `revoke-key`, `accounts`: one change to the store, then exit. */
async function manage(
  cmd: Exclude<Command, 'serve'>,
  id: string,
  opened: Awaited<ReturnType<typeof openPostOffice>>,
): Promise<never> {
  const po: PostOffice = opened.postOffice;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  let code = 0;
  try {
    if (!hasAccountAdmin(po)) throw new Error('this store cannot manage accounts');
    const admin: AccountAdmin = po;
    if (cmd === 'register') {
      const r = await po.register({ agent_id: id });
      out(r.api_key);
      say(`registered ${r.email_address}; its API key (above) is shown once: the store keeps only its hash`);
    } else if (cmd === 'rotate-key') {
      const r = await admin.rotateKey(id);
      out(r.api_key);
      say(`new API key (above) for ${r.email_address}; the old key no longer works`);
    } else if (cmd === 'revoke-key') {
      const s = await admin.revokeKey(id);
      say(`revoked the API key of ${s.email_address}: no key opens it until \`mailroom-server rotate-key ${id}\``);
    } else {
      out(['agent_id', 'address', 'key', 'created_at', 'sent', 'received'].join('\t'));
      let cursor: string | undefined;
      do {
        const page = await admin.listAccounts({ limit: 1000, ...(cursor ? { cursor } : {}) });
        for (const a of page.accounts) {
          out([a.agent_id, a.email_address, a.key_status, a.created_at, a.total_sent, a.total_received].join('\t'));
        }
        cursor = page.cursor ?? undefined;
      } while (cursor);
    }
  } catch (err) {
    code = 1;
    if (err instanceof ConflictError) {
      say(
        `mailroom-server: agent id ${id} is taken; to give it a new key (its old one stops working): mailroom-server rotate-key ${id}`,
      );
    } else if (err instanceof NotFoundError) {
      say(`mailroom-server: no account ${id} in ${describeDb(db)}; create it with: mailroom-server register ${id}`);
    } else if (err instanceof ValidationError) {
      say(`mailroom-server: ${err.message}`);
      code = 2;
    } else if (err instanceof MailroomError) {
      say(`mailroom-server: ${err.message}`);
    } else {
      logger.error({ err, db: describeDb(db) }, `${cmd} failed`);
    }
  }
  await opened.close();
  process.exit(code);
}

async function serve(opened: Awaited<ReturnType<typeof openPostOffice>>, v: Values): Promise<void> {
  const { postOffice } = opened;
  const adminKey = v['admin-key'] as string | undefined;
  const publicUrl = v['public-url'] as string | undefined;
  const host = String(v.host);
  const app = buildServer({
    postOffice,
    logger,
    logRequests: v['no-request-log'] !== true,
    requestTimeoutMs: Number(v['request-timeout']),
    maxConnections: Number(v['max-connections']),
    ...(publicUrl ? { publicUrl } : {}),
    ...(adminKey ? { adminKey } : {}),
  });

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'closing');
    await app.close();
    await opened.close();
    logger.info('closed');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  if (!adminKey) warnOpen(logger, host);
  try {
    await app.listen({ host, port: Number(v.port) });
  } catch (err) {
    logger.error({ err }, 'could not listen');
    process.exit(1);
  }
  const address = app.server.address();
  const url =
    typeof address === 'object' && address
      ? `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`
      : String(address);
  // Where a person opens the dashboard: the public URL when one is set (behind a proxy), else ours.
  const dashboard = `${(publicUrl ?? url).replace(/\/+$/, '')}/ui`;
  logger.info(
    {
      url,
      db: describeDb(db),
      domain: postOffice.domain,
      admin: adminKey ? 'required' : 'open',
      durability: v.durability,
    },
    `listening on ${url}`,
  );
  // A line of its own: scripts (ours among them) read the URL at the end of the line above.
  logger.info({ dashboard }, `dashboard at ${dashboard} (sign in with the admin key or an agent's API key)`);
}

function warnOpen(log: Logger, host: string): void {
  log.warn(
    { host },
    'registration is open: anyone who can reach this server can register agents, and the admin API is off; set --admin-key or MAILROOM_ADMIN_KEY',
  );
}
