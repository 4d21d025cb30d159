import { createRuntime, MemoryPostOffice, type Runtime } from '@mailroom/core';
import { VirtualTime } from '@mailroom/core/testing';
import { registeringMailboxFactory } from '@mailroom/http';

/** Options of {@link exampleRuntime}. */
export type ExampleOptions = {
  /** The command line. @default process.argv */
  argv?: string[];
  /**
   * Run the embedded post office on virtual time from this instant (ms since epoch), so that
   * hours of quota or ack timeouts pass at once. A server always runs on the wall clock.
   */
  virtualStart?: number;
};

/** What an example runs on. */
export type ExampleRuntime = {
  runtime: Runtime;
  /** Where the mail goes, for the first line an example prints. */
  where: string;
  /** The embedded post office; undefined on a server. */
  postOffice: MemoryPostOffice | undefined;
  /** An agent id: `name`, plus a suffix on a server so that two runs never share an account. */
  id: (name: string) => string;
  /** The example's clock: virtual on the embedded office with `virtualStart`, else the wall clock. */
  now: () => number;
  /** Awaits `work`; on virtual time, runs time forward until it settles. */
  run: <T>(work: Promise<T>) => Promise<T>;
  /** The value after `--name` on the command line. */
  flag: (name: string) => string | undefined;
};

/**
 * The runtime of an example: on the embedded post office, or — with `--server URL --admin-key KEY`
 * (or MAILROOM_ADMIN_KEY) — on a mailroom-server, each agent registered there on first use.
 */
export function exampleRuntime(options: ExampleOptions = {}): ExampleRuntime {
  const argv = options.argv ?? process.argv;
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const server = flag('server');
  if (server) {
    const adminKey = flag('admin-key') ?? process.env.MAILROOM_ADMIN_KEY;
    const suffix = Date.now().toString(36);
    const runtime = createRuntime({
      mailboxFactory: registeringMailboxFactory({ baseUrl: server, ...(adminKey ? { adminKey } : {}) }),
    });
    return {
      runtime,
      where: server,
      postOffice: undefined,
      id: (n) => `${n}-${suffix}`,
      now: Date.now,
      run: (work) => work,
      flag,
    };
  }
  const start = options.virtualStart;
  if (start === undefined) {
    const postOffice = new MemoryPostOffice();
    return {
      runtime: createRuntime({ postOffice }),
      where: 'the embedded post office',
      postOffice,
      id: (n) => n,
      now: Date.now,
      run: (work) => work,
      flag,
    };
  }
  const vt = new VirtualTime(start);
  const postOffice = new MemoryPostOffice({ clock: vt.scheduler });
  return {
    runtime: createRuntime({ postOffice, scheduler: vt.scheduler }),
    where: 'the embedded post office, on virtual time',
    postOffice,
    id: (n) => n,
    now: () => vt.now(),
    run: (work) => vt.until(work),
    flag,
  };
}
