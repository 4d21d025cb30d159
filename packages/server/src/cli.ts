#!/usr/bin/env node
// mailroom-server: the Agent Email API on a SQLite post office.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { buildServer, REDACT } from './app.js';
import { describeDb, openPostOffice } from './open-post-office.js';

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
  --log-level LEVEL    pino level                       (default info)
  --no-request-log     do not log every request (faster under load)
  -h, --help           this text

On start it logs the URL it listens on. SIGTERM or SIGINT closes it gracefully: requests in
flight finish, long polls are answered, then the database is closed.`;

function fail(message: string): never {
  process.stderr.write(`mailroom-server: ${message}\n\n${HELP}\n`);
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

const logger = pino({ level: String(values['log-level']), redact: { paths: REDACT, censor: '[redacted]' } });
let office: Awaited<ReturnType<typeof openPostOffice>>;
try {
  office = await openPostOffice({
    db: String(values.db),
    domain: String(values.domain).toLowerCase(),
    limits: { hourly, daily },
    logger,
  });
} catch (err) {
  logger.error({ err, db: describeDb(String(values.db)) }, 'could not open the database');
  process.exit(1);
}
const { postOffice } = office;
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
  { url, db: describeDb(String(values.db)), domain: postOffice.domain, admin: adminKey ? 'required' : 'open' },
  `listening on ${url}`,
);
