/**
 * Tools for testing agents and post offices: virtual time, clocks, conformance suites.
 * @module @mailroom/core/testing
 */
// @mailroom/core/testing — tools for testing agents and post offices. vitest is an optional peer:
// only the conformance suites need it; everything else here loads without it.
export { embeddedRuntime } from './embedded.js';
export { type Leasing, leaseConformance } from './lease-conformance.js';
export { type MailboxFixture, type MailboxFixtureOptions, mailboxConformance } from './mailbox-conformance.js';
export { ManualClock } from './manual-clock.js';
export { type PostOfficeFactoryOptions, postOfficeConformance } from './post-office-conformance.js';
export { Recorder, type Seen } from './recorder.js';
export { RunningClock } from './running-clock.js';
export { drain, VirtualTime } from './virtual-time.js';
