#!/usr/bin/env bash
# Benchmark: N inbound messages through the MTA pipe, one `nyhetsbrev inbound` process
# each (as Postfix runs it), on SQLite and PostgreSQL. A third are requests to join
# (each from its own address, so each gets a confirmation into the outbox), a third
# requests to leave, a third questions kept for staff. Reports wall time per message and
# the peak resident memory of the largest process; checks every message was recorded.
#
#   benches/inbound-pipe.sh [N]          default: 300
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300}
admin=${NYHETSBREV_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }

cargo build --release --quiet
bin=$PWD/target/release/nyhetsbrev
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in $(seq 1 "$n"); do
  case $((i % 3)) in
    0) subject="Meld meg på"; body="Hei, jeg vil gjerne få nyhetsbrevet." ;;
    1) subject="Meld meg av"; body="Takk for nå." ;;
    2) subject="Spørsmål"; body="Hvor finner jeg rapporten?" ;;
  esac
  printf 'From: Person %d <person%d@example.org>\r\nTo: nyhetsbrev@example.org\r\nSubject: %s\r\nDate: Mon, 03 Mar 2025 10:15:00 +0100\r\nMessage-ID: <bench-%d@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n' \
    "$i" "$i" "$subject" "$i" "$body" >"$work/$i.eml"
done

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
for backend in sqlite postgres; do
  if [ $backend = sqlite ]; then
    export NYHETSBREV_DATABASE_URL="sqlite://$work/bench.db"
  else
    db=nyhetsbrev_inbound_bench_$$
    psql -q "$admin" -c "CREATE DATABASE $db"
    export NYHETSBREV_DATABASE_URL="${admin%/*}/$db"
  fi
  export NYHETSBREV_OUTBOX="$work/outbox-$backend"
  export NYHETSBREV_TOKEN_KEY=${NYHETSBREV_TOKEN_KEY:-benchmark-token-key-0123456789abcdef0123}
  (cd "$work" && "$bin" migrate >/dev/null)
  peak=0
  start=$(date +%s.%N)
  for i in $(seq 1 "$n"); do
    /usr/bin/time -f "%M" -o "$work/time" "$bin" inbound <"$work/$i.eml" >/dev/null
    kb=$(cat "$work/time"); [ "$kb" -gt "$peak" ] && peak=$kb
  done
  end=$(date +%s.%N)
  recorded=$("$bin" inbound list --json --limit 100000 | grep -c '"id"')
  mails=$(ls "$NYHETSBREV_OUTBOX" | wc -l)
  printf "%-9s %5d messages  %6.2f s  %5.1f ms/message  peak RSS %5.1f MB  recorded %d  confirmations %d\n" \
    "$backend" "$n" "$(echo "$end - $start" | bc -l)" "$(echo "($end - $start) * 1000 / $n" | bc -l)" \
    "$(echo "$peak/1024" | bc -l)" "$recorded" "$mails"
  [ "$recorded" -eq "$n" ] || { echo "not every message was recorded" >&2; exit 1; }
  if [ $backend = postgres ]; then psql -q "$admin" -c "DROP DATABASE $db WITH (FORCE)"; fi
done
