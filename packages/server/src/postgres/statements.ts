/** The columns of a message row (`seq` as a float8: a JS number, exact far beyond any real mailbox). */
export const PG_MESSAGE_COLUMNS =
  'm.seq::float8 AS seq, m.id, m.thread_id, m.from_address, m.from_agent_id, m.to_json, m.cc_json, m.subject, m.body_text, m.body_html, m.in_reply_to, m.created_at';

/** Every statement of the PostgreSQL post office, for the quoted schema `s`. */
export function pgStatements(s: string) {
  // A page walks the owner's entries in order and fetches each one's message by its key. A plain
  // join lets the planner merge-join against the whole messages table (every account's mail up to
  // the page: 2 000 rows for 2 unread ones in the test); the LATERAL subquery with OFFSET 0 is not
  // flattened, so the message is looked up per entry and a page costs O(page).
  const view = `SELECT ${PG_MESSAGE_COLUMNS}, e.direction, e.read_at, e.starred FROM ${s}.entries e
    CROSS JOIN LATERAL (SELECT * FROM ${s}.messages x WHERE x.seq = e.seq OFFSET 0) m`;
  return {
    account: `SELECT * FROM ${s}.accounts WHERE address = $1`,
    addresses: `SELECT address FROM ${s}.accounts ORDER BY created_at, address`,
    send: `SELECT ${s}.send_mail(${Array.from({ length: 17 }, (_, i) => `$${i + 1}`).join(', ')}) AS r`,
    sendGroup: `SELECT ${s}.send_mails($1, $2::jsonb) AS r`,
    messageBySeq: `SELECT ${PG_MESSAGE_COLUMNS} FROM ${s}.messages m WHERE m.seq = $1`,
    byKey: `SELECT address FROM ${s}.accounts WHERE key_hash = $1`,
    byAgentId: `SELECT * FROM ${s}.accounts WHERE agent_id = $1`,
    accountsAfter: `SELECT * FROM ${s}.accounts WHERE agent_id > $1 ORDER BY agent_id LIMIT $2`,
    setKey: `UPDATE ${s}.accounts SET key_hash = $1 WHERE agent_id = $2`,
    ready: `SELECT COUNT(*)::int AS n FROM (SELECT 1 FROM ${s}.accounts LIMIT 1) a`,
    insertAccount: `INSERT INTO ${s}.accounts (address, agent_id, key_hash, created_at, hourly_limit, daily_limit, profile_json) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    setLimits: `UPDATE ${s}.accounts SET hourly_limit = COALESCE($1, hourly_limit), daily_limit = COALESCE($2, daily_limit) WHERE address = $3`,
    message: `SELECT ${PG_MESSAGE_COLUMNS} FROM ${s}.messages m WHERE m.id = $1`,
    /** The caller's live copies (not deleted) of messages by id. */
    ownLive: `SELECT DISTINCT m.id, m.seq::float8 AS seq FROM ${s}.messages m JOIN ${s}.entries e ON e.seq = m.seq
      WHERE e.owner = $1 AND m.id = ANY($2::text[]) AND e.deleted = 0`,
    entries: `SELECT direction, read_at, starred, deleted FROM ${s}.entries WHERE owner = $1 AND seq = $2`,
    setRead: `UPDATE ${s}.entries SET read_at = $1, lease_id = NULL, lease_until = NULL WHERE owner = $2 AND seq = ANY($3::bigint[]) AND direction = 'inbound' AND deleted = 0 AND (read_at IS NULL) = $4`,
    star: `UPDATE ${s}.entries SET starred = 1 - starred WHERE owner = $1 AND seq = $2 AND direction = $3`,
    del: `UPDATE ${s}.entries SET deleted = 1, lease_id = NULL, lease_until = NULL WHERE owner = $1 AND seq = $2 AND deleted = 0`,
    thread: `SELECT subject FROM ${s}.threads WHERE thread_id = $1`,
    participant: `SELECT hidden FROM ${s}.participants WHERE thread_id = $1 AND address = $2`,
    participants: `SELECT address FROM ${s}.participants WHERE thread_id = $1 AND hidden = 0 ORDER BY pos`,
    threadMessages: `SELECT ${PG_MESSAGE_COLUMNS}, e.direction, e.read_at, e.starred FROM ${s}.messages m
      LEFT JOIN LATERAL (SELECT x.direction, x.read_at, x.starred FROM ${s}.entries x WHERE x.owner = $1 AND x.seq = m.seq ORDER BY x.direction LIMIT 1) e ON TRUE
      WHERE m.thread_id = $2 ORDER BY m.seq`,
    unreadCount: `SELECT COUNT(*)::int AS n FROM ${s}.entries WHERE owner = $1 AND direction = 'inbound' AND deleted = 0 AND read_at IS NULL`,
    inbox: (unreadOnly: boolean, from: boolean) =>
      `${view} WHERE e.owner = $1 AND e.direction = 'inbound' AND e.deleted = 0 AND e.seq > $2
       ${unreadOnly ? 'AND e.read_at IS NULL' : ''} ${from ? 'AND m.from_address = $4' : ''} ORDER BY e.seq LIMIT $3`,
    sent: `${view} WHERE e.owner = $1 AND e.direction = 'outbound' AND e.deleted = 0 AND e.seq > $2 ORDER BY e.seq LIMIT $3`,
    /** Claims up to $2 unread messages nobody holds (or whose lease ran out) for lease $3 until $4 (ms); skips rows another claim is taking. */
    claim: `WITH picked AS (
        SELECT owner, seq FROM ${s}.entries
        WHERE owner = $1 AND direction = 'inbound' AND deleted = 0 AND read_at IS NULL AND (lease_until IS NULL OR lease_until <= $5)
        ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
      UPDATE ${s}.entries e SET lease_id = $3, lease_until = $4 FROM picked
      WHERE e.owner = picked.owner AND e.seq = picked.seq AND e.direction = 'inbound' RETURNING e.seq::float8 AS seq`,
    claimed: `${view} WHERE e.owner = $1 AND e.direction = 'inbound' AND e.seq = ANY($2::bigint[]) ORDER BY e.seq`,
    renew: `UPDATE ${s}.entries SET lease_until = $3, lease_id = CASE WHEN $3::bigint IS NULL THEN NULL ELSE lease_id END
      WHERE owner = $1 AND lease_id = $2 AND direction = 'inbound' AND read_at IS NULL AND deleted = 0 AND ($4::text[] IS NULL OR seq IN (SELECT seq FROM ${s}.messages WHERE id = ANY($4::text[])))`,
  };
}

export type PgStatements = ReturnType<typeof pgStatements>;
