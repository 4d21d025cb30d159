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
