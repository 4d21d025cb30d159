import type { Logger } from 'pino';
import type { SchedulerLike } from 'rxjs';
import type { SharedTimer } from '../time/scheduling.js';
import type { InFlight } from './in-flight.js';

/** Options of `inboxStream` (and of its leased variant). */
export type InboxStreamOptions = {
  /** Page size of each poll (1..100). @default 50 */
  limit?: number;
  /** First idle delay when the mailbox gives no wake-ups; doubles while the inbox stays empty. @default 50 */
  minBackoffMs?: number;
  /** Longest idle delay when the mailbox gives no wake-ups. @default 5000 */
  maxBackoffMs?: number;
  /** Idle re-poll interval of a mailbox that does give wake-ups (a safety net only). @default 30000 */
  heartbeatMs?: number;
  /** First retry delay after a failed poll; doubles per failure. @default 100 */
  retryMinMs?: number;
  /** Longest retry delay after failed polls. @default 30000 */
  retryMaxMs?: number;
  /** Jitter of retry delays, as a fraction (0..1). @default 0.2 */
  jitter?: number;
  /** Stops polling while this many messages are in flight (back-pressure). @default 1000 */
  maxInFlight?: number;
  /**
   * Shortest time from one poll to the next when a poll brought no mail, whatever the server
   * does (one that announces long poll but answers at once is not polled in a busy loop). @default 50
   */
  minPollIntervalMs?: number;
  /** Seconds a long poll may wait on the server, for mailboxes with `longPoll` (`wait`, 0 turns it off). @default 20 */
  longPollSeconds?: number;
  /**
   * The ids handed out and not yet settled; the consumer settles them. @default a new InFlight
   * @internal the runtime's agent host shares its own with the stream
   */
  inFlight?: InFlight;
  /** Time source for every delay. @default setImmediate/setTimeout */
  scheduler?: SchedulerLike;
  /**
   * Where the poll a wake-up starts runs when the stream is idle (nothing in flight, nothing
   * emitted in the last millisecond): an idle agent answers at once, a busy one batches on
   * `scheduler`.
   * @default a microtask (RxJS `asapScheduler`) with the default scheduler; `scheduler` otherwise
   */
  wakeScheduler?: SchedulerLike;
  /**
   * A shared clock for idle delays (one timer for many streams). @default one per stream
   * @internal the runtime passes its own
   */
  timer?: SharedTimer;
  /** Random source for jitter. @default Math.random */
  random?: () => number;
  /** Where poll failures are logged. */
  logger?: Logger;
  /** Take mail from the mailbox's push stream when it offers one (`mailbox.push`). @default true */
  push?: boolean;
  /** Claim mail (lease extension, worker pools) when the mailbox offers it. @default true */
  leases?: boolean;
  /** Lease of claimed mail, in seconds; renewed every third of it while the mail is in flight. @default 30 */
  leaseSeconds?: number;
};
