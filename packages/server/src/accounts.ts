import { randomBytes } from 'node:crypto';
import { Account, AgentId, type PostOffice, type Registration } from '@mailroom/core/post-office';
import { z } from 'zod';
import { type AccountRow, pageOf, toAccount } from './rows.js';

// Accounts an operator manages: list them, give one a new key, revoke its key. The SQLite and
// PostgreSQL post offices have these (the CLI's `register`, `rotate-key`, `revoke-key`, `set-limits` and
// `accounts`, and the admin API, work on them); the embedded MemoryPostOffice has not.

/** One account as the operator sees it: who, since when, whether its key works, its use. */
export const AccountSummary = z.object({
  agent_id: z.string(),
  email_address: z.string(),
  /** `revoked`: no key opens the account until `rotate-key` gives it a new one (its mail stays). */
  key_status: z.enum(['active', 'revoked']),
  created_at: z.string(),
  total_sent: z.number().int(),
  total_received: z.number().int(),
  rate_limits: Account.shape.rate_limits,
});
export type AccountSummary = z.infer<typeof AccountSummary>;

/** A page of accounts, by agent id. */
export const AccountList = z.object({
  accounts: z.array(AccountSummary),
  has_more: z.boolean(),
  /** Pass as `cursor` for the next page; `null` on the last. */
  cursor: z.string().nullable(),
});
export type AccountList = z.infer<typeof AccountList>;

/** The query of an account list. */
export const AccountListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().min(1).max(64).optional(),
});
export type AccountListQuery = z.input<typeof AccountListQuery>;

/** The path parameter naming an account. */
export const AgentIdParams = z.object({ agent_id: AgentId });

/** New send quotas for an account: either or both; the other stays as it is. */
export const AccountLimits = z
  .object({
    hourly: z.number().int().min(0).max(1e9).optional(),
    daily: z.number().int().min(0).max(1e9).optional(),
  })
  .strict()
  .refine((l) => l.hourly !== undefined || l.daily !== undefined, { message: 'give hourly, daily or both' });
export type AccountLimits = z.infer<typeof AccountLimits>;

/** What a post office offers an operator beside the API (SQLite and PostgreSQL have it). */
export interface AccountAdmin {
  /** Accounts by agent id, a page at a time. */
  listAccounts(query?: AccountListQuery): Promise<AccountList>;
  /** A new key for an account (its old key stops working at once); the key is returned once. `NotFoundError` for an unknown id. */
  rotateKey(agentId: string): Promise<Registration>;
  /** No key opens the account any more (until `rotateKey`); its mail stays. `NotFoundError` for an unknown id. */
  revokeKey(agentId: string): Promise<AccountSummary>;
  /** New send quotas for an account (at once, also for a running server). `NotFoundError` for an unknown id. */
  setAccountLimits(agentId: string, limits: AccountLimits): Promise<AccountSummary>;
}

/** True when the post office lets an operator manage its accounts. */
export function hasAccountAdmin(po: PostOffice): po is PostOffice & AccountAdmin {
  const p = po as Partial<AccountAdmin>;
  return (
    typeof p.listAccounts === 'function' &&
    typeof p.rotateKey === 'function' &&
    typeof p.revokeKey === 'function' &&
    typeof p.setAccountLimits === 'function'
  );
}

/**
 * The stored key hash of a revoked account: never a SHA-256 hex digest (those are 64 hex
 * digits), so no key matches it; unique per account, as the column is.
 */
export const revokedKeyHash = (): string => `revoked:${randomBytes(16).toString('hex')}`;

/** The answer to a key rotation: the account, as at registration, with its new key. */
export function withNewKey(row: AccountRow, apiKey: string): Registration {
  return {
    agent_id: row.agent_id,
    api_key: apiKey,
    status: 'active',
    created_at: row.created_at,
    email_address: row.address,
  };
}

/** An account row as the operator's summary, its quotas as they stand at `now`. */
export function toSummary(row: AccountRow & { key_hash: string }, now: number): AccountSummary {
  const account = toAccount(row, now);
  return {
    agent_id: row.agent_id,
    email_address: row.address,
    key_status: row.key_hash.startsWith('revoked:') ? 'revoked' : 'active',
    created_at: row.created_at,
    total_sent: row.total_sent,
    total_received: row.total_received,
    rate_limits: account.rate_limits,
  };
}

/** A page of the account list from up to `limit + 1` rows by agent id (one more tells whether there are more). */
export function accountPage(rows: (AccountRow & { key_hash: string })[], limit: number, now: number): AccountList {
  const { page, hasMore, last } = pageOf(rows, limit);
  return {
    accounts: page.map((r) => toSummary(r, now)),
    has_more: hasMore,
    cursor: hasMore && last ? last.agent_id : null,
  };
}
