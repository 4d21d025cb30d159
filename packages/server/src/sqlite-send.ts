import { MailroomError, NotFoundError, type SendResult } from '@mailroom/core';
import { admitSend, type Clock, type SendPlan } from '@mailroom/core/post-office';
import { toMessage } from './rows.js';
import { accountRow, type KnownAccounts, limitsOf, newIdSuffix, usageOf, visibleMessage } from './sqlite-access.js';
import { type SqliteStore, storeError } from './sqlite-store.js';

type Job = {
  run: () => unknown;
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
  private scheduled = false;

  constructor(
    private readonly store: SqliteStore,
    private readonly clock: Clock,
    private readonly known: KnownAccounts,
    /** Called after a commit with the addresses that received mail. */
    private readonly delivered: (recipients: readonly string[]) => void,
  ) {}

  send(from: string, plan: SendPlan): Promise<SendResult> {
    return this.enqueue(() => this.runSend(from, plan), plan.recipients);
  }

  /**
   * Runs `run` inside the next group's transaction. It throws a MailroomError before it writes
   * anything (that write fails alone), or lets a store error through (the group is rolled back
   * and its other writes run again).
   */
  write<T>(run: () => T): Promise<T> {
    return this.enqueue(run, []);
  }

  private enqueue<T>(run: () => T, recipients: readonly string[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, recipients, resolve: resolve as (result: never) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
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
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i] as Job;
      try {
        done.push({ job, result: job.run() });
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
      this.store.commit();
    } catch (err) {
      for (const { job } of done) job.reject(err);
      return [];
    }
    const recipients = new Set<string>();
    for (const { job, result } of done) {
      job.resolve(result as never);
      for (const a of job.recipients) recipients.add(a);
    }
    if (recipients.size > 0) this.delivered([...recipients]);
    return [];
  }

  /** One send inside the group's transaction. Throws a MailroomError before writing, or a store error. */
  private runSend(from: string, plan: SendPlan): SendResult {
    const q = this.store.q;
    const req = plan.request;
    const sender = accountRow(q, from);
    if (req.idempotency_key !== undefined) {
      const first = q.idem.get(from, req.idempotency_key) as { result_json: string } | undefined;
      if (first) return JSON.parse(first.result_json) as SendResult;
    }
    for (const address of plan.recipients) {
      if (!this.known.has(address)) throw new NotFoundError(`recipient ${address} is not registered`);
    }
    const parent = req.in_reply_to != null ? visibleMessage(q, from, req.in_reply_to) : undefined;
    if (req.in_reply_to != null && !parent) throw new NotFoundError(`message ${req.in_reply_to} not found`);
    const now = this.clock.now();
    const usage = usageOf(sender);
    admitSend(usage, limitsOf(sender), now);

    // Every check passed: from here on only the store can fail.
    const createdAt = new Date(now).toISOString();
    const suffix = newIdSuffix();
    const id = `msg_${suffix}`;
    const threadId = parent ? parent.thread_id : `thr_${suffix}`;
    const toJson = JSON.stringify(plan.to);
    const ccJson = JSON.stringify(plan.cc);
    q.setUsage.run(usage.hourWindow, usage.hourUsed, usage.dayWindow, usage.dayUsed, from);
    const info = q.insertMessage.run(
      id,
      threadId,
      from,
      sender.agent_id,
      toJson,
      ccJson,
      req.subject,
      req.body_text ?? null,
      req.body_html ?? null,
      parent ? parent.id : null,
      createdAt,
    );
    const seq = Number(info.lastInsertRowid);
    if (!parent) q.insertThread.run(threadId, req.subject);
    const seen = [...plan.to, ...plan.cc];
    // The usual mail (one recipient, no bcc): sender and recipient in one statement.
    if (seen.length === 1 && plan.bcc.length === 0) q.addParticipants2.run(threadId, from, 0, threadId, seen[0], 0);
    else {
      q.addParticipant.run(threadId, from, 0);
      for (const a of seen) q.addParticipant.run(threadId, a, 0);
      for (const a of plan.bcc) q.addParticipant.run(threadId, a, 1);
    }
    // The usual mail again: the sender's copy and the recipient's in one statement.
    const only = plan.recipients.length === 1 ? (plan.recipients[0] as string) : undefined;
    if (only !== undefined && only !== from) q.insertEntries2.run(from, seq, only, seq);
    else {
      q.insertEntry.run(from, seq, 'outbound');
      for (const a of plan.recipients) q.insertEntry.run(a, seq, 'inbound');
    }
    for (const a of plan.recipients) q.received.run(a);
    const result: SendResult = {
      message_id: id,
      thread_id: threadId,
      status: 'delivered',
      delivery_type: 'internal',
      message: toMessage({
        seq,
        id,
        thread_id: threadId,
        from_address: from,
        from_agent_id: sender.agent_id,
        to_json: toJson,
        cc_json: ccJson,
        subject: req.subject,
        body_text: req.body_text ?? null,
        body_html: req.body_html ?? null,
        in_reply_to: parent ? parent.id : null,
        created_at: createdAt,
        direction: 'outbound',
        read_at: null,
        starred: 0,
      }),
    };
    if (req.idempotency_key !== undefined) q.insertIdem.run(from, req.idempotency_key, JSON.stringify(result));
    return result;
  }
}
