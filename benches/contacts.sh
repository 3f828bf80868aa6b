#!/usr/bin/env bash
# Benchmark: import N contacts from CSV into an empty list, then export them, on SQLite
# and on PostgreSQL, through the release binary as staff would run it. Reports wall time
# and peak resident memory (from GNU time) for each step.
#
#   benches/contacts.sh [ROWS ...]          default: 100000 1000000
#   BIN=/path/to/nyhetsbrev benches/contacts.sh 100000   another build (no cargo build)
#
# PostgreSQL is taken from NYHETSBREV_TEST_POSTGRES (default
# postgres://postgres@127.0.0.1:5432/postgres); a scratch database is created and dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
rows_list=("${@:-100000 1000000}")
read -r -a rows_list <<<"${rows_list[*]}"
admin=${NYHETSBREV_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }

if [ -z "${BIN:-}" ]; then cargo build --release --quiet; fi
bin=${BIN:-$PWD/target/release/nyhetsbrev}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure() { # label, then the command; prints one report line
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
    local rc=$?; [ $rc -eq 3 ] || { cat "$work/err" >&2; exit $rc; }; }
  read -r wall kb <"$work/time"
  printf "%-10s %-9s %9s rows  %7.2f s  %6.1f MB peak RSS\n" "$label" "$backend" "$rows" "$wall" "$(echo "$kb/1024" | bc -l)"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
for rows in "${rows_list[@]}"; do
  csv=$work/contacts-$rows.csv
  awk -v n="$rows" 'BEGIN { print "email,name,organisation";
    for (i = 0; i < n; i++) printf "person%d@example.org,Navn Æøå %d,Organisasjon %d\n", i, i, i % 50 }' >"$csv"
  for backend in sqlite postgres; do
    if [ $backend = sqlite ]; then
      export NYHETSBREV_DATABASE_URL="sqlite://$work/bench.db"
      rm -f "$work"/bench.db*
    else
      db=nyhetsbrev_bench_$$
      psql "$admin" -qAtc "DROP DATABASE IF EXISTS $db" && psql "$admin" -qAtc "CREATE DATABASE $db"
      export NYHETSBREV_DATABASE_URL="${admin%/*}/$db"
    fi
    "$bin" migrate >/dev/null
    measure import "$bin" contacts import "$csv"
    grep -q "imported $rows," "$work/out" || { echo "import did not import every row:" >&2; cat "$work/out" >&2; exit 1; }
    measure export "$bin" contacts export --output "$work/export.csv"
    [ "$(($(wc -l <"$work/export.csv") - 1))" -eq "$rows" ] || { echo "export is short" >&2; exit 1; }
    [ $backend = postgres ] && psql "$admin" -qAtc "DROP DATABASE $db WITH (FORCE)"
  done
  rm -f "$csv"
done
