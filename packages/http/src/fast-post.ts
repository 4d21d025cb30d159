import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import { errorOfAnswer } from './http-errors.js';

/** The headers of an answer, as much of `Headers` as the mailbox reads. */
export type AnswerHeaders = { get(name: string): string | null };

/** A fast attempt's answer: its status, its JSON body (`undefined` when it had none), and its headers. */
export type FastAnswer = { status: number; data: unknown; headers: AnswerHeaders };

/**
 * The first attempt of the calls on the hot path of a round trip (send, batch send, mark read),
 * made on `node:http` with a keep-alive agent rather than through ky and fetch: a POST here costs
 * about a tenth of the CPU time (ky builds and clones a `Request` per call, fetch adds web
 * streams, abort signals and promises per chunk). It gives the server's answer (any status);
 * a network failure, a timeout, or a 2xx whose body is not JSON gives `undefined`, and the caller
 * makes the call again the usual way (ky: its retries, `Retry-After`, typed errors). Every call
 * made here is safe to repeat (a send carries its idempotency key, a read mark is set-to), so a
 * repeat never sends twice. Used only where no `fetch` was injected.
 * @internal
 */
export class FastPost {
  private readonly base: URL;
  private readonly agent: HttpAgent;
  private readonly request: typeof httpRequest;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger | undefined,
  ) {
    this.base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    const tls = this.base.protocol === 'https:';
    // Idle sockets of a keep-alive agent do not hold the process open (Node unrefs them).
    this.agent = tls ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.request = tls ? (httpsRequest as typeof httpRequest) : httpRequest;
  }

  /** POSTs `json` to `path` (relative to the base URL): the answer when it is a 2xx JSON one, else `undefined`. */
  post(path: string, json: unknown): Promise<FastAnswer | undefined> {
    const body = Buffer.from(JSON.stringify(json));
    return new Promise((resolve) => {
      let settled = false;
      // The whole attempt, not only each idle gap: an answer that trickles in still ends in time.
      const timer = setTimeout(() => req.destroy(new Error(`no answer in ${this.timeoutMs} ms`)), this.timeoutMs);
      const done = (answer: FastAnswer | undefined, why?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (why && this.logger?.isLevelEnabled('debug')) {
          this.logger.debug({ path, why }, 'fast attempt gave no answer; the call goes the usual way');
        }
        resolve(answer);
      };
      const req = this.request(
        new URL(path, this.base),
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            'x-api-key': this.apiKey,
            'content-type': 'application/json',
            'content-length': body.length,
            accept: 'application/json',
          },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const ok = status >= 200 && status <= 299;
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('error', (err) => done(undefined, err.message));
          res.on('end', () => {
            let data: unknown;
            try {
              data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              // An error answer without a JSON body is still an answer of its status.
              if (ok) return done(undefined, 'the body is not JSON');
            }
            done({ status, data, headers: headersOf(res.headers) });
          });
        },
      );
      req.on('error', (err) => done(undefined, err.message));
      req.end(body);
    });
  }
}

/** The headers of a `node:http` answer, read as `Headers` reads them. */
export function headersOf(raw: IncomingHttpHeaders): AnswerHeaders {
  return {
    get(name) {
      const v = raw[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  };
}

/**
 * What follows a fast attempt: a 2xx is the answer; a 3xx or 4xx (but 408, and a 429 short enough
 * to wait out) is the error the usual way would throw; a 408 or 5xx, a 429 or 503 after its
 * `Retry-After` (`waitMs`), and a network failure (no answer) go the usual way, with its retries.
 */
export function afterFastAttempt(
  answer: FastAnswer | undefined,
  maxWaitMs: number,
): { next: 'answer'; data: unknown } | { next: 'throw'; error: Error } | { next: 'usual'; waitMs: number } {
  if (!answer) return { next: 'usual', waitMs: 0 };
  const { status } = answer;
  if (status >= 200 && status <= 299) return { next: 'answer', data: answer.data };
  const retryAfter = answer.headers.get('retry-after');
  const waitMs = retryAfter === null ? 0 : Number(retryAfter) * 1000;
  // A wait longer than `maxWaitMs` (the option, or what is left of the call's deadline) is not made.
  const waitable = waitMs >= 0 && waitMs <= maxWaitMs;
  if (status === 429 && waitable) return { next: 'usual', waitMs };
  // A 503 names when to come back too (the usual way honours it the same).
  if (status === 408 || status >= 500) return { next: 'usual', waitMs: status === 503 && waitable ? waitMs : 0 };
  return { next: 'throw', error: errorOfAnswer(status, answer.data, answer.headers, new Error(`HTTP ${status}`)) };
}
