import { randomBytes } from 'node:crypto';
import { type Clock, type SendRequest, type SendResult, ValidationError } from '@mailroom/core';
import { planSend } from '@mailroom/core/post-office';
import type { Logger } from 'pino';
import { type MessageRow, toMessage } from '../rows.js';
import type { SqlSession } from './database.js';
import { type SendOutcome, sendError, sendResult } from './send-function.js';
import type { PgStatements } from './statements.js';

/** What a send did: its result, and whom to wake (nobody for a repeated idempotency key). */
export type Sent = { result: SendResult; recipients: readonly string[] };

/** A send asked for while others of its sender were on their way. */
type Waiting = { request: SendRequest; resolve: (sent: Sent) => void; reject: (err: unknown) => void };

/**
 * Text as PostgreSQL stores it: a lone UTF-16 surrogate becomes U+FFFD (what the driver does to a
 * parameter, and a JSON value of a group would otherwise be refused whole); NUL it cannot store.
 */
function storable<T extends string | null>(value: T, field: string): T {
  if (value === null) return value;
  if (value.includes('\u0000')) {
    throw ValidationError.single(['body', field], 'PostgreSQL cannot store the NUL character (\\u0000)');
  }
  return (value as string & { toWellFormed(): string }).toWellFormed() as T;
}

/** PostgreSQL's "data exception" class: the statement was refused as a whole, nothing was written. */
const refusedAsData = (err: unknown): boolean => /^22/.test(String((err as { code?: unknown }).code ?? ''));

/** The most sends of one sender in one statement, and about the most text they carry. */
const MAX_GROUP = 100;
const MAX_GROUP_CHARS = 4 * 1024 * 1024;

/**
 * The sends of a PostgreSQL post office, in the order they were asked for per sender — as SQLite
 * commits them — so that a batch (`POST /email/send/batch` starts its sends together) lands in
 * every inbox, and meets the quota, in its own order. A send goes out at once when its sender has
 * none on the way (one statement: `send_mail`); the sends asked for meanwhile wait for it and then
 * go out together, in order, as one statement (`send_mails`): one round trip for the group, where
 * the database would have run them one after another anyway (each locks the sender's row).
 */
export class PgSender {
  /** Per sender with sends on their way: those asked for since (they go out next, together). */
  private readonly waiting = new Map<string, Waiting[]>();

  constructor(
    private readonly s: {
      db: SqlSession;
      q: PgStatements;
      clock: Clock;
      domain: string;
      /** The NOTIFY channel of the office, and the origin its notices carry. */
      channel: string;
      origin: string;
      log?: Pick<Logger, 'warn'> | undefined;
    },
  ) {}

  send(from: string, request: SendRequest): Promise<Sent> {
    return new Promise<Sent>((resolve, reject) => {
      const queue = this.waiting.get(from);
      if (queue) {
        queue.push({ request, resolve, reject });
        return;
      }
      this.waiting.set(from, []);
      void this.drain(from, [{ request, resolve, reject }]);
    });
  }

  /** Sends `group`, then what was asked for meanwhile, until `from` has nothing waiting. */
  private async drain(from: string, first: Waiting[]): Promise<void> {
    let group = first;
    while (group.length > 0) {
      await this.sendGroup(from, group);
      group = nextGroup(this.waiting.get(from) ?? []);
    }
    this.waiting.delete(from);
  }

