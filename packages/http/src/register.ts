import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AuthError, ConflictError, type Mailbox, MailboxError } from '@mailroom/core';
import { networkReason } from './http-errors.js';
import { HttpMailbox, type HttpMailboxOptions } from './http-mailbox.js';
import { untilReachable } from './wait-for-server.js';

/** Options of {@link registeringMailboxFactory}. */
export type RegisteringOptions = Omit<HttpMailboxOptions, 'apiKey'> & {
  /** The server's admin key (`X-Admin-Key`), when it was started with one. */
  adminKey?: string;
  /**
   * A folder where each agent's key is kept, as `{agentId}.key` (mode 0600): an agent with a
   * key there connects with it; one without is registered and its key written there. A worker
   * that restarts keeps its account. A key the server does not know at all (a new database, a
   * `:memory:` server restarted) is replaced: the agent is registered anew, with a warning in
   * the log. @default none: keys live in memory only, and a second run of the same ids fails
   * with `ConflictError`
   */
  keyDir?: string;
  /**
   * How long to wait, in ms, for a server that cannot be reached (connection refused, no such
   * host): the worker may start before its server (docker compose). Meanwhile the connection is
   * retried with backoff (0.2 s doubling up to 5 s); past it the call fails with a `MailboxError`
   * naming the URL. `0` tries once. Any answer of the server (a 401, a 409) is not waited out.
   * @default 30000
   */
  waitForServerMs?: number;
};

/** Where `mailroom-server rotate-key` is run, said in an error. */
const rotate = (agentId: string) =>
  `\`mailroom-server rotate-key ${agentId} --db <the server's --db>\` (on the server's host; it prints a new key and the old one stops working)`;

/** Failures where the request never reached the server (nothing to lose by trying again). */
const NOT_SENT: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * A runtime `mailboxFactory` for a server of your own: each agent id is registered on first use
 * (`POST /agents/register`) and gets an HttpMailbox with the key it was given. With `keyDir` the
 * keys are kept in files, so that a restarted process connects with the key it had; without it
 * they live in memory, and an id registered before (by an earlier run, another process) is a
 * `ConflictError` that says how to get a key for it. A server not reachable yet is waited for
 * (`waitForServerMs`).
 */
export function registeringMailboxFactory(options: RegisteringOptions): (agentId: string) => Promise<Mailbox> {
  const base = options.baseUrl.replace(/\/$/, '');
  const fetchImpl = options.fetch ?? fetch;
  const { adminKey, keyDir, waitForServerMs, ...mailboxOptions } = options;
  const waitMs = waitForServerMs ?? 30_000;
  const keys = new Map<string, string>();

  /** 201: the new key; 409: `undefined` (the id is taken); anything else throws. */
  const post = async (agentId: string): Promise<string | undefined> => {
    const url = `${base}/agents/register`;
    let res: Response;
    try {
      res = await fetchImpl(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(adminKey ? { 'x-admin-key': adminKey } : {}) },
        body: JSON.stringify({ agent_id: agentId }),
        // The admin key never follows a redirect to another URL.
        redirect: 'manual',
      });
    } catch (err) {
      const reason = networkReason(err);
      // Waited for and tried again only where the request cannot have arrived: a registration
      // whose answer was lost may have been made (its key with it), and a repeat would be a 409.
      if (!NOT_SENT.has(reason)) {
        throw new MailboxError(
          `request failed: the answer to POST ${url} was lost (${reason}); ${agentId} may be registered already: if a second try says so, get it a key with mailroom-server rotate-key ${agentId}`,
          undefined,
          { cause: err },
        );
      }
      throw new MailboxError(`request failed: network error: POST ${url} (${reason})`, undefined, { cause: err });
    }
    if (res.status === 409) {
      await res.body?.cancel();
      return undefined;
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
    return ((await res.json()) as { api_key: string }).api_key;
  };

  const save = async (keyFile: string, key: string, flag: 'wx' | 'w') => {
    await mkdir(resolve(keyFile, '..'), { recursive: true, mode: 0o700 });
    await writeFile(keyFile, `${key}\n`, { mode: 0o600, flag });
  };

  const register = async (agentId: string, keyFile: string | undefined): Promise<string> => {
    const key = await post(agentId);
    if (key === undefined) {
      throw new ConflictError(
        keyFile
          ? `agent id ${agentId} is registered on ${base} already, and ${keyFile} holds no key for it.` +
              ` To recover: run ${rotate(agentId)} and save the key it prints in ${keyFile}`
          : `agent id ${agentId} is registered on ${base} already (by an earlier run?), and this process does not know its key.` +
              ` To avoid this: pass keyDir (e.g. keyDir: './keys') so that each agent's key is kept in a file and a restart reuses it.` +
              ` To recover: run ${rotate(agentId)}, pass keyDir and save the key it prints there as ${agentId}.key`,
      );
    }
    if (keyFile) await save(keyFile, key, 'wx');
    return key;
  };

  const open = async (agentId: string): Promise<Mailbox> => {
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
      if (!(fromFile && keyFile && err instanceof AuthError)) throw err;
      keys.delete(agentId);
      // The key is refused: a server that does not know the account (a new database) lets it be
      // registered anew; one that knows it (the key rotated or revoked) answers 409.
      const fresh = await post(agentId);
      if (fresh === undefined) {
        throw new AuthError(
          `the key of ${agentId} in ${keyFile} is not accepted by ${base} (rotated or revoked?):` +
            ` run ${rotate(agentId)} and save the key it prints in ${keyFile}`,
          { cause: err },
        );
      }
      options.logger?.warn(
        { agentId, keyFile, baseUrl: base },
        'the kept key is unknown to the server and the account did not exist there (a new database?): registered anew, its new key replaces the file',
      );
      await save(keyFile, fresh, 'w');
      keys.set(agentId, fresh);
      return await HttpMailbox.connect({ ...mailboxOptions, apiKey: fresh });
    }
  };

  return (agentId) => untilReachable(() => open(agentId), { baseUrl: base, waitMs, logger: options.logger });
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
