import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type AnswerHeaders, headersOf } from './fast-post.js';

/** The answer to a GET whose body is read as it comes (the push stream). */
export type StreamAnswer = {
  status: number;
  headers: AnswerHeaders;
  /** The body's bytes as they arrive; leaving the loop early lets the connection go. */
  body: AsyncIterable<Uint8Array> | undefined;
  /** The whole body as JSON (an error answer). */
  json(): Promise<unknown>;
  /** Lets the body go unread. */
  cancel(): Promise<void>;
};

/** A GET through an injected `fetch` (what a test or a proxy-minded caller gives). */
export async function getWithFetch(
  fetchFn: typeof fetch,
  url: URL,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<StreamAnswer> {
  const response = await fetchFn(url, { headers, redirect: 'manual', signal });
  const body = response.body;
  return {
    status: response.status,
    headers: response.headers,
    body: body ?? undefined,
    json: () => response.json(),
    cancel: async () => {
      await body?.cancel();
    },
  };
}

/**
 * A GET on `node:http` (`node:https`): a stream's chunks arrive as Buffers from the socket, with
 * none of fetch's web-stream machinery per chunk (a page pushed to an agent costs less CPU).
 * Redirects are not followed. Aborting `signal` ends the request and the body.
 */
export function getWithHttp(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<StreamAnswer> {
  const request = url.protocol === 'https:' ? (httpsRequest as typeof httpRequest) : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, signal }, (res) => {
      resolve({
        status: res.statusCode ?? 0,
        headers: headersOf(res.headers),
        body: res,
        json: async () => {
          const chunks: Buffer[] = [];
          for await (const c of res) chunks.push(c as Buffer);
          return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
        },
        cancel: async () => {
          res.destroy();
        },
      });
    });
    req.on('error', reject);
    req.end();
  });
}