  /** One statement for the group; settles each of its sends (never rejects). */
  private async sendGroup(from: string, group: Waiting[]): Promise<void> {
    const now = this.s.clock.now();
    const sends: { w: Waiting; args: ReturnType<PgSender['args']> }[] = [];
    for (const w of group) {
      try {
        sends.push({ w, args: this.args(from, w.request, now) });
      } catch (err) {
        w.reject(err); // refused before it reached the database (bad address, subject…)
      }
    }
    if (sends.length === 0) return;
    try {
      let outcomes: SendOutcome[];
      try {
        outcomes =
          sends.length === 1
            ? [await this.query<SendOutcome>(this.s.q.send, [from, ...Object.values(sends[0]?.args.fields ?? {})])]
            : await this.query<SendOutcome[]>(this.s.q.sendGroup, [
                from,
                JSON.stringify(sends.map((x) => x.args.fields)),
              ]);
      } catch (err) {
        // One send's data refused the group's statement (nothing of it was written): each goes
        // alone, in order, so that only the one at fault fails.
        if (sends.length === 1 || !refusedAsData(err)) throw err;
        // Code and message only: the error's detail may quote the mail.
        const { code, message } = err as { code?: string; message?: string };
        this.s.log?.warn(
          { code, reason: message, sends: sends.length },
          'a group of sends was refused; sending one by one',
        );
        for (const x of sends) await this.sendGroup(from, [x.w]);
        return;
      }
      for (const [i, { w, args }] of sends.entries()) {
        const r = outcomes[i] as SendOutcome;
        if ('idem' in r) this.replay(r.idem).then((result) => w.resolve({ result, recipients: [] }), w.reject);
        else if ('error' in r) w.reject(sendError(r, now));
        else w.resolve({ result: args.result(r), recipients: args.fields.recipients });
      }
    } catch (err) {
      for (const { w } of sends) w.reject(err);
    }
  }

  private async query<R>(sql: string, params: unknown[]): Promise<R> {
    const [row] = await this.s.db.query<{ r: R }>(sql, params);
    return (row as { r: R }).r;
  }

  /**
   * The arguments of `send_mail` after the sender (in its order: `send` passes their values, and
   * `send_mails` reads them by name), and how to make the result once it stored the message.
   * Throws what `planSend` finds wrong with the request.
   */
  private args(from: string, request: SendRequest, now: number) {
    const plan = planSend(request, this.s.domain);
    const req = plan.request;
    const createdAt = new Date(now).toISOString();
    const suffix = randomBytes(12).toString('base64url');
    // Each participant once (a sender may write to itself); seen wins over bcc.
    const hidden = new Map<string, number>();
    for (const a of [from, ...plan.to, ...plan.cc]) hidden.set(a, 0);
    for (const a of plan.bcc) if (!hidden.has(a)) hidden.set(a, 1);
    const fields = {
      recipients: plan.recipients,
      participants: [...hidden.keys()],
      hidden: [...hidden.values()],
      to_json: JSON.stringify(plan.to),
      cc_json: JSON.stringify(plan.cc),
      subject: storable(req.subject, 'subject'),
      body_text: storable(req.body_text ?? null, 'body_text'),
      body_html: storable(req.body_html ?? null, 'body_html'),
      in_reply_to: req.in_reply_to ?? null,
      idem: storable(req.idempotency_key ?? null, 'idempotency_key'),
      now,
      created_at: createdAt,
      id: `msg_${suffix}`,
      new_thread: `thr_${suffix}`,
      channel: this.s.channel,
      notice: JSON.stringify([this.s.origin, plan.recipients]),
    };
    const result = (r: Extract<SendOutcome, { seq: number }>): SendResult =>
      sendResult(
        toMessage({
          id: fields.id,
          thread_id: r.thread_id,
          from_address: from,
          from_agent_id: r.agent_id,
          to_json: fields.to_json,
          cc_json: fields.cc_json,
          subject: fields.subject,
          body_text: fields.body_text,
          body_html: fields.body_html,
          in_reply_to: r.in_reply_to,
          created_at: createdAt,
          direction: 'outbound',
          read_at: null,
          starred: 0,
        }),
      );
    return { fields, result };
  }

  /** The first result of a repeated idempotency key, rebuilt from its message. */
  private async replay(seq: number): Promise<SendResult> {
    const [row] = await this.s.db.query<MessageRow>(this.s.q.messageBySeq, [seq]);
    return sendResult(toMessage({ ...(row as MessageRow), direction: 'outbound', read_at: null, starred: 0 }));
  }
}

/** Takes the next group off `queue`: up to MAX_GROUP sends, and MAX_GROUP_CHARS of text unless one alone has more. */
function nextGroup(queue: Waiting[]): Waiting[] {
  let n = 0;
  let chars = 0;
  for (const { request: r } of queue) {
    // The request is not checked yet (planSend does that in the group): count only what is text.
    for (const text of [r.subject, r.body_text, r.body_html]) chars += typeof text === 'string' ? text.length : 0;
    if (n === MAX_GROUP || (n > 0 && chars > MAX_GROUP_CHARS)) break;
    n += 1;
  }
  return queue.splice(0, n);
}
