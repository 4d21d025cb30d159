import type { SqlSession } from './database.js';
import { SEND_FUNCTION, SEND_GROUP_FUNCTION } from './send-function.js';

/**
 * The migrations of the PostgreSQL post office, in order. Each runs once per schema, in a
 * transaction, recorded in `schema_version`; a new migration is appended, never edited.
 * `{S}` stands for the quoted schema name.
 */
const MIGRATIONS: readonly (string | readonly string[])[] = [
  `CREATE TABLE {S}.accounts (
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
  CREATE TABLE {S}.messages (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
  CREATE INDEX messages_thread ON {S}.messages (thread_id, seq);
  CREATE TABLE {S}.entries (
    owner TEXT NOT NULL,
    seq BIGINT NOT NULL REFERENCES {S}.messages (seq),
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    read_at TEXT,
    starred INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    lease_id TEXT,
    lease_until BIGINT,
    PRIMARY KEY (owner, seq, direction)
  );
  CREATE INDEX entries_unread ON {S}.entries (owner, seq) WHERE direction = 'inbound' AND deleted = 0 AND read_at IS NULL;
  CREATE INDEX entries_box ON {S}.entries (owner, direction, seq) WHERE deleted = 0;
  CREATE INDEX entries_lease ON {S}.entries (owner, lease_id) WHERE lease_id IS NOT NULL;
  CREATE TABLE {S}.threads (thread_id TEXT PRIMARY KEY, subject TEXT NOT NULL);
  CREATE TABLE {S}.participants (
    thread_id TEXT NOT NULL,
    address TEXT NOT NULL,
    hidden INTEGER NOT NULL,
    pos BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (thread_id, address)
  );
  CREATE TABLE {S}.idempotency (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (owner, key)
  )`,
  SEND_FUNCTION,
  SEND_GROUP_FUNCTION,
];

/**
 * Creates the schema and runs the migrations it lacks. Safe to run from several processes at
 * once: an advisory lock (per schema) lets one migrate while the others wait.
 */
export async function migrate(tx: SqlSession, schema: string, quoted: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`mailroom:${schema}`]);
  await tx.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
  await tx.query(`CREATE TABLE IF NOT EXISTS ${quoted}.schema_version (version INTEGER NOT NULL)`);
  const [row] = await tx.query<{ v: number | null }>(`SELECT MAX(version) AS v FROM ${quoted}.schema_version`);
  for (let v = row?.v ?? 0; v < MIGRATIONS.length; v++) {
    const migration = MIGRATIONS[v] as string | readonly string[];
    const statements = typeof migration === 'string' ? migration.split(';').map((s) => s.trim()) : migration;
    for (const statement of statements) {
      if (statement) await tx.query(statement.replaceAll('{S}', quoted));
    }
    await tx.query(`INSERT INTO ${quoted}.schema_version (version) VALUES ($1)`, [v + 1]);
  }
}
