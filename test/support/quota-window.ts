const HOUR = 3_600_000;

/**
 * Whether the wall clock stayed inside the UTC hour of `since` (one hourly quota window) until now.
 * For servers in other processes, whose clock a test cannot set: when an hour began while their
 * sends raced, the quota held in two windows, and a test can only check each one's bound.
 */
export const inOneHourSince = (since: number): boolean => Math.floor(since / HOUR) === Math.floor(Date.now() / HOUR);
