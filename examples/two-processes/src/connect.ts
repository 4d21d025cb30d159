/** Registers an agent id on a mailroom-server (with its admin key); resolves with its API key, shown once. */
export async function register(server: { url: string; adminKey: string }, id: string): Promise<string> {
  const res = await fetch(`${server.url}/agents/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-admin-key': server.adminKey },
    body: JSON.stringify({ agent_id: id }),
  });
  if (res.status !== 201) throw new Error(`could not register ${id}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { api_key: string }).api_key;
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
