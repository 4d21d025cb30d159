import { randomUUID } from 'node:crypto';
import { MailboxError, NotFoundError } from '@mailroom/core';
import {
  Account,
  BATCH_SEND_HEADER,
  type ClaimQuery,
  checkOptions,
  InboxPage,
  type InboxQuery,
  LEASES_HEADER,
  LeasedPage,
  type Mailbox,
  Message,
  PUSH_HEADER,
  type PushQuery,
  type RenewRequest,
  RenewResult,
  SendBatchResult,
  type SendRequest,
  SendResult,
  SentPage,
  type SentQuery,
  Thread,
} from '@mailroom/core/post-office';
import ky, { HTTPError, type KyInstance } from 'ky';
import type { Observable } from 'rxjs';
import { z } from 'zod';
import { type AnswerHeaders, afterFastAttempt, FastPost } from './fast-post.js';
import { checked, errorOfAnswer, toMailroomError } from './http-errors.js';
import { checkApiKey, type HttpMailboxOptions, Options } from './http-mailbox-options.js';
import { pushStream } from './push-stream.js';
import { SendBatcher } from './send-batcher.js';

const LONG_POLL_HEADER = 'x-mailroom-long-poll';
const Marked = z.object({ marked: z.number().int() });
const Starred = z.object({ starred: z.boolean() });
/** A POST or DELETE that may be repeated: the instance retries GETs only. */
const REPEATABLE = { retry: { methods: ['get', 'post', 'delete'] } };
/** A call that must reach the server at most once (a toggle): never retried. */
const ONCE = { retry: { limit: 0 } };

export type { HttpMailboxOptions } from './http-mailbox-options.js';
/**
 * A {@link Mailbox} over the Agent Email API, on ky: timeouts, retries with backoff for what is
 * safe to repeat (GETs; sends, each with an idempotency key; mark read and delete — never the star
 * toggle), `429 Retry-After` honoured, typed errors, answers validated with the zod model, long
 * polls or push where the server offers them. Sends, batch sends and read marks make their first
 * attempt on `node:http` (see `FastPost`). Redirects are not followed: the key stays with `baseUrl`.
 */
export class HttpMailbox implements Mailbox {
  readonly address: string;
  /** True once the server showed that it holds inbox requests (`wait`). */
  longPoll = false;
  /** True when `options.leases` asks for claims and the server showed that it offers them (`X-Mailroom-Leases: 1`, on every response). */
  leases = false;
  private readonly http: KyInstance;
  private readonly options: HttpMailboxOptions;
  private batchRead: boolean | undefined;
  /** True once the server announced the push extension (and `options.push` allows it). */
  push = false;
  /** The server announced batch send; `false` once it turned out not to serve it. */
  private batchSend: boolean | undefined;
  private readonly sends: SendBatcher;
  /** The first attempt of a send, batch send or read mark (none where a `fetch` was injected). */
  private readonly fast: FastPost | undefined;

  /** Connects: reads the account behind the key to learn this mailbox's address. */
  static async connect(options: HttpMailboxOptions): Promise<HttpMailbox> {
    const probe = new HttpMailbox({ ...options, address: '' });
    const account = await probe.account();
    const mailbox = new HttpMailbox({ ...options, address: account.email_address });
    mailbox.leases = probe.leases;
    mailbox.push = probe.push;
    mailbox.batchSend = probe.batchSend;
    return mailbox;
  }

