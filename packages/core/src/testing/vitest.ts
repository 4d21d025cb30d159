import { MailroomError } from '../errors.js';

type Vitest = typeof import('vitest');

// vitest is an optional peer: the conformance suites need it, VirtualTime, ManualClock and the
// Recorder do not. It is loaded only inside a vitest run (which sets VITEST in the environment), so
// a project without it, or a program that only wants virtual time, imports the rest as it is.
let loaded: Vitest | undefined;
let missing: unknown;
if (process.env.VITEST) {
  try {
    loaded = await import('vitest');
  } catch (err) {
    missing = err;
  }
}

/** vitest's API, for the conformance suites; a clear error where vitest is not installed. */
export function vitest(): Vitest {
  if (loaded) return loaded;
  throw new MailroomError(
    'validation_error',
    'the conformance suites run inside a vitest run (install vitest and call them from a test file)',
    {
      cause: missing,
    },
  );
}
