#!/usr/bin/env bash
# Before/after for each hot-path lever, measured under the same conditions:
# the current tree with the hot path (django_apikeys/services/resolution.py and
# django_apikeys/_compiled_lookup.py) taken from each step's commit, and
# PostgreSQL's prepared statements on or off (BENCH_PG_PREPARE, bench/settings.py).
# Writes bench/results/steps/<step>-<database>.json (report.py renders the table).
# Needs bench/.venv (run bench/run.sh once). Extra arguments go to bench.run.
#
# Steps 1-3 (bench/results/steps/[123]-*.json) were measured by this script's
# earlier version, when the hot path was one module (django_apikeys/services.py);
# their results are kept, they are not re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
py="$root/bench/.venv/bin/python"
out="$root/bench/results/steps"
mkdir -p "$out"
# name:commit:prepared statements (0/1):databases[:files from the commit[:environment]]
# files: comma-separated paths (default: the hot path's two modules), or "all"
# for the commit's whole django_apikeys package; STEPS=a,b runs only the named steps.
hot_path=django_apikeys/services/resolution.py,django_apikeys/_compiled_lookup.py
steps=(
  "4-issue-10-before:8ac9cfc:0:sqlite,postgresql"  # two membership subqueries; organization-only variant
  "5-user-join:3f8b2cf:0:sqlite,postgresql"        # the owner's role from one LEFT JOIN
  "6-one-query:1f3ec64:0:sqlite,postgresql"        # the same query for every key type
  "7-prepared-statements:1f3ec64:1:postgresql"     # server-side binding + prepare_threshold
  # The lookup cache and Redis, the whole package at each commit: Django's RedisCache
  # and a lookup in two gets (before this round) ...
  "8-cache-before:fe4fd3c:1:postgresql:all:BENCH_DJANGO_REDIS=1"
  # ... the app's backend (one client, incr in one round trip), one MGET.
  "9-redis-backend:29ebf74:1:postgresql:all"
  # Usage analytics count refusals by code (issue 13): one incr per refusal.
  "10-outcomes:df9c003:1:postgresql:all"
)
for step in "${steps[@]}"; do
  IFS=: read -r name rev prepare databases files environment <<<"$step"
  if [ -n "${STEPS:-}" ] && [[ ",$STEPS," != *",$name,"* ]]; then
    continue
  fi
  tree=$(mktemp -d /tmp/apikeys-step.XXXXXX)
  chmod 755 "$tree"  # with-postgres.sh runs initdb as postgres from this directory
  git archive HEAD django_apikeys bench example_project | tar -x -C "$tree"
  if [ "$files" = all ]; then
    rm -rf "$tree/django_apikeys"
    git archive "$rev" django_apikeys | tar -x -C "$tree"
  else
    IFS=, read -r -a paths <<<"${files:-$hot_path}"
    for file in "${paths[@]}"; do
      git show "$rev:$file" > "$tree/$file"
    done
  fi
  # python -m puts the step's tree first on sys.path, ahead of the editable install.
  if [[ $databases == *sqlite* ]]; then
    (cd "$tree" && env $environment "$py" -m bench.run --database sqlite --http-rounds 0 \
      --out "$out/$name-sqlite.json" "$@")
  fi
  if [[ $databases == *postgresql* ]]; then
    (cd "$tree" && env $environment BENCH_PG_PREPARE=$prepare PGPORT=${BENCH_PGPORT:-55443} \
      "$root/scripts/with-postgres.sh" "$py" -m bench.run --database postgresql \
      --http-rounds 0 --out "$out/$name-postgresql.json" "$@")
  fi
  rm -rf "$tree"
done
