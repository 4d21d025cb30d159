import { type ParseArgsConfig, parseArgs } from 'node:util';

// The command line of mailroom-server: every option is a flag (`--busy-timeout 100`) and a
// variable (`MAILROOM_BUSY_TIMEOUT=100`); the flag wins. A bad value is one line naming where it
// came from.

/** The commands; `serve` when none is given. */
export const COMMANDS = ['serve', 'register', 'rotate-key', 'revoke-key', 'set-limits', 'accounts'] as const;
export type Command = (typeof COMMANDS)[number];

type Kind =
  | { kind: 'string' }
  | { kind: 'url' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'bool' };

/** What an option is besides its flag and variable. */
type OptionInfo = Kind & {
  default?: string;
  /** `serve` only, or every command (the store's options). */
  scope: 'serve' | 'all';
  /** Placeholder of the value in the help text. */
  arg?: string;
  help: string;
};

/** One option: its flag, its variable, what it takes, its default, and which commands read it. */
export type OptionSpec = OptionInfo & {
  flag: string;
  /** `MAILROOM_` and the flag in capitals, dashes as underscores. */
  env: string;
};

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const option = (flag: string, spec: OptionInfo): OptionSpec => ({
  flag,
  env: `MAILROOM_${flag.toUpperCase().replaceAll('-', '_')}`,
  ...spec,
});

/** Every option, in the order of the help text. */
export const OPTIONS: readonly OptionSpec[] = [
  option('host', { kind: 'string', scope: 'serve', default: '127.0.0.1', arg: 'HOST', help: 'address to listen on' }),
  option('port', {
    kind: 'int',
    min: 0,
    max: 65535,
    scope: 'serve',
    default: '8025',
    arg: 'PORT',
    help: 'port; 0 picks a free one',
  }),
  option('db', {
    kind: 'string',
    scope: 'all',
    default: './mailroom.db',
    arg: 'PATH|URL',
    help: 'SQLite file, :memory:, or postgres://user@host:port/db (replicas share it)',
  }),
  option('domain', {
    kind: 'string',
    scope: 'all',
    default: 'agents.localhost',
    arg: 'DOMAIN',
    help: 'domain of agent addresses',
  }),
  option('admin-key', {
    kind: 'string',
    scope: 'serve',
    arg: 'KEY',
    help: 'needed (X-Admin-Key) to register agents and for the admin API; without it registration is open and the admin API off',
  }),
  option('hourly-limit', {
    kind: 'int',
    min: 0,
    max: 1e9,
    scope: 'all',
    default: '10000',
    arg: 'N',
    help: 'sends per hour of a new account',
  }),
  option('daily-limit', {
    kind: 'int',
    min: 0,
    max: 1e9,
    scope: 'all',
    default: '100000',
    arg: 'N',
    help: 'sends per day of a new account',
  }),
  option('durability', {
    kind: 'enum',
    values: ['full', 'fast'],
    scope: 'all',
    default: 'full',
    arg: 'MODE',
    help: 'SQLite: full = an answered send survives a power loss; fast = the last commits before one may be lost',
  }),
  option('busy-timeout', {
    kind: 'int',
    min: 0,
    max: 600_000,
    scope: 'all',
    default: '5000',
    arg: 'MS',
    help: "SQLite: how long a write waits for another process's lock before answering 503",
  }),
  option('request-timeout', {
    kind: 'int',
    min: 10,
    max: 3_600_000,
    scope: 'serve',
    default: '30000',
    arg: 'MS',
    help: 'longest time to receive a whole request (then 408)',
  }),
  option('max-connections', {
    kind: 'int',
    min: 1,
    max: 1e6,
    scope: 'serve',
    default: '1000',
    arg: 'N',
    help: 'connections open at once; more are closed (keep it under ulimit -n)',
  }),
  option('public-url', {
    kind: 'url',
    scope: 'serve',
    arg: 'URL',
    help: 'the URL that /openapi.json names in servers',
  }),
  option('log-level', {
    kind: 'enum',
    values: LEVELS,
    scope: 'all',
    default: 'info',
    arg: 'LEVEL',
    help: 'debug shows the mail flow: accepted, inbox answers, why a 4xx',
  }),
  option('log-format', {
    kind: 'enum',
    values: ['auto', 'pretty', 'json'],
    scope: 'all',
    default: 'auto',
    arg: 'FORMAT',
    help: 'pretty (for people), json (one object a line), auto: pretty on a terminal, else json',
  }),
  option('no-request-log', { kind: 'bool', scope: 'serve', help: 'do not log every request (faster under load)' }),
];

/** Resolved option values (strings, numbers, booleans) by flag name. */
export type Values = Record<string, string | number | boolean | undefined>;

/** What the command line asks for. */
export type Invocation =
  | { help: true }
  | { help: false; version: true }
  | {
      help: false;
      version?: false;
      command: Command;
      agentId: string | undefined;
      values: Values;
      sources: Record<string, string>;
      /** The options given (as a flag or by the environment), not left at their default. */
      given: ReadonlySet<string>;
    };

/** A usage error: the CLI prints it in one line and exits 2. */
export class UsageError extends Error {}

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

