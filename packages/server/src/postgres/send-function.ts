import { type Message, NotFoundError, RateLimitedError, type SendResult } from '@mailroom/core';
import { assertQuota } from '@mailroom/core/post-office';

/**
 * The send as one statement: a PL/pgSQL function that locks the sender and the recipients (in
 * one order: no deadlock), checks the idempotency key, the recipients, the parent and the quota,
 * then stores the message, its thread, participants, entries and counters, and NOTIFYs, all in
 * the caller's single-statement transaction. The locks are held for the function's run only (no
 * round trip to the client while they are held): sends to one busy address queue for microseconds,
 * and each inbox's seqs are in commit order (a cursor never skips a late commit).
 * Returns `{ seq, thread_id, agent_id, in_reply_to }`, `{ idem: seq }` for a repeated key, or
 * `{ error, … }` (the caller throws the matching MailroomError).
 */
export const SEND_FUNCTION: readonly string[] = [
  `CREATE FUNCTION {S}.send_mail(
    p_from TEXT, p_recipients TEXT[], p_participants TEXT[], p_hidden INT[], p_to_json TEXT, p_cc_json TEXT,
    p_subject TEXT, p_body_text TEXT, p_body_html TEXT, p_in_reply_to TEXT, p_idem TEXT, p_now BIGINT,
    p_created_at TEXT, p_id TEXT, p_new_thread TEXT, p_channel TEXT, p_notice TEXT)
  RETURNS JSONB LANGUAGE plpgsql AS $fn$
  DECLARE
    s {S}.accounts%ROWTYPE;
    v_missing TEXT;
    v_parent TEXT := NULL;
    v_thread TEXT := p_new_thread;
    v_seq BIGINT;
    hw INT := p_now / 3600000;
    dw INT := p_now / 86400000;
    hu INT;
    du INT;
  BEGIN
    PERFORM 1 FROM {S}.accounts WHERE address = ANY(p_recipients || p_from) ORDER BY address FOR UPDATE;
    SELECT * INTO s FROM {S}.accounts WHERE address = p_from;
    IF NOT FOUND THEN RETURN jsonb_build_object('error', 'no_sender'); END IF;
    IF p_idem IS NOT NULL THEN
      SELECT i.seq INTO v_seq FROM {S}.idempotency i WHERE i.owner = p_from AND i.key = p_idem;
      IF FOUND THEN RETURN jsonb_build_object('idem', v_seq); END IF;
    END IF;
    SELECT t.r INTO v_missing FROM unnest(p_recipients) WITH ORDINALITY AS t(r, i)
      WHERE NOT EXISTS (SELECT 1 FROM {S}.accounts a WHERE a.address = t.r) ORDER BY t.i LIMIT 1;
    IF v_missing IS NOT NULL THEN RETURN jsonb_build_object('error', 'no_recipient', 'address', v_missing); END IF;
    IF p_in_reply_to IS NOT NULL THEN
      SELECT m.id, m.thread_id INTO v_parent, v_thread FROM {S}.messages m
        WHERE m.id = p_in_reply_to
          AND EXISTS (SELECT 1 FROM {S}.participants p WHERE p.thread_id = m.thread_id AND p.address = p_from
            -- only ever bcc'd: only the messages addressed to it (as in mail)
            AND (p.hidden = 0 OR EXISTS (SELECT 1 FROM {S}.entries e WHERE e.owner = p_from AND e.seq = m.seq)));
      IF v_parent IS NULL THEN RETURN jsonb_build_object('error', 'no_parent'); END IF;
    END IF;
    hu := CASE WHEN s.hour_window = hw THEN s.hour_used ELSE 0 END;
    du := CASE WHEN s.day_window = dw THEN s.day_used ELSE 0 END;
    IF hu >= s.hourly_limit OR du >= s.daily_limit THEN
      RETURN jsonb_build_object('error', 'quota', 'hour_window', s.hour_window, 'hour_used', s.hour_used,
        'day_window', s.day_window, 'day_used', s.day_used, 'hourly_limit', s.hourly_limit, 'daily_limit', s.daily_limit);
    END IF;
    UPDATE {S}.accounts SET hour_window = hw, hour_used = hu + 1, day_window = dw, day_used = du + 1,
      total_sent = total_sent + 1 WHERE address = p_from;
    INSERT INTO {S}.messages (id, thread_id, from_address, from_agent_id, to_json, cc_json, subject, body_text,
      body_html, in_reply_to, created_at)
      VALUES (p_id, v_thread, p_from, s.agent_id, p_to_json, p_cc_json, p_subject, p_body_text, p_body_html,
        v_parent, p_created_at)
      RETURNING seq INTO v_seq;
    IF v_parent IS NULL THEN INSERT INTO {S}.threads (thread_id, subject) VALUES (v_thread, p_subject); END IF;
    INSERT INTO {S}.participants (thread_id, address, hidden)
      SELECT v_thread, t.a, t.h FROM unnest(p_participants, p_hidden) WITH ORDINALITY AS t(a, h, i) ORDER BY t.i
      ON CONFLICT (thread_id, address) DO UPDATE SET hidden = LEAST({S}.participants.hidden, excluded.hidden);
    INSERT INTO {S}.entries (owner, seq, direction)
      SELECT p_from, v_seq, 'outbound' UNION ALL SELECT r, v_seq, 'inbound' FROM unnest(p_recipients) AS r;
    UPDATE {S}.accounts SET total_received = total_received + 1 WHERE address = ANY(p_recipients);
    IF p_idem IS NOT NULL THEN
      INSERT INTO {S}.idempotency (owner, key, seq) VALUES (p_from, p_idem, v_seq);
    END IF;
    PERFORM pg_notify(p_channel, p_notice);
    RETURN jsonb_build_object('seq', v_seq, 'thread_id', v_thread, 'agent_id', s.agent_id, 'in_reply_to', v_parent);
  END
  $fn$`,
];

