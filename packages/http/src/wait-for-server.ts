import { MailboxError } from '@mailroom/core';
import type { Logger } from 'pino';

/** True for a call that got no answer at all: the server refused the connection, or its host is unknown. */
export function isUnreachable(err: unknown): boolean {
  return err instanceof MailboxError && err.status === undefined && /network error/i.test(err.message);
}

/**
 * Runs `attempt` until it gets through to the server: a network error is retried with backoff
 * (0.2 s doubling up to 5 s) for at most `waitMs`, then thrown with what was waited. Any other
 * outcome is returned or thrown at once.
 */
export async function untilReachable<T>(
  attempt: () => Promise<T>,
  options: { baseUrl: string; waitMs: number; logger?: Logger | undefined },
): Promise<T> {
  const deadline = Date.now() + options.waitMs;
  let delay = 200;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      const left = deadline - Date.now();
      if (left <= 0) {
        if (options.waitMs <= 0) throw err;
        throw new MailboxError(
          `${(err as Error).message}: ${options.baseUrl} could not be reached in ${tries} tries over ${options.waitMs} ms (waitForServerMs)`,
          undefined,
          { cause: err },
        );
      }
      const log = tries === 1 ? options.logger?.warn : options.logger?.debug;
      log?.call(
        options.logger,
        { baseUrl: options.baseUrl, tries, waitForServerMs: options.waitMs },
        'server not reachable yet; retrying',
      );
      await new Promise((r) => setTimeout(r, Math.min(delay, left)));
      delay = Math.min(delay * 2, 5_000);
    }
  }
}
