import { MailroomError, NotFoundError, type SendResult } from '@mailroom/core';
import { admitSend, type Clock, type QuotaUsage, type SendPlan } from '@mailroom/core/post-office';
import { type AccountRow, type MessageRow, toMessage } from './rows.js';
import { accountRow, type KnownAccounts, limitsOf, newIdSuffix, parentFor, usageOf } from './sqlite-access.js';
import { type SqliteStore, storeError } from './sqlite-store.js';

/**
 * What the sends of one group counted, written once per account just before the group commits:
 * the sender's row is read once per group, its quota counters and `total_sent` written once, and
 * each recipient's `total_received` once (not two statements per send). A group that rolls back
 * starts again with an empty tally.
 */
type Tally = {
  senders: Map<string, { row: AccountRow; usage: QuotaUsage; sent: number }>;
  received: Map<string, number>;
};

/**
 * How long read marks alone wait for a send to share their commit (see {@link WriteGroups}). A
 * mark is on no answer's path, but its own commit holds the event loop for a WAL sync: one that
 * starts just before a send arrives delays that send by a sync. In a conversation the next send
 * comes within a few ms of the marks (one round trip between client and server on a busy
 * machine), so marks wait long enough to meet it.
 */
const MARKS_WAIT_MS = 10;

type Job = {
  run: (tally: Tally) => unknown;
  /** The addresses that receive mail when this job commits (a send's recipients). */
  recipients: readonly string[];
  resolve: (result: never) => void;
  reject: (err: unknown) => void;
};

/**
 * The writes of the SQLite post office that answer requests (sends, read marks), committed in
 * groups: the writes that arrive while the event loop is busy (one turn of it) share one
 * transaction, so one WAL sync covers them all (at `durability: 'full'` a sync costs milliseconds,
 * and the loop waits for it: one per write would cap the server at a few hundred writes a second).
 * Each write checks what it depends on (sender, idempotency key, recipients, parent, quota, the
 * caller's copy of a message) inside that transaction, so another process on the same file can
 * never make a quota count twice, and a write that fails fails alone. A promise settles after
 * its group committed.
 */
