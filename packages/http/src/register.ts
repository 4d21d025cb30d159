import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AuthError, ConflictError, type Mailbox, MailboxError } from '@mailroom/core';
import { HttpMailbox, type HttpMailboxOptions } from './http-mailbox.js';

/** Options of {@link registeringMailboxFactory}. */
export type RegisteringOptions = Omit<HttpMailboxOptions, 'apiKey'> & {
  /** The server's admin key (`X-Admin-Key`), when it was started with one. */
  adminKey?: string;
  /**
   * A folder where each agent's key is kept, as `{agentId}.key` (mode 0600): an agent with a
   * key there connects with it; one without is registered and its key written there. A worker
   * that restarts keeps its account. @default none: keys live in memory only
   */
  keyDir?: string;
};

/**
 * A runtime `mailboxFactory` for a server of your own: each agent id is registered on first use
 * (`POST /agents/register`) and gets an HttpMailbox with the key it was given. With `keyDir` the
 * keys are kept in files, so that a restarted process connects with the key it had; without it
 * they live in memory, and an id registered before (by an earlier run, another process) is a
 * `ConflictError` that says how to get a key for it.
 */
export function registeringMailboxFactory(options: RegisteringOptions): (agentId: string) => Promise<Mailbox> {
  const base = options.baseUrl.replace(/\/$/, '');
  const fetchImpl = options.fetch ?? fetch;
  const { adminKey, keyDir, ...mailboxOptions } = options;
  const keys = new Map<string, string>();

  const register = async (agentId: string, keyFile: string | undefined): Promise<string> => {
    const res = await fetchImpl(`${base}/agents/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(adminKey ? { 'x-admin-key': adminKey } : {}) },
      body: JSON.stringify({ agent_id: agentId }),
      // The admin key never follows a redirect to another URL.
      redirect: 'manual',
    });
    if (res.status === 409) {
      await res.body?.cancel();
      const where = keyFile ? `${keyFile} holds no key for it` : 'this process does not know its key';
      throw new ConflictError(
        `agent id ${agentId} is registered on ${base} already, and ${where}: give it its key` +
          ` (\`mailroom-server rotate-key ${agentId}\` prints a new one, and the old one stops working)` +
          (keyFile ? `, saved in ${keyFile}` : ', or pass keyDir so that keys outlive the process'),
      );
    }
    if (res.status === 401) {
      const detail = await res.text();
      throw new AuthError(
        `registering ${agentId} on ${base} needs the server's admin key (adminKey, sent as X-Admin-Key): ${detail}`,
      );
    }
    if (res.status !== 201) {
      throw new MailboxError(`could not register ${agentId}: ${res.status} ${await res.text()}`, res.status);
    }
    const key = ((await res.json()) as { api_key: string }).api_key;
    if (keyFile && keyDir) {
      await mkdir(keyDir, { recursive: true, mode: 0o700 });
      await writeFile(keyFile, `${key}\n`, { mode: 0o600, flag: 'wx' });
    }
    return key;
  };

  return async (agentId) => {
    const keyFile = keyDir ? resolve(keyDir, `${agentId}.key`) : undefined;
    let key = keys.get(agentId);
    let fromFile = false;
    if (!key && keyFile) {
      key = await readKey(keyFile);
      fromFile = key !== undefined;
    }
    key ??= await register(agentId, keyFile);
    keys.set(agentId, key);
    try {
      return await HttpMailbox.connect({ ...mailboxOptions, apiKey: key });
    } catch (err) {
      if (fromFile && err instanceof AuthError) {
        keys.delete(agentId);
        throw new AuthError(
          `the key of ${agentId} in ${keyFile} is not accepted by ${base} (rotated or revoked?):` +
            ` run \`mailroom-server rotate-key ${agentId}\` and save the key it prints in ${keyFile}`,
          { cause: err },
        );
      }
      throw err;
    }
  };
}

/** The key kept in `file`, or `undefined` when there is none. */
async function readKey(file: string): Promise<string | undefined> {
  try {
    const key = (await readFile(file, 'utf8')).trim();
    return key === '' ? undefined : key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
