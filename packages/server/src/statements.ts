import type Database from 'libsql';
import { MESSAGE_COLUMNS } from './rows.js';

/** Every prepared statement of the SQLite post office, by name. */
export type Statements = Record<string, Database.Statement>;

/** Prepares the post office's statements once. */
export function prepareStatements(db: Database.Database): Statements {
  const p = (sql: string) => db.prepare(sql);
  return {
    probe: p(
      'INSERT INTO health_probe (id, checked_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at',
    ),
    account: p('SELECT * FROM accounts WHERE address = ?'),
    exists: p('SELECT 1 AS ok FROM accounts WHERE address = ?'),
    byKey: p('SELECT address FROM accounts WHERE key_hash = ?'),
    insertAccount: p(
      'INSERT INTO accounts (address, agent_id, key_hash, created_at, hourly_limit, daily_limit, profile_json) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    setUsage: p(
      'UPDATE accounts SET hour_window = ?, hour_used = ?, day_window = ?, day_used = ?, total_sent = total_sent + 1 WHERE address = ?',
    ),
    received: p('UPDATE accounts SET total_received = total_received + 1 WHERE address = ?'),
    setLimits: p('UPDATE accounts SET hourly_limit = ?, daily_limit = ? WHERE address = ?'),
    idem: p('SELECT result_json FROM idempotency WHERE owner = ? AND key = ?'),
    insertIdem: p('INSERT INTO idempotency (owner, key, result_json) VALUES (?, ?, ?)'),
    message: p(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.id = ?`),
    insertMessage: p(
      'INSERT INTO messages (id, thread_id, from_address, from_agent_id, to_json, cc_json, subject, body_text, body_html, in_reply_to, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    insertEntry: p(
      'INSERT INTO entries (owner, seq, direction, read_at, starred, deleted) VALUES (?, ?, ?, NULL, 0, 0)',
    ),
    entries: p('SELECT direction, read_at, starred, deleted FROM entries WHERE owner = ? AND seq = ?'),
    setRead: p("UPDATE entries SET read_at = ? WHERE owner = ? AND seq = ? AND direction = 'inbound'"),
    star: p('UPDATE entries SET starred = 1 - starred WHERE owner = ? AND seq = ? AND direction = ?'),
    del: p('UPDATE entries SET deleted = 1 WHERE owner = ? AND seq = ? AND deleted = 0'),
    thread: p('SELECT subject FROM threads WHERE thread_id = ?'),
    insertThread: p('INSERT INTO threads (thread_id, subject) VALUES (?, ?)'),
    participant: p('SELECT hidden FROM participants WHERE thread_id = ? AND address = ?'),
    addParticipant: p(
      'INSERT INTO participants (thread_id, address, hidden) VALUES (?, ?, ?) ON CONFLICT (thread_id, address) DO UPDATE SET hidden = MIN(hidden, excluded.hidden)',
    ),
    addParticipants2: p(
      'INSERT INTO participants (thread_id, address, hidden) VALUES (?, ?, ?), (?, ?, ?) ON CONFLICT (thread_id, address) DO UPDATE SET hidden = MIN(hidden, excluded.hidden)',
    ),
    participants: p('SELECT address FROM participants WHERE thread_id = ? AND hidden = 0 ORDER BY rowid'),
    threadMessages: p(`SELECT ${MESSAGE_COLUMNS}, e.direction, e.read_at, e.starred FROM messages m
      LEFT JOIN entries e ON e.owner = ? AND e.seq = m.seq
        AND e.direction = (SELECT x.direction FROM entries x WHERE x.owner = e.owner AND x.seq = m.seq ORDER BY x.direction LIMIT 1)
      WHERE m.thread_id = ? ORDER BY m.seq`),
    unreadCount: p(
      "SELECT COUNT(*) AS n FROM entries WHERE owner = ? AND direction = 'inbound' AND deleted = 0 AND read_at IS NULL",
    ),
  };
}
