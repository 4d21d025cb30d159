import { randomBytes } from 'node:crypto';
import type { Clock } from '../../time/clock.js';
import { ClaimQuery, type LeasedPage, RenewRequest, type RenewResult } from '../../wire/lease.js';
import type { InboxPage, InboxQuery } from '../../wire/model.js';
import { parseOrThrow } from '../../wire/parse.js';

type Held = { leaseId: string; until: number };

/**
 * The lease extension for a post office that serves one process (memory, SQLite): leases kept in
 * memory beside the mail, which is claimed through the office's own unread inbox. A restart
 * releases every lease (the mail stays unread: it is claimed again). The office ends a message's
 * lease when it is read or deleted ({@link LeaseTable.end}).
 */
export class LeaseTable {
  private readonly held = new Map<string, Map<string, Held>>();

  /** @param onReleased called with the address whose mail a release made claimable again (to wake its consumers). */
  constructor(
    private readonly clock: Clock,
    private readonly onReleased: (address: string) => void = () => {},
  ) {}

  /** Claims up to `limit` unread messages that no live lease holds, walking `inbox` page by page. */
  async claim(address: string, query: ClaimQuery, inbox: (q: InboxQuery) => Promise<InboxPage>): Promise<LeasedPage> {
    const q = parseOrThrow(ClaimQuery, query, 'claim query');
    const now = this.clock.now();
    const leaseId = `lease_${randomBytes(12).toString('base64url')}`;
    const until = now + q.lease_seconds * 1000;
    const picked: InboxPage['messages'] = [];
    // Each message is leased as it is picked: a claim made while this one reads its next page
    // skips what this one took.
    try {
      let page = await inbox({ unread_only: true, limit: 100 });
      const unreadCount = page.unread_count;
      // Every page but the last holds 100 unread messages: the walk is bounded by the unread mail.
      for (;;) {
        // Taken after each read: a read mark meanwhile may have dropped the address's empty table.
        const mine = this.of(address);
        for (const m of page.messages) {
          const h = mine.get(m.message_id);
          if (h && h.until > now) continue;
          picked.push(m);
          mine.set(m.message_id, { leaseId, until });
          if (picked.length === q.limit) break;
        }
        if (picked.length === q.limit || !page.has_more || !page.cursor) break;
        page = await inbox({ unread_only: true, limit: 100, cursor: page.cursor });
      }
      return {
        messages: picked,
        total: picked.length,
        unread_count: unreadCount,
        has_more: picked.length === q.limit,
        cursor: null,
        lease_id: picked.length ? leaseId : null,
        lease_expires_at: picked.length ? new Date(until).toISOString() : null,
      };
    } catch (err) {
      // Nobody got what was picked: it is claimable again at once.
      const mine = this.held.get(address);
      let released = 0;
      for (const m of picked) {
        if (mine?.get(m.message_id)?.leaseId !== leaseId) continue;
        mine.delete(m.message_id);
        released += 1;
      }
      // A claim that skipped them while they were held is waiting: wake it.
      if (released > 0) this.onReleased(address);
      throw err;
    }
  }

  /** Renews (or with `lease_seconds: 0` releases) the messages still held under a lease. */
  renew(address: string, request: RenewRequest): RenewResult {
    const r = parseOrThrow(RenewRequest, request, 'lease renewal');
    const mine = this.of(address);
    const until = r.lease_seconds === 0 ? null : this.clock.now() + r.lease_seconds * 1000;
    const only = r.message_ids ? new Set(r.message_ids) : undefined;
    let renewed = 0;
    for (const [id, h] of mine) {
      if (h.leaseId !== r.lease_id || (only && !only.has(id))) continue;
      renewed += 1;
      if (until === null) mine.delete(id);
      else h.until = until;
    }
    if (until === null && renewed > 0) this.onReleased(address);
    // A lease that holds nothing (ended, taken over, or never given) has no expiry to name.
    return { renewed, lease_expires_at: until === null || renewed === 0 ? null : new Date(until).toISOString() };
  }

  /** Ends the leases on messages that were read (or marked unread: released) or deleted. */
  end(address: string, messageIds: Iterable<string>): void {
    const mine = this.held.get(address);
    if (!mine) return;
    for (const id of messageIds) mine.delete(id);
    if (mine.size === 0) this.held.delete(address);
  }

  private of(address: string): Map<string, Held> {
    let mine = this.held.get(address);
    if (!mine) {
      mine = new Map();
      this.held.set(address, mine);
    }
    return mine;
  }
}