  constructor(options: HttpMailboxOptions & { address: string }) {
    checkApiKey(options?.apiKey);
    checkOptions('HttpMailbox options', Options, options);
    this.options = options;
    this.address = options.address;
    const maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.http = ky.create({
      baseUrl: options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`,
      headers: { 'x-api-key': options.apiKey },
      timeout: options.timeoutMs ?? 10_000,
      totalTimeout: options.totalTimeoutMs ?? 60_000,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      // A redirect could take the key (and a send's body) to another origin: it is an error instead.
      redirect: 'manual',
      retry: {
        limit: options.retries ?? 3,
        // A timed-out attempt is retried too (within totalTimeout) for what is safe to repeat:
        // GETs here; sends, mark-read and delete opt in per call (REPEATABLE); a star never (ONCE).
        retryOnTimeout: true,
        methods: ['get'],
        statusCodes: [408, 429, 500, 502, 503, 504],
        afterStatusCodes: [429, 503],
        maxRetryAfter: maxRetryAfterMs,
        backoffLimit: 5_000,
        jitter: (delay) => delay * (0.8 + Math.random() * 0.4),
        shouldRetry: ({ error }) => {
          if (error instanceof HTTPError && error.response.status === 429) {
            const seconds = Number(error.response.headers.get('retry-after'));
            return Number.isFinite(seconds) && seconds * 1000 <= maxRetryAfterMs ? undefined : false;
          }
          return undefined;
        },
      },
      hooks: {
        beforeRetry: [
          ({ request, options: sent, error, retryCount }) => {
            const path = new URL(request.url).pathname;
            // A 429 is the server's quota: say how long it holds the request back.
            const retryAfter =
              error instanceof HTTPError && error.response.status === 429
                ? Number(error.response.headers.get('retry-after') ?? Number.NaN)
                : Number.NaN;
            options.logger?.warn(
              {
                method: request.method,
                path,
                retryCount,
                status: error instanceof HTTPError ? error.response.status : undefined,
                reason: error.name,
                bodyBytes: typeof sent.body === 'string' ? Buffer.byteLength(sent.body) : undefined,
                ...(Number.isFinite(retryAfter) ? { waitMs: retryAfter * 1000 } : {}),
              },
              Number.isFinite(retryAfter)
                ? `rate limited: ${request.method} ${path} waits ${retryAfter} s (Retry-After) for the server's quota`
                : 'retrying request',
            );
          },
        ],
      },
    });
    this.fast = options.fetch
      ? undefined
      : new FastPost(options.baseUrl, options.apiKey, options.timeoutMs ?? 10_000, options.logger);
    const maxRetryAfter = maxRetryAfterMs;
    this.sends = new SendBatcher(
      {
        one: (body) => this.sendAlone(body),
        many: (bodies) => this.sendBatch(bodies),
        offered: () => this.batchSend === true,
        waitsOut: (item) => item.retry_after !== undefined && item.retry_after * 1000 <= maxRetryAfter,
        errorOf: (item) =>
          errorOfAnswer(
            item.status,
            item.body,
            item.retry_after !== undefined ? new Headers({ 'retry-after': String(item.retry_after) }) : undefined,
            new Error(`HTTP ${item.status} (one send of a batch)`),
          ),
      },
      options.sendBatching ?? 8,
    );
  }

  async send(request: SendRequest): Promise<SendResult> {
    const body = { ...request, idempotency_key: request.idempotency_key ?? newIdempotencyKey() };
    return this.sends.send(body);
  }

  /** One send, one request. */
  private async sendAlone(body: SendRequest): Promise<SendResult> {
    const sent = await this.post(SendResult, 'email/send', body);
    const log = this.options.logger;
    if (log?.isLevelEnabled('debug')) {
      log.debug(
        { from: this.address, to: body.to, message_id: sent.message_id, thread_id: sent.thread_id },
        'mail sent',
      );
    }
    return sent;
  }

  /** Several sends in one request (batch-send extension); `undefined` when the server lacks it. */
  private async sendBatch(bodies: SendRequest[]): Promise<SendBatchResult['results'] | undefined> {
    try {
      const { results } = await this.post(SendBatchResult, 'email/send/batch', { sends: bodies });
      if (results.length !== bodies.length) throw new MailboxError('batch send: one answer per send expected', 200);
      this.batchSend = true;
      return results;
    } catch (err) {
      // A 404 before a batch ever worked: no such route here.
      if (!(err instanceof NotFoundError) || this.batchSend === true) throw err;
      this.batchSend = false;
      return undefined;
    }
  }

  /**
   * The inbox as mail lands, over the push extension (Server-Sent Events): reconnects by itself
   * from the last page delivered; errors with `NotFoundError` where push is not offered.
   */
  inboxPush(query: PushQuery = {}): Observable<InboxPage> {
    return pushStream(
      {
        baseUrl: this.options.baseUrl,
        apiKey: this.options.apiKey,
        fetch: this.options.fetch,
        timeoutMs: this.options.timeoutMs ?? 10_000,
        idleTimeoutMs: this.options.pushIdleTimeoutMs ?? 45_000,
        minRetryMs: 100,
        maxRetryMs: 5_000,
        logger: this.options.logger,
        onHeaders: (headers) => this.learn(headers),
      },
      query,
    );
  }

  /** Learns what the server offers from an answer's headers. */
  private learn(headers: AnswerHeaders): void {
    if (this.options.leases === true && headers.get(LEASES_HEADER) === '1') this.leases = true;
    if (this.options.push !== false && headers.get(PUSH_HEADER) === '1') this.push = true;
    if (this.batchSend === undefined && headers.get(BATCH_SEND_HEADER) === '1') this.batchSend = true;
  }

  async inbox(query: InboxQuery = {}, options: { signal?: AbortSignal } = {}): Promise<InboxPage> {
    const wait = this.options.longPoll === false ? undefined : query.wait;
    const searchParams: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...query, wait })) if (v !== undefined) searchParams[k] = String(v);
    const waitMs = wait ? Number(wait) * 1000 : 0;
    const timeout = (this.options.timeoutMs ?? 10_000) + waitMs;
    const page = await this.call(InboxPage, async () => {
      const response = await this.http.get('email/inbox', {
        searchParams,
        timeout,
        totalTimeout: (this.options.totalTimeoutMs ?? 60_000) + waitMs,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (this.options.longPoll !== false && response.headers.get(LONG_POLL_HEADER) === '1') this.longPoll = true;
      return response;
    });
    const log = this.options.logger;
    if (log?.isLevelEnabled('debug')) {
      log.debug(
        {
          address: this.address,
          messages: page.messages.length,
          unread_count: page.unread_count,
          unread_only: query.unread_only,
          wait,
        },
        page.messages.length > 0 ? 'inbox polled' : 'inbox polled: nothing new',
      );
    }
    return page;
  }

  /** Claims unread mail no other consumer holds (lease extension); `wait` holds the request on the server. */
  async claim(query: ClaimQuery = {}, options: { signal?: AbortSignal } = {}): Promise<LeasedPage> {
    const searchParams: Record<string, string> = {};
    for (const [k, v] of Object.entries(query)) if (v !== undefined) searchParams[k] = String(v);
    const timeout = (this.options.timeoutMs ?? 10_000) + (query.wait ? Number(query.wait) * 1000 : 0);
    return this.call(LeasedPage, () =>
      this.http.get('email/claim', { searchParams, timeout, ...(options.signal ? { signal: options.signal } : {}) }),
    );
  }

  /** Renews (or with `lease_seconds: 0` releases) what a lease still holds (lease extension). */
  async renewLease(request: RenewRequest): Promise<RenewResult> {
    return this.call(RenewResult, () => this.http.post('email/lease', { json: request }));
  }

  async message(messageId: string): Promise<Message> {
    return this.call(Message, () => this.http.get(`email/message/${encodeURIComponent(messageId)}`));
  }

  /** Marks read with the batch extension when the server has it, one call a message elsewhere. */
  async markRead(messageIds: readonly string[], options: { unread?: boolean } = {}): Promise<number> {
    if (options.unread !== true && this.batchRead !== false) {
      try {
        const { marked } = await this.post(Marked, 'email/read', { message_ids: messageIds });
        this.batchRead = true;
        return marked;
      } catch (err) {
        // A 404 before the batch ever worked may mean "no such route": try one by one, and if
        // that works, the server lacks the extension.
        if (!(err instanceof NotFoundError) || this.batchRead === true) throw err;
        await this.markEach(messageIds, false);
        this.batchRead = false;
        return messageIds.length;
      }
    }
    await this.markEach(messageIds, options.unread === true);
    return messageIds.length;
  }

  private async markEach(messageIds: readonly string[], unread: boolean): Promise<void> {
    for (const id of messageIds) {
      await this.call(z.unknown(), () =>
        this.http.post(`email/message/${encodeURIComponent(id)}/read`, {
          searchParams: { unread: String(unread) },
          ...REPEATABLE,
        }),
      );
    }
  }

  async thread(threadId: string): Promise<Thread> {
    return this.call(Thread, () => this.http.get(`email/thread/${encodeURIComponent(threadId)}`));
  }

  async account(): Promise<Account> {
    return this.call(Account, () => this.http.get('email/account'));
  }

  async sent(query: SentQuery = {}): Promise<SentPage> {
    const searchParams: Record<string, string> = {};
    for (const [k, v] of Object.entries(query)) if (v !== undefined) searchParams[k] = String(v);
    return this.call(SentPage, () => this.http.get('email/sent', { searchParams }));
  }

  async star(messageId: string): Promise<{ starred: boolean }> {
    // A toggle: repeated after a lost answer it would undo itself. Never retried.
    return this.call(Starred, () => this.http.post(`email/message/${encodeURIComponent(messageId)}/star`, ONCE));
  }

  async delete(messageId: string): Promise<void> {
    let retried = false;
    const hooks = {
      beforeRetry: [
        () => {
          retried = true;
        },
      ],
    };
    try {
      await this.call(z.unknown(), () =>
        this.http.delete(`email/message/${encodeURIComponent(messageId)}`, { ...REPEATABLE, hooks }),
      );
    } catch (err) {
      // An earlier attempt deleted it and its answer was lost: done.
      if (!(retried && err instanceof NotFoundError)) throw err;
    }
  }

  /** A POST that is safe to repeat: first on the fast path, then as {@link afterFastAttempt} says. */
  private async post<S extends z.ZodType>(schema: S, path: string, json: unknown): Promise<z.output<S>> {
    // The first attempt (and a wait it is told to make) counts against the call's deadline.
    const deadline = Date.now() + (this.options.totalTimeoutMs ?? 60_000);
    const answer = await this.fast?.post(path, json);
    if (answer) this.learn(answer.headers);
    const after = afterFastAttempt(answer, Math.min(this.options.maxRetryAfterMs ?? 30_000, deadline - Date.now()));
    if (after.next === 'answer') return checked(schema, after.data);
    if (after.next === 'throw') {
      this.logRefusal('POST', `/${path}`, answer?.status ?? 0, after.error);
      throw after.error;
    }
    if (after.waitMs > 0) {
      this.options.logger?.warn({ path: `/${path}`, status: answer?.status, waitMs: after.waitMs }, 'told to wait');
      await new Promise((resolve) => setTimeout(resolve, after.waitMs));
    }
    const totalTimeout = Math.max(1, deadline - Date.now());
    return this.call(schema, () => this.http.post(path, { json, totalTimeout, ...REPEATABLE }));
  }

  /** Runs a request, maps HTTP failures to Mailroom errors, and validates the answer. */
  private async call<S extends z.ZodType>(schema: S, request: () => Promise<Response>): Promise<z.output<S>> {
    let data: unknown;
    try {
      const response = await request();
      this.learn(response.headers);
      data = await response.json();
    } catch (err) {
      const mapped = await toMailroomError(err);
      if (err instanceof HTTPError) {
        this.logRefusal(err.request.method, new URL(err.request.url).pathname, err.response.status, mapped);
      }
      throw mapped;
    }
    return checked(schema, data);
  }

  /** At debug: the server refused a call, and why (never a body or a key). */
  private logRefusal(method: string, path: string, status: number, error: Error): void {
    const log = this.options.logger;
    if (!log?.isLevelEnabled('debug')) return;
    log.debug({ method, path, status, error: error.name }, `server answered ${status}: ${error.message}`);
  }
}

/**
 * A fresh idempotency key: the time in ms (12 hex digits), then a random UUID. The time first makes
 * a client's keys arrive in order, so a server's index of them appends (a SQLite server writes
 * about one WAL page less per send than for random keys); the UUID keeps a key unique.
 */
function newIdempotencyKey(): string {
  return `${Date.now().toString(16).padStart(12, '0')}-${randomUUID()}`;
}
