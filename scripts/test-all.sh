#!/usr/bin/env bash
# `make test`: every stage of the suite, then one summary line per stage.
#
# Strict (APIKEYS_TESTS_STRICT=1, see tests/needs.py): a missing Chromium,
# Redis or PostgreSQL fails its stage with a one-line reason, and a skipped
# test fails the run. Every stage runs even after one fails; the exit status
# is non-zero if any failed. Branch coverage of the SQLite, PostgreSQL and
# browser stages is combined and reported at the end.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
export APIKEYS_TESTS_STRICT=1
export PGPORT=${PGPORT:-55432}
rm -f .coverage .coverage.*

summary=()
failed=0
stage() {
  local name=$1
  shift
  local start=$SECONDS status=ok
  echo "=== stage $name: $*"
  "$@" || { status=FAILED; failed=1; }
  summary+=("$(printf '%-11s %-7s %5ss' "$name" "$status" $((SECONDS - start)))")
}

COVERED=("$PY" -m coverage run -m pytest -q)
stage lint make -s lint
stage types make -s typecheck
stage SQLite "${COVERED[@]}" -m "not browser and not live and not postgres"
stage PostgreSQL scripts/with-postgres.sh "${COVERED[@]}" -m "not browser and not live"
stage live scripts/with-postgres.sh "$PY" -m pytest -q -m live
stage browser "${COVERED[@]}" -m browser
# A missing interpreter is a failure here, not a skipped environment.
stage tox make -s test-compat TOX_ARGS="--skip-missing-interpreters false"
stage docs make -s docs
coverage_report() {
  "$PY" -m coverage combine -q && "$PY" -m coverage report > test-coverage.txt
  local status=$?
  # The TOTAL line (skip_covered ends the report with "N files skipped ..." instead).
  grep -E '^TOTAL' test-coverage.txt
  return $status
}
stage coverage coverage_report

echo
echo "make test summary (full coverage report: test-coverage.txt)"
for line in "${summary[@]}"; do echo "  $line"; done
total=$("$PY" -m coverage report --format=total 2>/dev/null || echo "?")
echo "  branch coverage of django_apikeys: ${total}%"
exit $failed
