#!/usr/bin/env bash
# Benchmark: the staff contact pages with 1,000,000 contacts and 1,000,000 deliveries,
# under wrk with a session cookie, against the release build; then a person's copy of
# their data (100 deliveries, 20 mails) timed with curl.
#
#   BACKEND=sqlite|postgres benches/contacts-admin.sh [SECONDS] [CONTACTS]
#
# Goals (issue 13): the list, a search for part of an address or a name, and a
# contact's page at p99 under 100 ms each; the privacy export under 50 ms. wrk runs on
# the same 2-core machine as the service.
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
pgdb="nyhetsbrev_bench_contacts_$$"
case $backend in
  sqlite)
    command -v sqlite3 >/dev/null || { echo "needs sqlite3: apt-get install sqlite3" >&2; exit 1; }
    export NYHETSBREV_DATABASE_URL="sqlite://$work/bench.db"
    sql() { sqlite3 "$work/bench.db" "$1"; }
    series() { echo "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $1) SELECT i FROM s"; }
    nl="char(10)"; crlf="char(13) || char(10)"
    bytes() { echo "CAST($1 AS BLOB)"; }
    ;;
  postgres)
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $pgdb" postgres
    export NYHETSBREV_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$pgdb"
    sql() { psql -q -h 127.0.0.1 -U postgres -d "$pgdb" -c "$1" >/dev/null; }
    series() { echo "SELECT i FROM generate_series(1, $1) AS s(i)"; }
    nl="chr(10)"; crlf="chr(13) || chr(10)"
    bytes() { echo "convert_to($1, 'UTF8')"; }
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
echo "filling $n contacts, $n deliveries, one contact with 100 deliveries and 20 mails ($backend)"
# Names and organisations from short lists, with the number in the surname so that a
# part of one name is rare ("sen4711") and a part of many is common ("hansen").
first="CASE i % 5 WHEN 0 THEN 'Kari' WHEN 1 THEN 'Ola' WHEN 2 THEN 'Åse' WHEN 3 THEN 'Per' ELSE 'Liv' END"
last="CASE i % 4 WHEN 0 THEN 'Hansen' WHEN 1 THEN 'Johansen' WHEN 2 THEN 'Ødegård' ELSE 'Berg' END"
org="CASE i % 3 WHEN 0 THEN 'Øst politidistrikt' WHEN 1 THEN 'Kirkens Bymisjon' ELSE 'UDI' END"
# search_text is lower-cased by the service in Rust (SQLite's lower() knows only ASCII).
first_lc="CASE i % 5 WHEN 0 THEN 'kari' WHEN 1 THEN 'ola' WHEN 2 THEN 'åse' WHEN 3 THEN 'per' ELSE 'liv' END"
last_lc="CASE i % 4 WHEN 0 THEN 'hansen' WHEN 1 THEN 'johansen' WHEN 2 THEN 'ødegård' ELSE 'berg' END"
org_lc="CASE i % 3 WHEN 0 THEN 'øst politidistrikt' WHEN 1 THEN 'kirkens bymisjon' ELSE 'udi' END"
sql "INSERT INTO contacts (email, email_key, name, organisation, search_text, status, consent_source, consent_at, created_at, updated_at)
     SELECT 'k' || i || '@example.org', 'k' || i || '@example.org',
            $first || ' ' || $last || i, $org,
            'k' || i || '@example.org' || $nl || $first_lc || ' ' || $last_lc || i || $nl || $org_lc,
            CASE WHEN i % 50 = 0 THEN 'unsubscribed' ELSE 'confirmed' END, 'import', 0, 0, 0
     FROM ($(series "$n")) AS s"
sql "INSERT INTO subscriptions (contact_id, publication_id, consent_source, consent_at)
     SELECT c.id, p.id, 'import', 0 FROM contacts c CROSS JOIN publications p WHERE c.status <> 'unsubscribed'"
sql "UPDATE issues SET status = 'sent', send_started_at = 1, sent_at = 2 WHERE slug = '2024-q1'"
sql "INSERT INTO deliveries (issue_id, contact_id, status, attempts, next_attempt_at, created_at, updated_at, sent_at)
     SELECT (SELECT id FROM issues WHERE slug = '2024-q1'), c.id, 'sent', 1, 0, 0, 0, 1 FROM contacts c"