/**
 * Several sends of one sender as one statement: `send_mail` for each, in the order given, in the
 * caller's transaction (every account they touch is locked first, in one order, until the end). Each send's
 * fields are those of `send_mail` after `p_from`, by name without `p_`; returns the outcomes in
 * order. A refused send is an outcome like any other; a database fault fails the whole group.
 */
export const SEND_GROUP_FUNCTION: readonly string[] = [
  `CREATE FUNCTION {S}.send_mails(p_from TEXT, p_sends JSONB) RETURNS JSONB LANGUAGE plpgsql AS $fn$
  DECLARE
    m JSONB;
    outcomes JSONB := '[]'::jsonb;
  BEGIN
    -- Every account the group touches, locked at once in one order (as send_mail does for one send):
    -- taken one send at a time, two groups could each hold what the other waits for.
    PERFORM 1 FROM {S}.accounts WHERE address = p_from OR address IN (
      SELECT r FROM jsonb_array_elements(p_sends) AS s(v), jsonb_array_elements_text(s.v->'recipients') AS r)
      ORDER BY address FOR UPDATE;
    FOR m IN SELECT t.v FROM jsonb_array_elements(p_sends) WITH ORDINALITY AS t(v, i) ORDER BY t.i LOOP
      outcomes := outcomes || jsonb_build_array({S}.send_mail(p_from,
        ARRAY(SELECT e FROM jsonb_array_elements_text(m->'recipients') WITH ORDINALITY AS t(e, i) ORDER BY i),
        ARRAY(SELECT e FROM jsonb_array_elements_text(m->'participants') WITH ORDINALITY AS t(e, i) ORDER BY i),
        ARRAY(SELECT e::INT FROM jsonb_array_elements_text(m->'hidden') WITH ORDINALITY AS t(e, i) ORDER BY i),
        m->>'to_json', m->>'cc_json', m->>'subject', m->>'body_text', m->>'body_html', m->>'in_reply_to',
        m->>'idem', (m->>'now')::BIGINT, m->>'created_at', m->>'id', m->>'new_thread', m->>'channel',
        m->>'notice'));
    END LOOP;
    RETURN outcomes;
  END
  $fn$`,
];

/** What `send_mail` returns. */
export type SendOutcome =
  | { seq: number; thread_id: string; agent_id: string; in_reply_to: string | null }
  | { idem: number }
  | { error: 'no_sender' | 'no_parent' }
  | { error: 'no_recipient'; address: string }
  | {
      error: 'quota';
      hour_window: number;
      hour_used: number;
      day_window: number;
      day_used: number;
      hourly_limit: number;
      daily_limit: number;
    };

/** A SendResult around the sender's copy of the message. */
export const sendResult = (message: Message): SendResult => ({
  message_id: message.message_id,
  thread_id: message.thread_id,
  status: 'delivered',
  delivery_type: 'internal',
  message,
});

/** The MailroomError of a send the database refused. */
export function sendError(r: Extract<SendOutcome, { error: string }>, now: number): Error {
  switch (r.error) {
    case 'no_sender':
      return new NotFoundError('no account of the sender');
    case 'no_recipient':
      return new NotFoundError(`recipient ${r.address} is not registered`);
    case 'no_parent':
      return new NotFoundError('message in_reply_to not found');
    case 'quota': {
      const usage = { hourWindow: r.hour_window, hourUsed: r.hour_used, dayWindow: r.day_window, dayUsed: r.day_used };
      try {
        assertQuota(usage, { hourly: r.hourly_limit, daily: r.daily_limit }, now);
      } catch (err) {
        return err as Error;
      }
      return new RateLimitedError('send quota exhausted', 1000);
    }
  }
}
