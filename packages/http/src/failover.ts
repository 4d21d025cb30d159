import { ValidationError } from '@mailroom/core';
import type { Logger } from 'pino';

/**
 * A `fetch` for {@link HttpMailbox}'s `fetch` option that fails over between server replicas
 * (`mailroom-server --db postgres://…` run N times): a request that cannot reach one replica
 * (connection refused or reset) goes to the next, and later requests stay with the one that
 * answered. HTTP answers, errors included, are returned as they are (the mailbox's retries handle
 * them). Every send carries an idempotency key, so a send retried on another replica is sent once.
 * Replicas differ by origin only: the path of each base URL is ignored.
 */
export function failoverFetch(
  baseUrls: readonly string[],
  options: { fetch?: typeof fetch; logger?: Logger } = {},
): typeof fetch {
  if (baseUrls.length === 0) throw ValidationError.single(['baseUrls'], 'at least one base URL');
  const origins = baseUrls.map((u, i) => {
    if (!URL.canParse(u)) throw ValidationError.single(['baseUrls', i], `not a URL: ${u}`);
    return new URL(u);
  });
  const inner = options.fetch ?? globalThis.fetch;
  let current = 0;
  return async (input, init) => {
    const request = new Request(input, init);
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.arrayBuffer();
    let lastError: unknown;
    for (let attempt = 0; attempt < origins.length; attempt++) {
      const i = (current + attempt) % origins.length;
      const target = origins[i] as URL;
      const url = new URL(request.url);
      url.protocol = target.protocol;
      url.host = target.host;
      try {
        const response = await inner(url, {
          method: request.method,
          headers: request.headers,
          signal: request.signal,
          redirect: request.redirect,
          ...(body !== undefined ? { body } : {}),
        });
        current = i;
        return response;
      } catch (err) {
        if (request.signal.aborted) throw err;
        lastError = err;
        options.logger?.warn({ err, replica: target.origin }, 'replica unreachable; trying the next one');
      }
    }
    throw lastError;
  };
}
