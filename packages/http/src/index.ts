export { HttpMailbox, type HttpMailboxOptions } from './http-mailbox.js';
