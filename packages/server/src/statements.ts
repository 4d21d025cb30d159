import type Database from 'libsql';
import { MESSAGE_COLUMNS } from './rows.js';

/**
 * The SQL of an inbox page (owner, after, [from_address], limit). An unread page names the
 * partial index of unread mail: left to itself SQLite takes `entries_box` and steps over every
 * message the owner ever read (a page cost O(mailbox), milliseconds at a few thousand).
 */
function inboxPage(unread: boolean, from: string): string {
  return `SELECT ${MESSAGE_COLUMNS}, e.direction, e.read_at, e.starred
    FROM entries e ${unread ? 'INDEXED BY entries_unread' : ''} JOIN messages m ON m.seq = e.seq
    WHERE e.owner = ? AND e.direction = 'inbound' AND e.deleted = 0 AND e.seq > ? ${unread ? 'AND e.read_at IS NULL' : ''} ${from}
    ORDER BY e.seq LIMIT ?`;
}

/** Every statement of the SQLite post office, by name. */
export const SQL = {
  probe:
    'INSERT INTO health_probe (id, checked_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at',
  account: 'SELECT * FROM accounts WHERE address = ?',
  exists: 'SELECT 1 AS ok FROM accounts WHERE address = ?',
  addresses: 'SELECT address FROM accounts ORDER BY created_at, address',
  byKey: 'SELECT address FROM accounts WHERE key_hash = ?',
  byAgentId: 'SELECT * FROM accounts WHERE agent_id = ?',
  accountsAfter: 'SELECT * FROM accounts WHERE agent_id > ? ORDER BY agent_id LIMIT ?',
  setKey: 'UPDATE accounts SET key_hash = ? WHERE agent_id = ?',
  insertAccount:
    'INSERT INTO accounts (address, agent_id, key_hash, created_at, hourly_limit, daily_limit, profile_json) VALUES (?, ?, ?, ?, ?, ?, ?)',
  setUsage:
    'UPDATE accounts SET hour_window = ?, hour_used = ?, day_window = ?, day_used = ?, total_sent = total_sent + ? WHERE address = ?',
  received: 'UPDATE accounts SET total_received = total_received + ? WHERE address = ?',
  setLimits: 'UPDATE accounts SET hourly_limit = ?, daily_limit = ? WHERE address = ?',
  // The message a send with this idempotency key sent; `idemOld` for keys of files written before `idempotency_keys`.
  idem: `SELECT ${MESSAGE_COLUMNS} FROM idempotency_keys k JOIN messages m ON m.seq = k.seq WHERE k.owner = ? AND k.key = ?`,
  idemOld: 'SELECT result_json FROM idempotency WHERE owner = ? AND key = ?',
  insertIdem: 'INSERT INTO idempotency_keys (owner, key, seq) VALUES (?, ?, ?)',
  message: `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.id = ?`,
  // A message by id and how `address` takes part in its thread (hidden 0, 1, or NULL: not at all), one statement for a reply's parent.
  messageFor: `SELECT ${MESSAGE_COLUMNS}, p.hidden AS hidden FROM messages m
      LEFT JOIN participants p ON p.thread_id = m.thread_id AND p.address = ? WHERE m.id = ?`,
  // The usual mail in one statement (SESSION_SCHEMA's trigger writes the message, its copies, key, thread and participants).
  sendUsual:
    'INSERT INTO send_usual (id, thread_id, new_thread, from_address, from_agent_id, to_address, to_json, subject, body_text, body_html, in_reply_to, created_at, idem_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  insertMessage:
    'INSERT INTO messages (id, thread_id, from_address, from_agent_id, to_json, cc_json, subject, body_text, body_html, in_reply_to, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  insertEntry: 'INSERT INTO entries (owner, seq, direction, read_at, starred, deleted) VALUES (?, ?, ?, NULL, 0, 0)',
  // The caller's copies of the messages of a JSON array of ids, one statement for a read mark of many
  // (a row per copy; an id with no message or no copy of the caller's comes back with seq NULL).
  // Each row names its id by its place in the array: an id that is not well-formed UTF-16 (a lone
  // surrogate) comes out of json_each as bytes that are not UTF-8, which libsql cannot hand back.
  ownByIds: `SELECT j.key AS i, e.seq, e.direction, e.read_at, e.deleted FROM json_each(?) j
      LEFT JOIN messages m ON m.id = j.value LEFT JOIN entries e ON e.seq = m.seq AND e.owner = ?`,
  // Read marks of many received copies (a JSON array of seqs) in one statement.
  setReadMany:
    "UPDATE entries SET read_at = ? WHERE owner = ? AND direction = 'inbound' AND seq IN (SELECT value FROM json_each(?))",
  entries: 'SELECT direction, read_at, starred, deleted FROM entries WHERE owner = ? AND seq = ?',
  setRead: "UPDATE entries SET read_at = ? WHERE owner = ? AND seq = ? AND direction = 'inbound'",
  star: 'UPDATE entries SET starred = 1 - starred WHERE owner = ? AND seq = ? AND direction = ?',
  del: 'UPDATE entries SET deleted = 1 WHERE owner = ? AND seq = ? AND deleted = 0',
  thread: 'SELECT subject FROM threads WHERE thread_id = ?',
  insertThread: 'INSERT INTO threads (thread_id, subject) VALUES (?, ?)',
  participant: 'SELECT hidden FROM participants WHERE thread_id = ? AND address = ?',
  // A participant already there is only written when it becomes visible (a reply writes no page for it).
  addParticipant:
    'INSERT INTO participants (thread_id, address, hidden) VALUES (?, ?, ?) ON CONFLICT (thread_id, address) DO UPDATE SET hidden = excluded.hidden WHERE excluded.hidden < participants.hidden',
  participants: 'SELECT address FROM participants WHERE thread_id = ? AND hidden = 0 ORDER BY rowid',
  threadMessages: `SELECT ${MESSAGE_COLUMNS}, e.direction, e.read_at, e.starred FROM messages m
      LEFT JOIN entries e ON e.owner = ? AND e.seq = m.seq
        AND e.direction = (SELECT x.direction FROM entries x WHERE x.owner = e.owner AND x.seq = m.seq ORDER BY x.direction LIMIT 1)
      WHERE m.thread_id = ? ORDER BY m.seq`,
  // O(unread) on the partial index, not O(mailbox) on the primary key.
  unreadCount:
    "SELECT COUNT(*) AS n FROM entries INDEXED BY entries_unread WHERE owner = ? AND direction = 'inbound' AND deleted = 0 AND read_at IS NULL",
  // An inbox page, one statement per filter: read or unread, from anyone or from one sender.
  inboxAll: inboxPage(false, ''),
  inboxUnread: inboxPage(true, ''),
  inboxFrom: inboxPage(false, 'AND m.from_address = ?'),
  inboxUnreadFrom: inboxPage(true, 'AND m.from_address = ?'),
  sentPage: `SELECT ${MESSAGE_COLUMNS}, e.direction, e.read_at, e.starred FROM entries e JOIN messages m ON m.seq = e.seq
      WHERE e.owner = ? AND e.direction = 'outbound' AND e.deleted = 0 AND e.seq > ? ORDER BY e.seq LIMIT ?`,
} as const;

/** Every prepared statement of the SQLite post office, by name (a name that is not here does not type-check). */
export type Statements = { readonly [K in keyof typeof SQL]: Database.Statement };

/** Prepares the post office's statements once, when it opens. */
export function prepareStatements(db: Database.Database): Statements {
  return Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)])) as Statements;
}