/** Reads the command line and the environment: the flag wins over the variable, the variable over the default. */
export function readInvocation(argv: readonly string[], env: NodeJS.ProcessEnv): Invocation {
  const options: NonNullable<ParseArgsConfig['options']> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  };
  for (const o of OPTIONS) options[o.flag] = { type: o.kind === 'bool' ? 'boolean' : 'string' };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(parseError(err as Error & { code?: string }));
  }
  const flags = parsed.values as Record<string, string | boolean | undefined>;
  if (flags.help) return { help: true };
  if (flags.version) return { help: false, version: true };
  const [first, ...rest] = parsed.positionals;
  const command = (first ?? 'serve') as Command;
  if (!COMMANDS.includes(command)) {
    throw new UsageError(`unknown command ${JSON.stringify(first)} (commands: ${COMMANDS.join(', ')})`);
  }
  const needsId =
    command === 'register' || command === 'rotate-key' || command === 'revoke-key' || command === 'set-limits';
  if (needsId && rest.length !== 1)
    throw new UsageError(`${command} takes one agent id: mailroom-server ${command} <id>`);
  if (!needsId && rest.length > 0) throw new UsageError(`${command} takes no argument (got ${rest.join(' ')})`);

  const values: Values = {};
  const sources: Record<string, string> = {};
  const given = new Set<string>();
  for (const o of OPTIONS) {
    const flag = flags[o.flag];
    if (o.scope === 'serve' && command !== 'serve') {
      if (flag !== undefined) throw new UsageError(`--${o.flag} is an option of serve, not of ${command}`);
      continue;
    }
    const fromEnv = env[o.env];
    let raw: string | boolean | undefined;
    let source: string;
    if (flag !== undefined) {
      raw = flag;
      source = `--${o.flag}`;
      given.add(o.flag);
    } else if (fromEnv !== undefined && fromEnv !== '') {
      raw = fromEnv;
      source = o.env;
      given.add(o.flag);
    } else {
      raw = o.default;
      source = `--${o.flag}`;
    }
    sources[o.flag] = source;
    values[o.flag] = raw === undefined ? undefined : check(o, raw, source);
  }
  if (command === 'set-limits' && !given.has('hourly-limit') && !given.has('daily-limit')) {
    throw new UsageError('set-limits needs --hourly-limit N, --daily-limit N or both');
  }
  return { help: false, command, agentId: needsId ? rest[0] : undefined, values, sources, given };
}

/** Node's parser's complaint in words of this command (its own text suggests `-- "--flag"`, which is no use here). */
function parseError(err: Error & { code?: string }): string {
  const flag = /'(-[^' ]*)/.exec(err.message)?.[1] ?? '';
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${flag}`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return /argument missing/.test(err.message) ? `${flag} needs a value` : `${flag} takes no value`;
  }
  return (err.message.split('\n')[0] as string).replaceAll("'", '');
}

/** A value checked against its option: a number, a boolean, or a string; a UsageError naming `source` otherwise. */
function check(o: OptionSpec, raw: string | boolean, source: string): string | number | boolean {
  const got = ` (got ${JSON.stringify(raw)})`;
  switch (o.kind) {
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const v = raw.trim().toLowerCase();
      if (TRUE.includes(v)) return true;
      if (FALSE.includes(v)) return false;
      throw new UsageError(`${source} must be true or false (1/0, yes/no)${got}`);
    }
    case 'int': {
      const n = Number(raw);
      if (String(raw).trim() === '' || !Number.isInteger(n) || n < o.min || n > o.max) {
        throw new UsageError(`${source} must be a whole number from ${o.min} to ${o.max}${got}`);
      }
      return n;
    }
    case 'enum':
      if (!o.values.includes(String(raw))) {
        const allowed = o.values.length === 2 ? o.values.join(' or ') : `one of ${o.values.join(', ')}`;
        throw new UsageError(`${source} must be ${allowed}${got}`);
      }
      return String(raw);
    case 'url':
      if (!URL.canParse(String(raw)) || !/^https?:$/.test(new URL(String(raw)).protocol)) {
        throw new UsageError(`${source} must be an http:// or https:// URL${got}`);
      }
      return String(raw);
    default:
      return String(raw);
  }
}

/** The help text, written from {@link OPTIONS}. */
export function helpText(): string {
  const line = (o: OptionSpec) => {
    const left = `  --${o.flag}${o.arg ? ` ${o.arg}` : ''}`;
    const def = o.default !== undefined ? ` (default ${o.default})` : '';
    return `${left.padEnd(28)}${o.help}${def}\n${''.padEnd(28)}env ${o.env}`;
  };
  return `mailroom-server — the Agent Email API on SQLite or PostgreSQL

Usage:
  mailroom-server [serve] [options]      serve the API (the default command)
  mailroom-server register <id>          create an account; prints its API key (once)
  mailroom-server rotate-key <id>        a new key for an account; the old one stops working at once
  mailroom-server revoke-key <id>        no key opens the account until rotate-key
  mailroom-server set-limits <id> --hourly-limit N --daily-limit N
                                         new send quotas for an account (either or both)
  mailroom-server accounts               list the accounts

register, rotate-key, revoke-key, set-limits and accounts work on the store itself (--db, the same file or
database the server uses; a running server sees the change at once).

Options of every command (each also from its environment variable; the flag wins):
${OPTIONS.filter((o) => o.scope === 'all')
  .map(line)
  .join('\n')}

Options of serve:
${OPTIONS.filter((o) => o.scope === 'serve')
  .map(line)
  .join('\n')}
  -h, --help                  this text
  -v, --version               the version of mailroom-server

On start it logs the URL it listens on. SIGTERM or SIGINT closes it gracefully: requests in
flight finish, long polls are answered, then the database is closed.`;
}
