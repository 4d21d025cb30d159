import type { Logger } from 'pino';
import { RateLimitedError } from '../errors.js';
import { isDecodeFailure } from '../protocol/codec.js';
import { errorMail, type OutgoingMail } from '../protocol/outgoing.js';
import { endSpan, type MailSpan, spanSent, startSend, traceFieldsOf } from '../tracing/spans.js';
import type { Actions } from './agent-actions.js';
import type { ErrorInfo } from './agent-options.js';
import { released, type Settlement } from './delivery.js';
import type { Incoming } from './handler-dispatch.js';

/**
 * The "replied" step of a delivery: an answer is sent at most once (its key is the message's), and
 * one that cannot go out is kept for the redelivery, which sends it without running the handler
 * again; it comes after the 429's Retry-After, or after a backoff that doubles with each failure
 * (100 ms up to 30 s) so that an answer nobody takes never spins. @internal
 */
export class Replies {
  // Made on first use: most agents never keep an answer.
  /** Answers computed but not yet sent, by message id. */
  private keptMap: Map<string, OutgoingMail> | undefined;
  /** Failed sends of a kept answer, by message id (for the backoff). */
  private failuresMap: Map<string, number> | undefined;

  constructor(
    private readonly actions: Actions,
    private readonly logs: { readonly log: Logger },
    /** The message is handled once its answer went out. */
    private readonly handled: (id: string, deadLettered: boolean) => Settlement,
  ) {}

  /** The answer kept for message `id`, if its send failed before. */
  kept(id: string): OutgoingMail | undefined {
    return this.keptMap?.get(id);
  }

  /** Sends the answer to message `id` (kept until it went out). */
  async send(id: string, answer: OutgoingMail, deadLettered = false, span?: MailSpan): Promise<Settlement> {
    this.keptMap ??= new Map();
    this.keptMap.set(id, answer);
    const send = span ? startSend(answer.to[0] ?? '', { kind: 'reply' }, span) : undefined;
    try {
      const sent = await this.actions.sendRequest(answer, { priority: 1 });
      if (send) {
        spanSent(send, sent);
        endSpan(send);
      }
    } catch (err) {
      endSpan(send, err);
      this.failuresMap ??= new Map();
      const failures = (this.failuresMap.get(id) ?? 0) + 1;
      this.failuresMap.set(id, failures);
      const afterMs = err instanceof RateLimitedError ? err.retryAfterMs : Math.min(30_000, 100 * 2 ** (failures - 1));
      this.logs.log.warn({ err, message_id: id, failures, afterMs }, 'could not send the reply; it will be sent again');
      return released(afterMs);
    }
    this.keptMap.delete(id);
    this.failuresMap?.delete(id);
    if (this.logs.log.isLevelEnabled('debug')) this.logs.log.debug({ message_id: id, to: answer.to }, 'replied');
    return this.handled(id, deadLettered);
  }

  /** dead-lettered: answered with ERROR (never an ERROR with an ERROR: two agents would bounce it forever). */
  failure(item: Incoming, info: ErrorInfo, deadLettered: boolean, span?: MailSpan): Promise<Settlement> | Settlement {
    const id = item.message.message_id;
    const d = item.decoded;
    if (d.kind === 'error') return this.handled(id, deadLettered);
    const taskId = !isDecodeFailure(d) && 'taskId' in d ? d.taskId : undefined;
    const callback = !isDecodeFailure(d) && d.kind === 'task' ? d.body.callback : undefined;
    return this.send(
      id,
      errorMail({ message: item.message, callback }, taskId, info, traceFieldsOf(span)),
      deadLettered,
      span,
    );
  }
}