# The person: 99 more issues sent to them, and 20 mails from their address.
person=4711
sql "INSERT INTO issues (slug, subject, period, preheader, source, status, created_at, updated_at, sent_at)
     SELECT 'b' || i, 'Nyhetsbrev ' || i, 'p', 'p', 'x', 'sent', 0, 0, 1 FROM ($(series 99)) AS s"
sql "INSERT INTO deliveries (issue_id, contact_id, status, attempts, next_attempt_at, created_at, updated_at, sent_at)
     SELECT id, $person, 'sent', 1, 0, 0, 0, 1 FROM issues WHERE slug LIKE 'b%'"
raw=$(bytes "'From: k$person@example.org' || $crlf || 'Subject: Spørsmål ' || i || $crlf || $crlf || 'Hei, et spørsmål om rapporten.'")
sql "INSERT INTO inbound_messages (received_at, channel, raw_sha256, raw, size, from_address, subject, kind, result, contact_id)
     SELECT i, 'api', 'h' || i, $raw, 60, 'k$person@example.org', 'Spørsmål ' || i, 'other', 'kept for staff', $person
     FROM ($(series 20)) AS s"
if [ "$backend" = postgres ]; then sql "VACUUM ANALYZE"; else sql "ANALYZE"; fi

"$bin" serve 2>"$work/serve.log" &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
cookie=$(curl -s -D - -o /dev/null -H "Origin: $base" \
  --data-urlencode username=bench --data-urlencode "password=et langt passord for benken" \
  "$base/admin/login" | awk -F'[=;]' 'tolower($1) == "set-cookie: nyhetsbrev_stab" {print $2}')
[ -n "$cookie" ] || { echo "could not sign in" >&2; cat "$work/serve.log" >&2; exit 1; }

echo "machine: $(nproc) cores; $backend; $n contacts, $n deliveries; wrk -t2 -c8 -d${seconds}s --latency"
run() { # label, path, expected text
  local label=$1 path=$2 expect=$3
  curl -sf -H "Cookie: nyhetsbrev_stab=$cookie" "$base$path" | grep -q "$expect" \
    || { echo "$path did not show $expect" >&2; exit 1; }
  wrk -t2 -c8 -d"${seconds}s" --latency -H "Cookie: nyhetsbrev_stab=$cookie" "$base$path" >"$work/wrk.txt" 2>&1
  local rps p50 p99 problems
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
  problems=$(grep -E "Non-2xx|Socket errors" "$work/wrk.txt" | tr '\n' ' ' || true)
  printf "%-44s %9s req/s   p50 %8s   p99 %8s   %s\n" "$label" "$rps" "$p50" "$p99" "${problems:-all answers 2xx}"
}
run "list, first page" "/admin/contacts" "Neste side"
run "list, a page deep in the list" "/admin/contacts?etter=k555555%40example.org" "k555556@example.org"
run "list, unsubscribed only" "/admin/contacts?status=unsubscribed" "Neste side"
run "search, part of an address (k12345)" "/admin/contacts?q=k12345" "k123450@example.org"
run "search, part of a name (sen4711)" "/admin/contacts?q=sen4711" "Hansen4711"
run "search, common name (ødegård)" "/admin/contacts?q=%C3%B8deg%C3%A5rd" "Mer enn"
run "search, everyone (example.org)" "/admin/contacts?q=example.org" "Mer enn"
run "contact page (100 deliveries, 20 mails)" "/admin/contacts/$person" "Spørsmål 20"

# The privacy export is a POST (it is written to the audit log): timed with curl.
csrf=$(curl -sf -H "Cookie: nyhetsbrev_stab=$cookie" "$base/admin/contacts/$person" \
  | grep -o 'name="csrf" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
times=()
for _ in $(seq 1 50); do
  t=$(curl -sf -o "$work/export.json" -w '%{time_total}' -H "Cookie: nyhetsbrev_stab=$cookie" -H "Origin: $base" \
      --data-urlencode "csrf=$csrf" --data-urlencode format=json "$base/admin/contacts/$person/innsyn")
  times+=("$t")
done
python3 - "$work/export.json" "${times[@]}" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
assert len(data["utsendelser"]) == 100 and len(data["epost_fra_deg"]) == 20, (len(data["utsendelser"]), len(data["epost_fra_deg"]))
t = sorted(float(x) * 1000 for x in sys.argv[2:])
print(f"{'privacy export (100 deliveries, 20 mails)':44s} 50 POSTs      p50 {t[len(t)//2]:6.2f}ms   max {t[-1]:6.2f}ms")
PY
