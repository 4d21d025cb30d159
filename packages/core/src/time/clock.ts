/** Where time comes from. An RxJS scheduler (including `TestScheduler`) is a Clock. */
export type Clock = { now(): number };

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
