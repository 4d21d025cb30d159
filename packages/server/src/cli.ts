#!/usr/bin/env node
/**
 * The `mailroom-server` command: the Agent Email API on a SQLite or PostgreSQL post office
 * (`mailroom-server --help`). Importing it starts the server.
 * @module @mailroom/server/cli
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ValidationError } from '@mailroom/core';
import { pino } from 'pino';
import { buildServer, REDACT } from './app.js';
import { describeDb, isPostgresUrl, openPostOffice } from './open-post-office.js';

const HELP = `mailroom-server — the Agent Email API, stored in SQLite

Usage: mailroom-server [options]

  --host HOST          address to listen on            (default 127.0.0.1)
  --port PORT          port; 0 picks a free one         (default 8025)
  --db PATH|URL        SQLite file, or :memory:         (default ./mailroom.db)
                       or postgres://user@host:port/db: any number of replicas
                       share it (long polls woken across them by LISTEN/NOTIFY)
  --domain DOMAIN      domain of agent addresses        (default agents.localhost)
  --admin-key KEY      require X-Admin-Key to register agents
                       (or set MAILROOM_ADMIN_KEY; the flag shows in ps, the variable does not)
  --hourly-limit N     sends per hour of a new account  (default 10000)
  --daily-limit N      sends per day of a new account   (default 100000)
  --durability MODE    full: an answered send survives a power loss (WAL synced
                       at each commit; concurrent sends share one commit)
                       fast: the last commits before a power loss may be lost
                       (never on a crash of the process)   (default full)
  --busy-timeout MS    how long a write waits for another process's lock
                       on the same file before answering 503  (default 5000)
  --request-timeout MS longest time to receive a whole request (default 30000)
  --max-connections N  connections open at once; more are closed (default 1000;
                       keep it under the open-file limit, ulimit -n)
  --public-url URL     the URL that /openapi.json names in servers (default none)
  --log-level LEVEL    pino level                       (default info)
  --no-request-log     do not log every request (faster under load)
  -h, --help           this text

On start it logs the URL it listens on. SIGTERM or SIGINT closes it gracefully: requests in
flight finish, long polls are answered, then the database is closed.`;

/** A bad flag is answered in one line (no stack, no help text): exit code 2. */
function fail(message: string): never {
  process.stderr.write(`mailroom-server: ${message.split('\n')[0]} (see --help)\n`);
  process.exit(2);
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8025' },
      db: { type: 'string', default: './mailroom.db' },
      domain: { type: 'string', default: 'agents.localhost' },
      'admin-key': { type: 'string' },
      'hourly-limit': { type: 'string', default: '10000' },
      'daily-limit': { type: 'string', default: '100000' },
      durability: { type: 'string', default: 'full' },
      'busy-timeout': { type: 'string', default: '5000' },
      'request-timeout': { type: 'string', default: '30000' },
      'max-connections': { type: 'string', default: '1000' },
      'public-url': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      'no-request-log': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (err) {
  fail((err as Error).message);
}
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const int = (name: string, min: number, max: number) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
};
const port = int('port', 0, 65535);
const hourly = int('hourly-limit', 0, 1e9);
const daily = int('daily-limit', 0, 1e9);
const busyTimeoutMs = int('busy-timeout', 0, 600_000);
const requestTimeoutMs = int('request-timeout', 10, 3_600_000);
const maxConnections = int('max-connections', 1, 1e6);
const durability = values.durability;
if (durability !== 'full' && durability !== 'fast') fail('--durability must be full or fast');
const publicUrl = values['public-url'] as string | undefined;
const adminKey = (values['admin-key'] as string | undefined) ?? process.env.MAILROOM_ADMIN_KEY;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const level = String(values['log-level']);
if (!LEVELS.includes(level)) fail(`--log-level must be one of ${LEVELS.join(', ')} (got ${JSON.stringify(level)})`);
const db = String(values.db);
if (db !== ':memory:' && !isPostgresUrl(db) && !existsSync(dirname(resolve(db))))
  fail(`--db ${db}: the folder ${dirname(resolve(db))} does not exist`);
const logger = pino({ level, redact: { paths: REDACT, censor: '[redacted]' } });
let office: Awaited<ReturnType<typeof openPostOffice>>;
try {
  office = await openPostOffice({
    db,
    domain: String(values.domain).toLowerCase(),
    limits: { hourly, daily },
    logger,
    durability,
    busyTimeoutMs,
  });
} catch (err) {
  // A bad option (a domain that is not one) is the operator's: one line. Anything else is logged whole.
  if (err instanceof ValidationError) fail(err.message);
  logger.error({ err, db: describeDb(db) }, 'could not open the database');
  process.exit(1);
}
const { postOffice } = office;
const app = buildServer({
  postOffice,
  logger,
  logRequests: !values['no-request-log'],
  requestTimeoutMs,
  maxConnections,
  ...(publicUrl ? { publicUrl } : {}),
  ...(adminKey ? { adminKey } : {}),
});

let closing = false;
const shutdown = async (signal: string) => {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'closing');
  await app.close();
  await office.close();
  logger.info('closed');
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

try {
  await app.listen({ host: String(values.host), port });
} catch (err) {
  logger.error({ err }, 'could not listen');
  process.exit(1);
}
const address = app.server.address();
const url = typeof address === 'object' && address ? `http://${String(values.host)}:${address.port}` : String(address);
logger.info(
  {
    url,
    db: describeDb(String(values.db)),
    domain: postOffice.domain,
    admin: adminKey ? 'required' : 'open',
    durability,
  },
  `listening on ${url}`,
);
