import { ConflictError, type Mailbox, MailboxError } from '@mailroom/core';
import { HttpMailbox, type HttpMailboxOptions } from './http-mailbox.js';

/** Options of {@link registeringMailboxFactory}. */
export type RegisteringOptions = Omit<HttpMailboxOptions, 'apiKey'> & {
  /** The server's admin key (`X-Admin-Key`), when it was started with one. */
  adminKey?: string;
};

/**
 * A runtime `mailboxFactory` for a server of your own: each agent id is registered on first use
 * (`POST /agents/register`) and gets an HttpMailbox with the key it was given. Keys live in memory
 * only; an id registered before (by another process) is a `ConflictError`.
 */
export function registeringMailboxFactory(options: RegisteringOptions): (agentId: string) => Promise<Mailbox> {
  const base = options.baseUrl.replace(/\/$/, '');
  const fetchImpl = options.fetch ?? fetch;
  const keys = new Map<string, string>();
  return async (agentId) => {
    let key = keys.get(agentId);
    if (!key) {
      const res = await fetchImpl(`${base}/agents/register`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(options.adminKey ? { 'x-admin-key': options.adminKey } : {}),
        },
        body: JSON.stringify({ agent_id: agentId }),
        // The admin key never follows a redirect to another URL.
        redirect: 'manual',
      });
      if (res.status === 409) throw new ConflictError(`agent id ${agentId} is already registered on ${base}`);
      if (res.status !== 201)
        throw new MailboxError(`could not register ${agentId}: ${res.status} ${await res.text()}`, res.status);
      key = ((await res.json()) as { api_key: string }).api_key;
      keys.set(agentId, key);
    }
    return HttpMailbox.connect({ ...options, apiKey: key });
  };
}
