#!/usr/bin/env bash
# Benchmark: the staff dashboard and a send's report with one issue of 1,000,000
# deliveries, under wrk with a session cookie, against the release build.
#
#   BACKEND=sqlite|postgres benches/admin.sh [SECONDS] [DELIVERIES]
#
# The issue is mid-send: 60 % sent, 1 % failed, 0.5 % skipped, the rest queued (some
# waiting for a retry). No worker runs (no token_key), so the counts hold still while
# wrk measures. The goal (issue 12): p99 under 50 ms for each page. wrk runs on the
# same 2-core machine as the service.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
n=${2:-1000000}
backend=${BACKEND:-sqlite}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }

cargo build --release --quiet
bin=$PWD/target/release/nyhetsbrev
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export NYHETSBREV_BIND="127.0.0.1:$port" NYHETSBREV_BASE_URL="$base" RUST_LOG=warn
export NYHETSBREV_OUTBOX="$work/outbox"
pgdb="nyhetsbrev_bench_admin_$$"
case $backend in
  sqlite)
    command -v sqlite3 >/dev/null || { echo "needs sqlite3: apt-get install sqlite3" >&2; exit 1; }
    export NYHETSBREV_DATABASE_URL="sqlite://$work/bench.db"
    sql() { sqlite3 "$work/bench.db" "$1"; }
    series="WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $n) SELECT i FROM s"
    ;;
  postgres)
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $pgdb" postgres
    export NYHETSBREV_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$pgdb"
    sql() { psql -q -h 127.0.0.1 -U postgres -d "$pgdb" -c "$1" >/dev/null; }
    series="SELECT i FROM generate_series(1, $n) AS s(i)"
    ;;
  *) echo "BACKEND is sqlite or postgres" >&2; exit 1 ;;
esac
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null
  [ "$backend" = postgres ] && psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" postgres
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" migrate >/dev/null
"$bin" issue import examples/2024-q1.md >/dev/null
echo "et langt passord for benken" | "$bin" staff add bench >/dev/null
echo "filling $n contacts and deliveries ($backend)"
sql "INSERT INTO contacts (email, email_key, search_text, status, consent_source, consent_at, created_at, updated_at)
     SELECT 'k' || i || '@example.org', 'k' || i || '@example.org', 'k' || i || '@example.org',
            'confirmed', 'import', 0, 0, 0 FROM ($series) AS s"
sql "UPDATE issues SET status = 'sending', send_started_at = 1 WHERE slug = '2024-q1'"
sql "INSERT INTO subscriptions (contact_id, publication_id, consent_source, consent_at)
     SELECT c.id, p.id, 'import', 0 FROM contacts c CROSS JOIN publications p"
sql "INSERT INTO deliveries (issue_id, contact_id, status, attempts, next_attempt_at, last_error, created_at, updated_at, sent_at)
     SELECT (SELECT id FROM issues WHERE slug = '2024-q1'), c.id,
       CASE WHEN c.id % 1000 < 600 THEN 'sent' WHEN c.id % 1000 < 610 THEN 'failed'
            WHEN c.id % 1000 < 615 THEN 'skipped' ELSE 'queued' END,
       CASE WHEN c.id % 1000 BETWEEN 615 AND 619 THEN 1 WHEN c.id % 1000 < 615 THEN 1 ELSE 0 END,
       0,
       CASE WHEN c.id % 1000 BETWEEN 600 AND 619 THEN '450 4.2.1 mailbox busy' END,
       0, 0, CASE WHEN c.id % 1000 < 600 THEN c.id END
     FROM contacts c"
[ "$backend" = postgres ] && sql "VACUUM ANALYZE"

"$bin" serve 2>"$work/serve.log" &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
cookie=$(curl -s -D - -o /dev/null -H "Origin: $base" \
  --data-urlencode username=bench --data-urlencode "password=et langt passord for benken" \
  "$base/admin/login" | awk -F'[=;]' 'tolower($1) == "set-cookie: nyhetsbrev_stab" {print $2}')
[ -n "$cookie" ] || { echo "could not sign in" >&2; cat "$work/serve.log" >&2; exit 1; }

echo "machine: $(nproc) cores; $backend; $n deliveries; wrk -t2 -c8 -d${seconds}s --latency"
run() { # label, path
  local label=$1 path=$2
  curl -sf -o /dev/null -H "Cookie: nyhetsbrev_stab=$cookie" "$base$path" || { echo "$path failed" >&2; exit 1; }
  wrk -t2 -c8 -d"${seconds}s" --latency -H "Cookie: nyhetsbrev_stab=$cookie" "$base$path" >"$work/wrk.txt" 2>&1
  local rps p50 p99 problems
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
  problems=$(grep -E "Non-2xx|Socket errors" "$work/wrk.txt" | tr '\n' ' ' || true)
  printf "%-36s %9s req/s   p50 %8s   p99 %8s   %s\n" "$label" "$rps" "$p50" "$p99" "${problems:-all answers 2xx}"
}
run "GET /admin (dashboard)" "/admin"
run "GET /admin/issues/2024-q1/report" "/admin/issues/2024-q1/report"
run "GET /admin/issues/2024-q1/report.json" "/admin/issues/2024-q1/report.json"
