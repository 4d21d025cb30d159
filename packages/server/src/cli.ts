#!/usr/bin/env node
/**
 * The `mailroom-server` command: the Agent Email API on a SQLite or PostgreSQL post office
 * (`mailroom-server --help`), and the commands an operator manages its accounts with. Importing it runs it.
 * @module @mailroom/server/cli
 */
import { existsSync, readFileSync } from 'node:fs';
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

/**
 * A failure that is not the command line's (the port taken, a file that is no database, PostgreSQL
 * unreachable): one line on stderr, exit code 1; the whole error is in the log at debug.
 */
function die(log: Logger, message: string, err: unknown, why = reason(err)): never {
  log.debug({ err }, message);
  process.stderr.write(`mailroom-server: ${message}${why ? `: ${why}` : ''}\n`);
  process.exit(1);
}

/** An error in a few words: its message's first line (an AggregateError's first error's), and its code. */
function reason(err: unknown): string {
  const e = err as Error & { code?: string; errors?: unknown[] };
  if (!e?.message && Array.isArray(e?.errors) && e.errors.length > 0) return reason(e.errors[0]);
  const text = (e?.message ?? String(err)).split('\n')[0] as string;
  return e?.code && !text.includes(e.code) ? `${text} (${e.code})` : text;
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
if (invocation.version) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`mailroom-server ${pkg.version}\n`);
  process.exit(0);
}
const { command, agentId, values, sources, given } = invocation;

const db = String(values.db);
const sqlite = db !== ':memory:' && !isPostgresUrl(db);
/** The database in the words of a message: the SQLite file's whole path, a URL without its password. */
const dbName = sqlite ? resolve(db) : describeDb(db);
if (command !== 'serve') {
  // An account command on a database that is not there would make a new, empty one: a key no
  // running server accepts, a list of nothing.
  if (db === ':memory:')
    fail(`${command} needs the server's database: ${sources.db} :memory: would be a new, empty one`);
  if (sqlite && !existsSync(dbName)) {
    fail(
      `no database at ${dbName} (${sources.db} ${db}): ${command} works on the database of a server; name the file it uses`,
    );
  }
} else if (sqlite && !existsSync(dirname(dbName))) {
  fail(`${sources.db} ${db}: the folder ${dirname(dbName)} does not exist`);
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
  // A bad option (a domain that is not one) is the operator's: one line, as is anything else.
  if (err instanceof ValidationError) fail(`${sources.domain}: ${err.message}`);
  die(logger, `could not open the database ${dbName}`, err);
}

if (command === 'serve') await serve(office, values);
else await manage(command, agentId as string, office);

/** `register`, `rotate-key`, `revoke-key`, `set-limits`, `accounts`: one change to the store, then exit. */
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
      say(
        `registered ${r.email_address} in ${dbName}; its API key (above) is shown once: the store keeps only its hash`,
      );
    } else if (cmd === 'rotate-key') {
      const r = await admin.rotateKey(id);
      out(r.api_key);
      say(`new API key (above) for ${r.email_address} in ${dbName}; the old key no longer works`);
    } else if (cmd === 'revoke-key') {
      const s = await admin.revokeKey(id);
      say(
        `revoked the API key of ${s.email_address} in ${dbName}: no key opens it until \`mailroom-server rotate-key ${id}\``,
      );
    } else if (cmd === 'set-limits') {
      const s = await admin.setAccountLimits(id, {
        ...(given.has('hourly-limit') ? { hourly: Number(values['hourly-limit']) } : {}),
        ...(given.has('daily-limit') ? { daily: Number(values['daily-limit']) } : {}),
      });
      say(
        `${s.email_address} in ${dbName} may now send ${s.rate_limits.hourly.limit} an hour and ${s.rate_limits.daily.limit} a day`,
      );
    } else {
      out(['agent_id', 'address', 'key', 'created_at', 'sent', 'received'].join('\t'));
      let cursor: string | undefined;
      let count = 0;
      do {
        const page = await admin.listAccounts({ limit: 1000, ...(cursor ? { cursor } : {}) });
        for (const a of page.accounts) {
          out([a.agent_id, a.email_address, a.key_status, a.created_at, a.total_sent, a.total_received].join('\t'));
        }
        count += page.accounts.length;
        cursor = page.cursor ?? undefined;
      } while (cursor);
      say(`${count} account${count === 1 ? '' : 's'} in ${dbName}`);
    }
  } catch (err) {
    code = 1;
    if (err instanceof ConflictError) {
      say(
        `mailroom-server: agent id ${id} is taken; to give it a new key (its old one stops working): mailroom-server rotate-key ${id}`,
      );
    } else if (err instanceof NotFoundError) {
      say(`mailroom-server: no account ${id} in ${dbName}; create it with: mailroom-server register ${id}`);
    } else if (err instanceof ValidationError) {
      say(`mailroom-server: ${err.message}`);
      code = 2;
    } else if (err instanceof MailroomError) {
      say(`mailroom-server: ${err.message}`);
    } else {
      logger.debug({ err, db: dbName }, `${cmd} failed`);
      say(`mailroom-server: ${cmd} failed on ${dbName}: ${reason(err)}`);
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
    await opened.close();
    if ((err as { code?: string }).code === 'EADDRINUSE') {
      die(logger, `port ${v.port} on ${host} is in use (another mailroom-server?): pick another --port`, err, '');
    }
    die(logger, `could not listen on ${host}:${v.port}`, err);
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
