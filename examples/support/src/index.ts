import { basename, dirname } from 'node:path';
import { AuthError, createRuntime, MailroomError, MemoryPostOffice, type Runtime } from '@mailroom/core';
import { VirtualTime } from '@mailroom/core/testing';
import { type RegisteringOptions, registeringMailboxFactory } from '@mailroom/http';

/**
 * The command line every example reads. The examples build their runtime themselves, in their
 * `main.ts`, from `server`:
 *
 * ```ts
 * const args = exampleArgs();
 * const runtime = args.server
 *   ? createRuntime({ mailboxFactory: registeringMailboxFactory(args.server) }) // --server URL --admin-key KEY
 *   : createRuntime({ postOffice: new MemoryPostOffice() }); // the embedded post office
 * ```
 */
export type ExampleArgs = {
  /**
   * `--server URL` with `--admin-key KEY` (or MAILROOM_ADMIN_KEY): the options of
   * `registeringMailboxFactory` for that server. Undefined: the example runs on the embedded
   * post office.
   */
  server: (RegisteringOptions & { baseUrl: string }) | undefined;
  /** Where the mail goes, for the first line an example prints. */
  where: string;
  /** The value after `--name` on the command line. */
  flag: (name: string) => string | undefined;
  /**
   * An agent id: `name` on the embedded post office; on a server `name` plus a suffix of this run,
   * so that two runs never ask to register the same account.
   */
  id: (name: string) => string;
};

/**
 * Reads `--server URL --admin-key KEY` and the example's own flags (`ownFlags`, without their
 * dashes) from `argv`. Anything else on the command line is refused in one line (exit code 2). On a
 * server, a Mailroom error the run ends with (no admin key, the server gone) is one line too, not a
 * stack trace.
 */
export function exampleArgs(argv: string[] = process.argv, ownFlags: readonly string[] = []): ExampleArgs {
  const name = basename(dirname(dirname(argv[1] ?? 'example/dist/main.js')));
  const known = ['server', 'admin-key', ...ownFlags];
  for (let i = 2; i < argv.length; i += 2) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--') || !known.includes(arg.slice(2)) || argv[i + 1] === undefined) {
      const options = known.map((k) => `--${k}`).join(', ');
      const what = !arg.startsWith('--')
        ? `unexpected argument ${arg}`
        : known.includes(arg.slice(2))
          ? `${arg} needs a value`
          : `unknown option ${arg}`;
      process.stderr.write(`${name}: ${what} (options: ${options})\n`);
      process.exit(2);
    }
  }
  const flag = (flagName: string) => {
    const i = argv.indexOf(`--${flagName}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const baseUrl = flag('server');
  if (!baseUrl) return { server: undefined, where: 'the embedded post office', flag, id: (n) => n };
  const adminKey = flag('admin-key') ?? process.env.MAILROOM_ADMIN_KEY;
  oneLineErrors(name, adminKey !== undefined);
  const suffix = Date.now().toString(36);
  return {
    server: { baseUrl, ...(adminKey ? { adminKey } : {}) },
    where: baseUrl,
    flag,
    id: (n) => `${n}-${suffix}`,
  };
}

/** A Mailroom error that ends the run (an example's top-level await) is one line and exit code 1. */
function oneLineErrors(name: string, hasAdminKey: boolean): void {
  process.on('uncaughtException', (err) => {
    if (!(err instanceof MailroomError)) {
      process.stderr.write(`${err.stack ?? err}\n`); // a bug: its stack
      process.exit(1);
    }
    const line =
      err instanceof AuthError && !hasAdminKey
        ? `${err.message.split(' (adminKey')[0]}: pass --admin-key KEY (or set MAILROOM_ADMIN_KEY)`
        : `${err.name}: ${err.message}`;
    process.stderr.write(`${name}: ${line}\n`);
    process.exit(1);
  });
}

/** How long until `at`, in words: `45 s`, `31 min`, `2 h 5 min`. */
export function inWords(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.ceil(s / 60);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h${min % 60 ? ` ${min % 60} min` : ''}`;
}

/** `at 10:00 UTC, in 45 min`: an instant ahead as a person says it. */
export function whenInWords(at: number, now: number): string {
  const iso = new Date(at).toISOString();
  return `at ${iso.slice(17, 19) === '00' ? iso.slice(11, 16) : iso.slice(11, 19)} UTC, in ${inWords(at - now)}`;
}

/** Options of {@link exampleRuntime}. */
export type ExampleOptions = {
  /** The command line. @default process.argv */
  argv?: string[];
  /** Run the embedded post office on virtual time from this instant (ms since epoch). */
  virtualStart?: number;
};

/** What {@link exampleRuntime} makes. */
export type ExampleRuntime = Omit<ExampleArgs, 'server'> & {
  runtime: Runtime;
  postOffice: MemoryPostOffice | undefined;
  now: () => number;
  run: <T>(work: Promise<T>) => Promise<T>;
};

/**
 * The runtime of an example in one call.
 * @deprecated The examples build their runtime in their own `main.ts` (see {@link ExampleArgs}), so
 * that a reader sees how; this stays for code written against it.
 */
export function exampleRuntime(options: ExampleOptions = {}): ExampleRuntime {
  const { server, ...args } = exampleArgs(options.argv);
  if (server) {
    const runtime = createRuntime({ mailboxFactory: registeringMailboxFactory(server) });
    return { ...args, runtime, postOffice: undefined, now: Date.now, run: (work) => work };
  }
  if (options.virtualStart === undefined) {
    const postOffice = new MemoryPostOffice();
    return { ...args, runtime: createRuntime({ postOffice }), postOffice, now: Date.now, run: (work) => work };
  }
  const vt = new VirtualTime(options.virtualStart);
  const postOffice = new MemoryPostOffice({ clock: vt.scheduler });
  return {
    ...args,
    where: 'the embedded post office, on virtual time',
    runtime: createRuntime({ postOffice, scheduler: vt.scheduler }),
    postOffice,
    now: () => vt.now(),
    run: (work) => vt.until(work),
  };
}
