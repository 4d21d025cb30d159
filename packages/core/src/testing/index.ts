export { ManualClock, type PostOfficeFactoryOptions, postOfficeConformance } from './post-office-conformance.js';
