export { drain, VirtualTime } from '../virtual-time.js';
export { embeddedRuntime } from './embedded.js';
export { leaseConformance } from './lease-conformance.js';
export { type MailboxFixture, mailboxConformance } from './mailbox-conformance.js';
export { ManualClock, type PostOfficeFactoryOptions, postOfficeConformance } from './post-office-conformance.js';
export { Recorder, type Seen } from './recorder.js';
