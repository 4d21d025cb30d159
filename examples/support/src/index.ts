import { createRuntime, MemoryPostOffice, type Runtime } from '@mailroom/core';
import { registeringMailboxFactory } from '@mailroom/http';

/**
 * The runtime of an example: on the embedded post office, or — with `--server URL --admin-key KEY`
 * (or MAILROOM_ADMIN_KEY) — on a mailroom-server, each agent registered there on first use.
 * `suffix` keeps agent ids apart when an example runs twice against one server.
 */
export function exampleRuntime(argv: string[] = process.argv): {
  runtime: Runtime;
  where: string;
  id: (name: string) => string;
} {
  const at = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const server = at('--server');
  if (!server)
    return {
      runtime: createRuntime({ postOffice: new MemoryPostOffice() }),
      where: 'the embedded post office',
      id: (n) => n,
    };
  const adminKey = at('--admin-key') ?? process.env.MAILROOM_ADMIN_KEY;
  const suffix = Date.now().toString(36);
  const runtime = createRuntime({
    mailboxFactory: registeringMailboxFactory({ baseUrl: server, ...(adminKey ? { adminKey } : {}) }),
  });
  return { runtime, where: server, id: (n) => `${n}-${suffix}` };
}
