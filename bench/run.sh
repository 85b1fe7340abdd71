#!/usr/bin/env bash
# The authentication benchmark, in one command (`make bench`; bench/README.rst).
#
# Creates bench/.venv with the newest suitable Python, installs the project
# and the contenders (bench/requirements.txt), then measures on SQLite and on
# a throwaway PostgreSQL (scripts/with-postgres.sh, port $BENCH_PGPORT), with
# Django's default database settings and again with server-side binding, and
# writes bench/results/{sqlite,postgresql,postgresql-binding,latest}.json, bench/results/latest.md
# and the tables in bench/README.rst. Extra arguments go to both runs
# (e.g. --rounds 10 for a quick look).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

PYTHON=${PYTHON:-$(ls -d "$HOME"/.pyenv/versions/3.12*/bin/python3.12 \
  "$HOME"/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | head -n 1 || true)}
PYTHON=${PYTHON:-$(command -v python3.13 || command -v python3.12 || command -v python3)}
VENV=bench/.venv
# Reinstall when the requirements or the project's metadata change.
stamp="$VENV/.installed-$(cat bench/requirements.txt pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e . -r bench/requirements.txt
  touch "$stamp"
fi
PY="$VENV/bin/python"
echo "bench: $("$PY" --version), $("$PY" -m django --version) (installed in $(( $(date +%s) - started )) s)" >&2

mkdir -p bench/results
"$PY" -m bench.run --database sqlite --out bench/results/sqlite.json "$@"
PGPORT=${BENCH_PGPORT:-55443} scripts/with-postgres.sh \
  "$PY" -m bench.run --database postgresql --scale 1000,100000,1000000 \
  --out bench/results/postgresql.json "$@"
# The same contenders with server-side binding (psycopg prepares every statement).
BENCH_PG_PREPARE=1 PGPORT=${BENCH_PGPORT:-55443} scripts/with-postgres.sh \
  "$PY" -m bench.run --database postgresql --out bench/results/postgresql-binding.json \
  "$@" --http-rounds 0
"$PY" -m bench.report --seconds $(( $(date +%s) - started ))
echo "bench: done in $(( $(date +%s) - started )) s; see bench/results/latest.md" >&2
