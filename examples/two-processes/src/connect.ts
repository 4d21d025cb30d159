import { createRuntime, type Runtime } from '@mailroom/core';
import { HttpMailbox } from '@mailroom/http';

/** Registers agent ids on a mailroom-server (with its admin key) and makes a runtime whose agents use HttpMailbox. */
export async function remoteRuntime(url: string, adminKey: string, ids: string[]): Promise<Runtime> {
  const keys = new Map<string, string>();
  for (const id of ids) {
    const res = await fetch(`${url}/agents/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-key': adminKey },
      body: JSON.stringify({ agent_id: id }),
    });
    if (res.status !== 201) throw new Error(`could not register ${id}: ${res.status} ${await res.text()}`);
    keys.set(id, ((await res.json()) as { api_key: string }).api_key);
  }
  return createRuntime({
    mailboxFactory: (id) => HttpMailbox.connect({ baseUrl: url, apiKey: keys.get(id) ?? '' }),
  });
}

/** `--server URL --admin-key KEY` from argv, when given. */
export function serverArgs(argv: string[]): { url: string; adminKey: string } | undefined {
  const at = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const url = at('--server');
  const adminKey = at('--admin-key') ?? process.env.MAILROOM_ADMIN_KEY;
  return url && adminKey ? { url, adminKey } : undefined;
}
