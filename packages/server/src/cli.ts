#!/usr/bin/env node
// mailroom-server: the Agent Email API on a SQLite post office.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { buildServer, REDACT } from './app.js';
import { SqlitePostOffice } from './sqlite-post-office.js';

const HELP = `mailroom-server — the Agent Email API, stored in SQLite

Usage: mailroom-server [options]

  --host HOST          address to listen on            (default 127.0.0.1)
  --port PORT          port; 0 picks a free one         (default 8025)
  --db PATH            SQLite file, or :memory:         (default ./mailroom.db)
  --domain DOMAIN      domain of agent addresses        (default agents.localhost)
  --admin-key KEY      require X-Admin-Key to register agents
                       (or set MAILROOM_ADMIN_KEY; the flag shows in ps, the variable does not)
  --hourly-limit N     sends per hour of a new account  (default 10000)
  --daily-limit N      sends per day of a new account   (default 100000)
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
const adminKey = (values['admin-key'] as string | undefined) ?? process.env.MAILROOM_ADMIN_KEY;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const level = String(values['log-level']);
if (!LEVELS.includes(level)) fail(`--log-level must be one of ${LEVELS.join(', ')} (got ${JSON.stringify(level)})`);
const db = String(values.db);
if (db !== ':memory:' && !existsSync(dirname(resolve(db))))
  fail(`--db ${db}: the folder ${dirname(resolve(db))} does not exist`);
const logger = pino({ level, redact: { paths: REDACT, censor: '[redacted]' } });
let postOffice: SqlitePostOffice;
try {
  postOffice = new SqlitePostOffice({
    path: db,
    domain: String(values.domain).toLowerCase(),
    limits: { hourly, daily },
  });
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
const app = buildServer({
  postOffice,
  logger,
  logRequests: !values['no-request-log'],
  ...(adminKey ? { adminKey } : {}),
});

let closing = false;
const shutdown = async (signal: string) => {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'closing');
  await app.close();
  postOffice.close();
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
  { url, db: values.db, domain: postOffice.domain, admin: adminKey ? 'required' : 'open' },
  `listening on ${url}`,
);
