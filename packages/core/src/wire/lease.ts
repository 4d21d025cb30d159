import { z } from 'zod';
import { InboxPage } from './model.js';

/**
 * The lease extension (worker pools on one address): a claim hands out unread mail that no other
 * consumer holds, each message leased until it is marked read, released, or its lease runs out.
 */
export const ClaimQuery = z.object({
  /** Most messages to claim (1..100). */
  limit: z.coerce.number().int().min(1).max(100).default(10),
  /** How long the claimed messages stay invisible to other claims, in seconds (1..3600). */
  lease_seconds: z.coerce.number().int().min(1).max(3600).default(30),
  /** Long poll: seconds to wait for claimable mail when there is none (0..30). */
  wait: z.coerce.number().min(0).max(30).optional(),
});
export type ClaimQuery = z.input<typeof ClaimQuery>;

/** A page of claimed mail: every message in it is held under `lease_id` until `lease_expires_at`. */
export const LeasedPage = InboxPage.extend({
  lease_id: z.string().nullable(),
  lease_expires_at: z.string().nullable(),
});
export type LeasedPage = z.infer<typeof LeasedPage>;

/** Renews (or, with `lease_seconds: 0`, releases) what is still held under a lease. */
export const RenewRequest = z.object({
  lease_id: z.string().min(1).max(64),
  lease_seconds: z.number().int().min(0).max(3600),
  /** Only these messages of the lease. @default all it still holds */
  message_ids: z.array(z.string().min(1).max(128)).min(1).max(100).optional(),
});
export type RenewRequest = z.input<typeof RenewRequest>;

/** How many messages the lease still held (and now holds until `lease_expires_at`, or released). */
export const RenewResult = z.object({
  renewed: z.number().int().nonnegative(),
  lease_expires_at: z.string().nullable(),
});
export type RenewResult = z.infer<typeof RenewResult>;

/** Header on every response of a server that offers the lease extension. */
export const LEASES_HEADER = 'x-mailroom-leases';
