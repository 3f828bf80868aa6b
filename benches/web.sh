#!/usr/bin/env bash
# Benchmark: the public pages under load, with wrk, against the release build on SQLite.
#
#   benches/web.sh [SECONDS]        default 15 s per endpoint
#
# Measures GET /subscribe, GET /arkiv/2024-q1 (the web version of a sent issue) and the
# RFC 8058 one-click unsubscribe POST. wrk runs on the same 2-core machine as the
# service, so both share the CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "needs sqlite3: apt-get install sqlite3" >&2; exit 1; }

cargo build --release --quiet
bin=$PWD/target/release/nyhetsbrev
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export NYHETSBREV_DATABASE_URL="sqlite://$work/bench.db" NYHETSBREV_BIND="127.0.0.1:$port" RUST_LOG=warn
export NYHETSBREV_OUTBOX="$work/outbox"
cleanup() { [ -n "${server:-}" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# A sent issue for the archive, and a confirmed contact with a known unsubscribe secret.
"$bin" issue import examples/2024-q1.md >/dev/null
sqlite3 "$work/bench.db" "UPDATE issues SET status = 'sent', sent_at = 1 WHERE slug = '2024-q1'"
"$bin" contacts add bench@example.org --note "benchmark" >/dev/null
secret=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
hash=$(printf %s "$secret" | sha256sum | cut -d' ' -f1)
sqlite3 "$work/bench.db" "INSERT INTO tokens (token_hash, contact_id, purpose, created_at)
  SELECT '$hash', id, 'unsubscribe', 0 FROM contacts WHERE email_key = 'bench@example.org'"

"$bin" serve 2>"$work/serve.log" &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done

cat >"$work/one-click.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "List-Unsubscribe=One-Click"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA

echo "machine: $(nproc) cores; wrk -t2 -c32 -d${seconds}s --latency"
run() { # label, url, then wrk's own options
  local label=$1 url=$2; shift 2
  wrk -t2 -c32 -d"${seconds}s" --latency "$@" "$url" >"$work/wrk.txt" 2>&1
  local rps p99 problems
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
  problems=$(grep -E "Non-2xx|Socket errors" "$work/wrk.txt" | tr '\n' ' ' || true)
  printf "%-36s %10s req/s   p99 %8s   %s\n" "$label" "$rps" "$p99" "${problems:-all answers 2xx}"
}
run "GET /subscribe" "http://127.0.0.1:$port/subscribe"
run "GET /arkiv/2024-q1" "http://127.0.0.1:$port/arkiv/2024-q1"
# The first one-click unsubscribes; the measured ones find the contact already out.
curl -sf -o /dev/null -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
  --data 'List-Unsubscribe=One-Click' "http://127.0.0.1:$port/avmeld/$secret"
sqlite3 "$work/bench.db" "SELECT status FROM contacts WHERE email_key = 'bench@example.org'" | grep -qx unsubscribed
run "POST /avmeld/{token} (one-click)" "http://127.0.0.1:$port/avmeld/$secret" -s "$work/one-click.lua"

# The write path: every request unsubscribes a different confirmed contact.
fresh=100000
python3 - "$work" "$fresh" <<'PY'
import base64, hashlib, os, sys
work, n = sys.argv[1], int(sys.argv[2])
with open(f"{work}/fresh.csv", "w") as csv, open(f"{work}/tokens.sql", "w") as sql, open(f"{work}/fresh.lua", "w") as lua:
    csv.write("email\n")
    sql.write("BEGIN;\n")
    lua.write('wrk.method = "POST"\nwrk.body = "List-Unsubscribe=One-Click"\n')
    lua.write('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\nlocal secrets = {\n')
    for i in range(n):
        secret = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
        digest = hashlib.sha256(secret.encode()).hexdigest()
        csv.write(f"fresh{i}@example.org\n")
        sql.write(f"INSERT INTO tokens (token_hash, contact_id, purpose, created_at) SELECT '{digest}', id, 'unsubscribe', 0 FROM contacts WHERE email_key = 'fresh{i}@example.org';\n")
        lua.write(f'"{secret}",\n')
    sql.write("COMMIT;\n")
    lua.write('}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(nil, "/avmeld/" .. secrets[(i % #secrets) + 1])\nend\n')
PY
"$bin" contacts import "$work/fresh.csv" >/dev/null
sqlite3 "$work/bench.db" <"$work/tokens.sql"
run "POST /avmeld/{token} (one-click, new)" "http://127.0.0.1:$port/" -s "$work/fresh.lua"
left=$(sqlite3 "$work/bench.db" "SELECT COUNT(*) FROM contacts WHERE email_key LIKE 'fresh%' AND status = 'unsubscribed'")
echo "contacts unsubscribed by that run: $left (of $fresh available; wrk's two threads each start at the first secret)"
