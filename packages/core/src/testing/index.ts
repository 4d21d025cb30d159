export { ManualClock, type PostOfficeFactoryOptions, postOfficeConformance } from './post-office-conformance.js';
export { drain, VirtualTime } from './virtual-time.js';
