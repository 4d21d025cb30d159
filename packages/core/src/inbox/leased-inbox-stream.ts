import { Observable } from 'rxjs';
import type { Mailbox } from '../mailbox/mailbox.js';
import type { LeasedPage } from '../wire/lease.js';
import type { Message } from '../wire/model.js';
import { InFlight } from './in-flight.js';
import type { InboxStreamOptions } from './inbox-options.js';
import { PollLoop, streamSettings } from './poll-loop.js';

/** A mailbox with the lease extension. */
export type LeasingMailbox = Mailbox & Required<Pick<Mailbox, 'claim' | 'renewLease'>>;

/** Whether the inbox stream claims mail from `mailbox` (it offers leases and they are not turned off). */
export function usesLeases(mailbox: Mailbox, options: InboxStreamOptions): mailbox is LeasingMailbox {
  return options.leases !== false && mailbox.leases === true && !!mailbox.claim && !!mailbox.renewLease;
}

/**
 * The inbox stream of a mailbox with the lease extension (one of a worker pool on one address):
 * it claims unread mail that no other consumer holds, renews the leases of what is in flight
 * every third of a lease (a long handler keeps its mail), and releases what the consumer gives
 * back, so that any consumer of the pool takes it at once. What a crashed consumer held comes
 * back to the pool when its leases run out. Polling, waking, back-off and retries are those of
 * the plain stream; the claim waits on the server (long poll) when the mailbox gives no wake-ups.
 */
export function leasedInboxStream(mailbox: LeasingMailbox, options: InboxStreamOptions = {}): Observable<Message[]> {
  const settings = streamSettings(options, 10);
  const { limit, minBackoff, maxBackoff, maxInFlight, scheduler, wakeScheduler } = settings;
  const leaseSeconds = Math.min(3600, Math.max(1, Math.round(options.leaseSeconds ?? 30)));
  // Nobody is woken when a lease runs out: an idle consumer with wake-ups looks again once a lease.
  const heartbeat = Math.min(settings.heartbeat, leaseSeconds * 1000);

  return new Observable<Message[]>((subscriber) => {
    const inFlight = options.inFlight ?? new InFlight();
    const loop = new PollLoop(settings, poll, options.timer);
    const timer = loop.timer;
    const wakeups = mailbox.wakeups?.();
    const longPollSeconds = wakeups ? 0 : settings.longPollSeconds;
    /** Message id → the lease it is held under, while in flight. */
    const held = new Map<string, string>();
    let phase: 'polling' | 'waiting' | 'paused' | 'closed' = 'waiting';
    let cancelRenew: (() => void) | undefined;
    let giveUp: (() => void) | undefined;
    let idleDelay = 0;
    let again = false;
    let lastEmitAt = Number.NEGATIVE_INFINITY;

    const wait = (delayMs: number, on = scheduler) => {
      phase = 'waiting';
      loop.next(delayMs, on);
    };

    function poll(): void {
      if (phase === 'closed') return;
      loop.started();
      if (inFlight.size >= maxInFlight) {
        phase = 'paused';
        return;
      }
      phase = 'polling';
      again = false;
      const query = { limit, lease_seconds: leaseSeconds, ...(longPollSeconds > 0 ? { wait: longPollSeconds } : {}) };
      const holding = new AbortController();
      giveUp = () => holding.abort();
      mailbox.claim(query, { signal: holding.signal }).then(onPage, onError);
    }

    function onPage(page: LeasedPage): void {
      giveUp = undefined;
      if (phase === 'closed') return;
      loop.succeeded();
      const fresh: Message[] = [];
      for (const m of page.messages) {
        if (page.lease_id) held.set(m.message_id, page.lease_id);
        if (!inFlight.take(m.message_id)) continue;
        fresh.push(m);
      }
      if (held.size > 0 && !cancelRenew) cancelRenew = timer.after((leaseSeconds * 1000) / 3, renew);
      if (fresh.length > 0) {
        lastEmitAt = scheduler.now();
        subscriber.next(fresh);
      }
      if ((phase as string) === 'closed') return;
      if (page.has_more || again || longPollSeconds > 0) {
        // More to claim, or the server held the claim: claim again (waiting on the server).
        idleDelay = 0;
        wait(0);
      } else if (fresh.length > 0) {
        idleDelay = 0;
        wait(wakeups ? heartbeat : minBackoff);
      } else {
        idleDelay = wakeups ? heartbeat : idleDelay === 0 ? minBackoff : Math.min(maxBackoff, idleDelay * 2);
        wait(idleDelay);
      }
    }

    function onError(error: unknown): void {
      giveUp = undefined;
      if (phase === 'closed') return;
      const delay = loop.failed();
      options.logger?.warn({ err: error, retryInMs: delay, address: mailbox.address }, 'claim failed; retrying');
      wait(delay);
    }

    /** Ids no longer in flight (settled), by lease, forgotten here. */
    const settledByLease = (): Map<string, string[]> => {
      const byLease = new Map<string, string[]>();
      for (const [id, lease] of held) {
        if (inFlight.has(id)) continue;
        held.delete(id);
        byLease.set(lease, [...(byLease.get(lease) ?? []), id]);
      }
      return byLease;
    };

    /** Renews every lease for the mail still in flight under it. */
    function renew(): void {
      cancelRenew = undefined;
      if (phase === 'closed') return;
      settledByLease();
      const byLease = new Map<string, string[]>();
      for (const [id, lease] of held) byLease.set(lease, [...(byLease.get(lease) ?? []), id]);
      for (const [lease, ids] of byLease) {
        for (let i = 0; i < ids.length; i += 100) {
          const message_ids = ids.slice(i, i + 100);
          mailbox.renewLease({ lease_id: lease, lease_seconds: leaseSeconds, message_ids }).then(
            (r) => {
              if (r.renewed < message_ids.length) {
                options.logger?.warn(
                  { address: mailbox.address, lost: message_ids.length - r.renewed },
                  'leases ran out before renewal: other consumers may run that mail too',
                );
              }
            },
            (err: unknown) => options.logger?.warn({ err, address: mailbox.address }, 'lease renewal failed'),
          );
        }
      }
      if (held.size > 0) cancelRenew = timer.after((leaseSeconds * 1000) / 3, renew);
    }

    const wake = () => {
      if (phase === 'polling') again = true;
      else if (phase === 'waiting') {
        const idle = inFlight.size === 0 && scheduler.now() - lastEmitAt >= 1;
        wait(0, idle ? wakeScheduler : scheduler);
      }
    };
    const wakeSub = wakeups?.subscribe(wake);
    const settledSub = inFlight.settled$.subscribe(({ redeliver }) => {
      const settled = settledByLease();
      if (phase === 'paused' && inFlight.size < maxInFlight) wait(0);
      if (!redeliver) return;
      // Given back by the consumer: released, so that this consumer or another claims it at once.
      const releases = [...settled].map(([lease_id, ids]) =>
        mailbox.renewLease({ lease_id, lease_seconds: 0, message_ids: ids.slice(0, 100) }).catch((err: unknown) => {
          options.logger?.warn(
            { err, address: mailbox.address },
            'lease release failed; the mail returns when it runs out',
          );
        }),
      );
      void Promise.all(releases).then(() => {
        if (phase !== 'closed') wake();
      });
    });
    wait(0);

    return () => {
      phase = 'closed';
      loop.cancel();
      cancelRenew?.();
      giveUp?.();
      wakeSub?.unsubscribe();
      settledSub.unsubscribe();
    };
  });
}
