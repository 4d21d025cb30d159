#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers at 127.0.0.1:5432 (trust auth, user postgres, database
# test) for the PostgreSQL tests: the replica/kill test and the conformance suite on a server.
# Nothing to do when one answers already (our machines run one). Elsewhere: installs Debian's
# postgresql and starts a throwaway cluster in a temp folder, owned by the postgres user.
# Call it from .ci/run before `pnpm test`:   bash .ci/postgres.sh
set -euo pipefail
HOST=127.0.0.1
PORT=${MAILROOM_PG_PORT:-5432}

answers() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$HOST" -p "$PORT"
  else
    (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
  fi
}

if answers; then
  echo "postgres: a server answers at $HOST:$PORT"
  exit 0
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "postgres: installing Debian's postgresql"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
BIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql --shell /bin/bash postgres

DATA=$(mktemp -d /tmp/mailroom-pg.XXXXXX)
chown postgres "$DATA"
su postgres -c "$BIN/initdb -D '$DATA/data' -U postgres --auth=trust -E UTF8 >/dev/null"
su postgres -c "$BIN/pg_ctl -D '$DATA/data' -l '$DATA/log' -w -o \"-c listen_addresses=$HOST -p $PORT -k '$DATA'\" start >/dev/null"
su postgres -c "$BIN/psql -h $HOST -p $PORT -U postgres -qc 'CREATE DATABASE test'" >/dev/null
su postgres -c "$BIN/psql -h $HOST -p $PORT -U postgres -qc 'CREATE ROLE root SUPERUSER LOGIN'" >/dev/null || true
answers
echo "postgres: started a cluster in $DATA at $HOST:$PORT"
