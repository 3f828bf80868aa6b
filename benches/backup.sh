#!/usr/bin/env bash
# Benchmark (issue 15): `nyhetsbrev backup` of a database with N contacts and N
# deliveries (release build): time, peak memory and size of the copy; then the send rate
# of a worker while a backup runs, against its rate without one, in the same run; then
# the time of a `GET /metrics` scrape (curl, SCRAPES of them) with those rows in place.
#
#   BACKEND=sqlite|postgres benches/backup.sh [N]        default N: 1000000
#
# The send: a second issue queued to all N contacts, a `worker` sending it into Postfix's
# smtp-sink on loopback; its rate is read from the live counts (`issue status --json`)
# over WINDOW seconds before the backup, during it, and WINDOW seconds after.
#
# Needs: sqlite3, postfix (smtp-sink), PostgreSQL on 127.0.0.1:5432 with trust auth and
# its client programs (pg_dump, pg_restore), GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
backend=${BACKEND:-sqlite}
window=${WINDOW:-15}
scrapes=${SCRAPES:-100}
port=2526
command -v smtp-sink >/dev/null || { echo "needs smtp-sink: apt-get install postfix" >&2; exit 1; }

cargo build --release --quiet
bin=$PWD/target/release/nyhetsbrev
work=$(mktemp -d)
pgdb="nyhetsbrev_bench_backup_$$"
export RUST_LOG=warn NYHETSBREV_OUTBOX="$work/outbox"
export NYHETSBREV_SMTP_URL="smtp://127.0.0.1:$port?tls=none" NYHETSBREV_SMTP_CONNECTIONS=8
export NYHETSBREV_FROM_ADDRESS=nyhetsbrev@example.no NYHETSBREV_BASE_URL=https://nyhetsbrev.example.org
export NYHETSBREV_TOKEN_KEY=benchmark-token-key-0123456789abcdef0123
case $backend in
  sqlite)
    export NYHETSBREV_DATABASE_URL="sqlite://$work/bench.db"
    sql() { sqlite3 "$work/bench.db" "$1"; }
    series="WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $n) SELECT i FROM s"
    ext=db
    ;;
  postgres)
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $pgdb" postgres
    export NYHETSBREV_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$pgdb"
    sql() { psql -q -h 127.0.0.1 -U postgres -d "$pgdb" -c "$1" >/dev/null; }
    series="SELECT i FROM generate_series(1, $n) AS s(i)"
    ext=pgdump
    ;;
  *) echo "BACKEND is sqlite or postgres" >&2; exit 1 ;;
esac
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  [ "$backend" = postgres ] && psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" postgres
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

"$bin" migrate >/dev/null
"$bin" issue import "$OLDPWD/examples/2024-q1.md" >/dev/null
echo "filling $n contacts and $n deliveries ($backend)"
sql "INSERT INTO contacts (email, email_key, name, organisation, search_text, status, consent_source, consent_at, consent_note, confirmed_at, created_at, updated_at)
     SELECT 'kontakt' || i || '@example.org', 'kontakt' || i || '@example.org', 'Kontakt ' || i, 'Organisasjon ' || (i % 500),
            'kontakt' || i || '@example.org kontakt ' || i, 'confirmed', 'import', 0, 'importert fra liste.csv', 0, 0, 0
     FROM ($series) AS s"
sql "UPDATE issues SET status = 'sent', send_started_at = 1, sent_at = 2 WHERE slug = '2024-q1'"
sql "INSERT INTO subscriptions (contact_id, publication_id, consent_source, consent_at)
     SELECT c.id, p.id, 'import', 0 FROM contacts c CROSS JOIN publications p"
sql "INSERT INTO deliveries (issue_id, contact_id, status, attempts, next_attempt_at, message_id, created_at, updated_at, sent_at)
     SELECT (SELECT id FROM issues WHERE slug = '2024-q1'), c.id, 'sent', 1, 0,
            '<2024-q1.' || c.id || '@example.no>', 0, 0, 1 FROM contacts c"

/usr/bin/time -f '%e %M' -o "$work/time" "$bin" backup "$work/quiet.$ext" > "$work/backup.log"
read -r quiet_wall quiet_rss < "$work/time"
quiet_size=$(stat -c %s "$work/quiet.$ext")
cat "$work/backup.log"

# The send: a second issue to every contact, a worker sending it into the sink.
sed 's/slug = "2024-q1"/slug = "2024-q1b"/' "$OLDPWD/examples/2024-q1.md" > "$work/2024-q1b.md"
"$bin" issue import "$work/2024-q1b.md" >/dev/null
"$bin" issue send 2024-q1b >/dev/null
smtp-sink -u nobody 127.0.0.1:$port 1024 &
sleep 0.5
"$bin" worker 2>"$work/worker.log" &
sent() { "$bin" issue status 2024-q1b --json | sed -n 's/.*"sent":\([0-9]*\).*/\1/p'; }
now() { date +%s.%N; }
sleep 3 # connections up, the rate steady
s0=$(sent); t0=$(now)
sleep "$window"
s1=$(sent); t1=$(now)
/usr/bin/time -f '%e %M' -o "$work/time" "$bin" backup "$work/busy.$ext" > /dev/null
s2=$(sent); t2=$(now)
read -r busy_wall busy_rss < "$work/time"
sleep "$window"
s3=$(sent); t3=$(now)

awk -v b="$backend" -v n="$n" -v qw="$quiet_wall" -v qr="$quiet_rss" -v qs="$quiet_size" \
    -v bw="$busy_wall" -v br="$busy_rss" \
    -v s0="$s0" -v s1="$s1" -v s2="$s2" -v s3="$s3" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" 'BEGIN {
  before = (s1 - s0) / (t1 - t0); during = (s2 - s1) / (t2 - t1); after = (s3 - s2) / (t3 - t2);
  printf "\n| backend | rows | backup alone s | peak RSS MB | size MB | backup during a send s | send msg/s before | during | after | during / mean(before, after) |\n";
  printf "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  printf "| %s | %d + %d | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f | %.0f | %.2f |\n",
    b, n, n, qw, qr / 1024, qs / 1048576, bw, before, during, after, during / ((before + after) / 2);
}'

# The metrics: serve (no worker: no token_key) with metrics_bind, scraped in turn.
kill %2 2>/dev/null || true # the worker
wait %2 2>/dev/null || true
metrics_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
web_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env -u NYHETSBREV_TOKEN_KEY NYHETSBREV_BIND=127.0.0.1:$web_port NYHETSBREV_METRICS_BIND=127.0.0.1:$metrics_port \
  "$bin" serve 2>"$work/serve.log" &
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$metrics_port/metrics" >/dev/null && break; sleep 0.2; done
deliveries=$(curl -sf "http://127.0.0.1:$metrics_port/metrics" | awk '/^nyhetsbrev_deliveries\{/ { n += $2 } END { print n }')
for _ in $(seq "$scrapes"); do
  curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$metrics_port/metrics"
done | sort -n | awk -v d="$deliveries" -v b="$backend" '{ t[NR] = $1 } END {
  printf "\n/metrics at %d deliveries (%s), %d scrapes: median %.1f ms, p95 %.1f ms, max %.1f ms\n",
    d, b, NR, t[int(NR / 2) + 1] * 1000, t[int(NR * 0.95)] * 1000, t[NR] * 1000 }'
