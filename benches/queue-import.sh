#!/usr/bin/env bash
# Import and queue time for N contacts (issue 18): `contacts import` of a generated CSV,
# then `issue send` without --follow (only the queueing), under GNU time, on SQLite and
# PostgreSQL, for each build given, ROUNDS times in turn.
#
#   BINS="old/nyhetsbrev target/release/nyhetsbrev" ROUNDS=2 benches/queue-import.sh [N]
#
# Needs PostgreSQL on 127.0.0.1:5432 with trust auth, GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
rounds=${ROUNDS:-2}
pg_admin=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
[ -n "${BINS:-}" ] || cargo build --release --quiet
read -r -a bins <<< "${BINS:-$PWD/target/release/nyhetsbrev}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$n" > "$work/contacts.csv" <<'PY'
import sys
print("email,name")
for i in range(int(sys.argv[1])):
    print(f"k{i}@example.org,Kontakt {i}")
PY
echo "| build | backend | contacts | import s | import peak RSS MB | queue s |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for _ in $(seq "$rounds"); do
  for backend in sqlite postgres; do
    for bin in "${bins[@]}"; do
      dir=$(mktemp -d -p "$work")
      if [ "$backend" = sqlite ]; then
        url="sqlite://$dir/nyhetsbrev.db"
      else
        psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS nyhetsbrev_queue" -c "CREATE DATABASE nyhetsbrev_queue" 2>/dev/null
        url="${pg_admin%/*}/nyhetsbrev_queue"
      fi
      export NYHETSBREV_DATABASE_URL=$url NYHETSBREV_OUTBOX=$dir/outbox \
        NYHETSBREV_TOKEN_KEY=bench-token-key-0123456789abcdef0123456789
      "$bin" migrate >/dev/null
      /usr/bin/time -f "%e %M" -o "$dir/import" "$bin" contacts import "$work/contacts.csv" >/dev/null
      "$bin" issue import examples/2024-q1.md >/dev/null
      /usr/bin/time -f "%e" -o "$dir/queue" "$bin" issue send 2024-q1 >/dev/null 2>&1
      read -r import_s import_kb < "$dir/import"
      printf '| %s | %s | %s | %s | %.1f | %s |\n' "$bin" "$backend" "$n" "$import_s" \
        "$(echo "$import_kb / 1024" | bc -l)" "$(cat "$dir/queue")"
    done
  done
done
