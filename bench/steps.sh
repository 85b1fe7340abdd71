#!/usr/bin/env bash
# Before/after for each hot-path optimisation, measured under the same conditions:
# the current tree with django_apikeys/services.py taken from each step's commit.
# Writes bench/results/steps/<step>-<database>.json (report.py renders the table).
# Needs bench/.venv (run bench/run.sh once). Extra arguments go to bench.run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
py="$root/bench/.venv/bin/python"
out="$root/bench/results/steps"
mkdir -p "$out"
steps=(
  "1-before:5cb4ba3"             # the ORM query, built and compiled per request
  "2-compiled-lookup:2220d77"    # no ORDER BY; SQL compiled once per connection
  "3-organization-keys:c6a92a1"  # organization keys: no user join, no subqueries
)
for step in "${steps[@]}"; do
  name=${step%%:*}
  rev=${step#*:}
  tree=$(mktemp -d /tmp/apikeys-step.XXXXXX)
  chmod 755 "$tree"  # with-postgres.sh runs initdb as postgres from this directory
  git archive HEAD django_apikeys bench example_project | tar -x -C "$tree"
  git show "$rev:django_apikeys/services.py" > "$tree/django_apikeys/services.py"
  # python -m puts the step's tree first on sys.path, ahead of the editable install.
  (cd "$tree" && "$py" -m bench.run --database sqlite --http-rounds 0 \
    --out "$out/$name-sqlite.json" "$@")
  (cd "$tree" && PGPORT=${BENCH_PGPORT:-55443} "$root/scripts/with-postgres.sh" \
    "$py" -m bench.run --database postgresql --http-rounds 0 \
    --out "$out/$name-postgresql.json" "$@")
  rm -rf "$tree"
done
