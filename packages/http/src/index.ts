export { failoverFetch } from './failover.js';
export { HttpMailbox, type HttpMailboxOptions } from './http-mailbox.js';
export { type RegisteringOptions, registeringMailboxFactory } from './register.js';
