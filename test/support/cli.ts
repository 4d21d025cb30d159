import { serveCli } from './ops.js';

/** `mailroom-server` in a process of its own on port 0, with these flags (no MAILROOM_* from our environment); its log is kept. */
export const startCli = (args: string[]) => serveCli(['--port', '0', ...args]);