export class WriteGroups {
  private queue: Job[] = [];
  /** A flush is due at the next turn of the event loop (a send waits). */
  private scheduled = false;
  /** Read marks alone wait for a send to share their commit, this long at most. */
  private marksTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly store: SqliteStore,
    private readonly clock: Clock,
    private readonly known: KnownAccounts,
    /** Called after a commit with the addresses that received mail. */
    private readonly delivered: (recipients: readonly string[]) => void,
  ) {}

  send(from: string, plan: SendPlan): Promise<SendResult> {
    return this.enqueue((tally) => this.runSend(from, plan, tally), plan.recipients, true);
  }

  /**
   * Runs `run` inside the next group's transaction. It throws a MailroomError before it writes
   * anything (that write fails alone), or lets a store error through (the group is rolled back
   * and its other writes run again).
   */
  write<T>(run: () => T): Promise<T> {
    return this.enqueue(run, [], false);
  }

  /** Commits what waits now (before the store closes). */
  settle(): void {
    if (this.queue.length > 0) this.flush();
  }

  /**
   * A send is committed at the next turn of the event loop, with every write queued by then. A
   * write that is not a send (a read mark: off the path of any answer) waits up to
   * {@link MARKS_WAIT_MS} for a send to share its commit: a send that comes meanwhile then does not
   * wait behind the read mark's own sync, and the two cost one sync, not two.
   */
  private enqueue<T>(run: (tally: Tally) => T, recipients: readonly string[], isSend: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, recipients, resolve: resolve as (result: never) => void, reject });
      if (this.scheduled) return;
      if (isSend) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      } else {
        this.marksTimer ??= setTimeout(() => this.flush(), MARKS_WAIT_MS);
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    clearTimeout(this.marksTimer);
    this.marksTimer = undefined;
    let jobs = this.queue;
    this.queue = [];
    while (jobs.length > 0) jobs = this.commitGroup(jobs);
  }

  /** Commits what it can of `jobs`; returns the jobs to run again in a fresh transaction. */
  private commitGroup(jobs: Job[]): Job[] {
    try {
      this.store.begin();
    } catch (err) {
      for (const job of jobs) job.reject(err);
      return [];
    }
    const done: { job: Job; result: unknown }[] = [];
    const tally: Tally = { senders: new Map(), received: new Map() };
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i] as Job;
      try {
        done.push({ job, result: job.run(tally) });
      } catch (err) {
        // Checks throw Mailroom errors before anything is written: that write fails alone.
        if (err instanceof MailroomError) {
          job.reject(err);
          continue;
        }
        // A write failed half-way: undo the group, fail this write, run the others again.
        this.store.rollback(err);
        job.reject(storeError(err));
        return [...done.map((d) => d.job), ...jobs.slice(i + 1)];
      }
    }
    try {
      this.writeTally(tally);
    } catch (err) {
      this.store.rollback(err);
      const failure = storeError(err);
      for (const { job } of done) job.reject(failure);
      return [];
    }
    try {
      this.store.commit();
    } catch (err) {
      for (const { job } of done) job.reject(err);
      return [];
    }
    // Recipients are woken before the senders are answered: a push stream's read of the new mail
    // then starts ahead of the answers' writes (the mail is on the path of the round trip, the
    // sender's answer is not). Both follow the commit.
    const recipients = new Set<string>();
    for (const { job } of done) for (const a of job.recipients) recipients.add(a);
    if (recipients.size > 0) this.delivered([...recipients]);
    for (const { job, result } of done) job.resolve(result as never);
    return [];
  }

  /** The counters the group's sends tallied, one statement per account. */
  private writeTally(tally: Tally): void {
    const q = this.store.q;
    for (const [address, { usage, sent }] of tally.senders) {
      q.setUsage.run(usage.hourWindow, usage.hourUsed, usage.dayWindow, usage.dayUsed, sent, address);
    }
    for (const [address, n] of tally.received) q.received.run(n, address);
  }

  /** One send inside the group's transaction. Throws a MailroomError before writing, or a store error. */
  private runSend(from: string, plan: SendPlan, tally: Tally): SendResult {
    const q = this.store.q;
    const req = plan.request;
    const counted = tally.senders.get(from);
    const sender = counted?.row ?? accountRow(q, from);
    if (req.idempotency_key !== undefined) {
      const first = q.idem.get(from, req.idempotency_key) as MessageRow | undefined;
      if (first) return sendResult(first);
      if (this.store.oldIdempotency) {
        const old = q.idemOld.get(from, req.idempotency_key) as { result_json: string } | undefined;
        if (old) return JSON.parse(old.result_json) as SendResult;
      }
    }
    for (const address of plan.recipients) {
      if (!this.known.has(address)) throw new NotFoundError(`recipient ${address} is not registered`);
    }
    const parent = req.in_reply_to != null ? parentFor(q, from, req.in_reply_to) : undefined;
    if (req.in_reply_to != null && !parent) throw new NotFoundError(`message ${req.in_reply_to} not found`);
    const now = this.clock.now();
    // The counters as this group left them (the sends before this one in the group count).
    const usage = counted?.usage ?? usageOf(sender);
    admitSend(usage, limitsOf(sender), now);

    // Every check passed: from here on only the store can fail.
    const createdAt = new Date(now).toISOString();
    const suffix = newIdSuffix(now);
    if (counted) counted.sent += 1;
    else tally.senders.set(from, { row: sender, usage, sent: 1 });
    const row: StoredMail = {
      id: `msg_${suffix}`,
      thread_id: parent ? parent.thread_id : `thr_${suffix}`,
      from_address: from,
      from_agent_id: sender.agent_id,
      to_json: JSON.stringify(plan.to),
      cc_json: JSON.stringify(plan.cc),
      subject: req.subject,
      body_text: req.body_text ?? null,
      body_html: req.body_html ?? null,
      in_reply_to: parent ? parent.id : null,
      created_at: createdAt,
    };
    this.insertMail(row, plan, parent === undefined, req.idempotency_key);
    for (const a of plan.recipients) tally.received.set(a, (tally.received.get(a) ?? 0) + 1);
    return sendResult(row);
  }

  /**
   * Writes a message that passed every check: its thread when it starts one, the participants,
   * a copy for the sender and each recipient, and the idempotency key. The usual mail (one `to`
   * recipient other than the sender, no cc or bcc) is one statement (see SESSION_SCHEMA).
   */
  private insertMail(row: StoredMail, plan: SendPlan, newThread: boolean, key: string | undefined): void {
    const q = this.store.q;
    const from = row.from_address;
    const only = plan.to.length === 1 && plan.cc.length === 0 && plan.bcc.length === 0 ? plan.to[0] : undefined;
    if (only !== undefined && only !== from) {
      q.sendUsual.run(
        row.id,
        row.thread_id,
        newThread ? 1 : 0,
        from,
        row.from_agent_id,
        only,
        row.to_json,
        row.subject,
        row.body_text,
        row.body_html,
        row.in_reply_to,
        row.created_at,
        key ?? null,
      );
      return;
    }
    const info = q.insertMessage.run(
      row.id,
      row.thread_id,
      from,
      row.from_agent_id,
      row.to_json,
      row.cc_json,
      row.subject,
      row.body_text,
      row.body_html,
      row.in_reply_to,
      row.created_at,
    );
    const seq = Number(info.lastInsertRowid);
    if (newThread) q.insertThread.run(row.thread_id, row.subject);
    q.addParticipant.run(row.thread_id, from, 0);
    for (const a of [...plan.to, ...plan.cc]) q.addParticipant.run(row.thread_id, a, 0);
    for (const a of plan.bcc) q.addParticipant.run(row.thread_id, a, 1);
    q.insertEntry.run(from, seq, 'outbound');
    for (const a of plan.recipients) q.insertEntry.run(a, seq, 'inbound');
    if (key !== undefined) q.insertIdem.run(from, key, seq);
  }
}

/** A message as it is stored (its `seq` is the store's). */
type StoredMail = Omit<MessageRow, 'seq'>;

/** The answer to a send of the message in `row`, as its sender saw it then (a repeated key gets it again). */
function sendResult(row: StoredMail): SendResult {
  return {
    message_id: row.id,
    thread_id: row.thread_id,
    status: 'delivered',
    delivery_type: 'internal',
    message: toMessage({ ...row, direction: 'outbound', read_at: null, starred: 0 }),
  };
}
