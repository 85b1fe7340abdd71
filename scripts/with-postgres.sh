#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL 15 cluster on 127.0.0.1.
# The cluster is owned by the `postgres` user (initdb refuses root), lives in
# a temporary directory, and is stopped and deleted when the command ends.
set -euo pipefail

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL binaries not found (set PGBIN)" >&2; exit 1; }
# A free port unless PGPORT says which: two runs on one machine must not collide.
if [ -z "${PGPORT:-}" ]; then
  PGPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
DATA=$(mktemp -d /tmp/apikeys-pg.XXXXXX)

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$DATA"
fi
cleanup() {
  as_postgres "$PGBIN/pg_ctl" -D "$DATA/db" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT

as_postgres "$PGBIN/initdb" -D "$DATA/db" -U postgres -A trust --no-sync -E UTF8 >/dev/null
as_postgres "$PGBIN/pg_ctl" -D "$DATA/db" -w -l "$DATA/log" \
  -o "-h 127.0.0.1 -p $PGPORT -k $DATA -F -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null
as_postgres "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres apikeys

export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/apikeys"
echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT" >&2
"$@"
