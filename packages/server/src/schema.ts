/** The SQLite schema of the post office (idempotent: safe to run on every start). */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (
  address TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL UNIQUE,
  key_hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  profile_json TEXT NOT NULL DEFAULT '{}',
  hourly_limit INTEGER NOT NULL,
  daily_limit INTEGER NOT NULL,
  hour_window INTEGER NOT NULL DEFAULT -1,
  hour_used INTEGER NOT NULL DEFAULT 0,
  day_window INTEGER NOT NULL DEFAULT -1,
  day_used INTEGER NOT NULL DEFAULT 0,
  total_sent INTEGER NOT NULL DEFAULT 0,
  total_received INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  thread_id TEXT NOT NULL,
  from_address TEXT NOT NULL,
  from_agent_id TEXT NOT NULL,
  to_json TEXT NOT NULL,
  cc_json TEXT NOT NULL,
  subject TEXT NOT NULL,
  body_text TEXT,
  body_html TEXT,
  in_reply_to TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_thread ON messages (thread_id, seq);
CREATE TABLE IF NOT EXISTS entries (
  owner TEXT NOT NULL,
  seq INTEGER NOT NULL REFERENCES messages (seq),
  direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  read_at TEXT,
  starred INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (owner, seq, direction)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_unread ON entries (owner, seq) WHERE direction = 'inbound' AND deleted = 0 AND read_at IS NULL;
CREATE INDEX IF NOT EXISTS entries_box ON entries (owner, direction, seq) WHERE deleted = 0;
CREATE TABLE IF NOT EXISTS threads (
  thread_id TEXT PRIMARY KEY,
  subject TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS participants (
  thread_id TEXT NOT NULL,
  address TEXT NOT NULL,
  hidden INTEGER NOT NULL,
  PRIMARY KEY (thread_id, address)
);
-- The idempotency keys of files written before idempotency_keys (read only, as a fallback).
CREATE TABLE IF NOT EXISTS idempotency (
  owner TEXT NOT NULL,
  key TEXT NOT NULL,
  result_json TEXT NOT NULL,
  PRIMARY KEY (owner, key)
) WITHOUT ROWID;
-- A send's idempotency key and the message it sent: the first result is rebuilt from the message,
-- so a row is a few dozen bytes (not a copy of the message), and the random keys a group of sends
-- inserts dirty few pages.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  owner TEXT NOT NULL,
  key TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (owner, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS health_probe (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  checked_at TEXT NOT NULL
);
`;

/**
 * Objects of one connection only (TEMP: nothing is written to the file, no other process or older
 * code sees them). `send_usual` takes the usual mail (one `to` recipient other than the sender, no
 * cc, no bcc) in one statement: the message, its thread when it starts one, both participants,
 * both copies and the idempotency key. Each statement costs a call from JavaScript into libsql
 * (~10 µs on a busy machine, more than the insert itself), and this is five statements less per
 * send.
 *
 * The copies and the key take the message's `seq` from `last_insert_rowid()`: it stays the message's
 * while the trigger runs only because `entries` and `idempotency_keys` are WITHOUT ROWID (an insert
 * into them does not change it), so they come right after the message, before `threads` and
 * `participants`.
 */
export const SESSION_SCHEMA = `
CREATE TEMP VIEW IF NOT EXISTS send_usual AS SELECT
  NULL AS id, NULL AS thread_id, NULL AS new_thread, NULL AS from_address, NULL AS from_agent_id,
  NULL AS to_address, NULL AS to_json, NULL AS subject, NULL AS body_text, NULL AS body_html,
  NULL AS in_reply_to, NULL AS created_at, NULL AS idem_key;
CREATE TEMP TRIGGER IF NOT EXISTS send_usual_insert INSTEAD OF INSERT ON send_usual BEGIN
  INSERT INTO messages (id, thread_id, from_address, from_agent_id, to_json, cc_json, subject, body_text, body_html, in_reply_to, created_at)
    VALUES (NEW.id, NEW.thread_id, NEW.from_address, NEW.from_agent_id, NEW.to_json, '[]', NEW.subject, NEW.body_text, NEW.body_html, NEW.in_reply_to, NEW.created_at);
  INSERT INTO entries (owner, seq, direction, read_at, starred, deleted)
    VALUES (NEW.from_address, last_insert_rowid(), 'outbound', NULL, 0, 0), (NEW.to_address, last_insert_rowid(), 'inbound', NULL, 0, 0);
  INSERT INTO idempotency_keys (owner, key, seq) SELECT NEW.from_address, NEW.idem_key, last_insert_rowid() WHERE NEW.idem_key IS NOT NULL;
  INSERT INTO threads (thread_id, subject) SELECT NEW.thread_id, NEW.subject WHERE NEW.new_thread = 1;
  INSERT INTO participants (thread_id, address, hidden) VALUES (NEW.thread_id, NEW.from_address, 0), (NEW.thread_id, NEW.to_address, 0)
    ON CONFLICT (thread_id, address) DO UPDATE SET hidden = excluded.hidden WHERE excluded.hidden < participants.hidden;
END;
`;
