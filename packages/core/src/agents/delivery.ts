// The life of one message in an agent, as the agent host moves it:
//
//   received ──► running ──► replied ──► settled          (handled; its answer, if any, sent; marked read)
//      │            │           └──────► released          (the answer could not be sent: kept, sent on redelivery)
//      │            ├──────────────────► released          (the handler failed and will run again, or the agent stops)
//      │            └──────────────────► dead-lettered     (failed for good: answered with ERROR, marked read, reported)
//      └───────────────────────────────► settled           (a duplicate, or an answer kept from an earlier run)
//
// `released` is the one way back for a failed message: it stays unread in the post office and is
// delivered again — to this agent after `afterMs`, or to whoever consumes the address next.

/** Where a message ends up after one delivery. */
export type Settlement =
  | { state: 'settled' }
  | { state: 'dead-lettered' }
  | {
      state: 'released';
      /** Deliver it again after this long (0: at once). */
      afterMs: number;
      /** Hand it back to the post office for the next consumer instead (the agent stops or crashed). */
      toPostOffice?: boolean;
    };

export const SETTLED: Settlement = { state: 'settled' };
export const DEAD_LETTERED: Settlement = { state: 'dead-lettered' };
export const released = (afterMs = 0): Settlement => ({ state: 'released', afterMs });
