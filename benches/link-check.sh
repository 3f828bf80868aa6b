#!/usr/bin/env bash
# Benchmark: the link check of the 2024 sample (examples/2024-q1.md, 70 links) against a
# local web server, through the release binary (`issue links`, as the web admin's
# checklist checks them). Goal (issue 12): every link checked in under 2 s.
#
#   benches/link-check.sh [ROUNDS] [DELAY_MS]
#
# The server (Python's threading HTTP server) answers every HEAD and GET with 200 after
# DELAY_MS (default 50 ms, a nearby web server's answer time), so the figure shows how
# far the check's parallelism hides each site's latency; DELAY_MS=0 shows the overhead.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
delay=${2:-50}
cargo build --release --quiet
bin=$PWD/target/release/nyhetsbrev
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export NYHETSBREV_DATABASE_URL="sqlite://$work/bench.db" NYHETSBREV_LINK_CHECK_ALLOW_PRIVATE=true RUST_LOG=warn
cleanup() { [ -n "${server:-}" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

cat >"$work/server.py" <<PY
import http.server, time
class Answer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self, body):
        time.sleep($delay / 1000)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(body)
    def do_HEAD(self): self.answer(b"")
    def do_GET(self): self.answer(b"ok")
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", $port), Answer).serve_forever()
PY
python3 "$work/server.py" &
server=$!
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

sed "s#https://example.org#http://127.0.0.1:$port#g" examples/2024-q1.md >"$work/2024-q1.md"
"$bin" issue import "$work/2024-q1.md" >/dev/null
echo "machine: $(nproc) cores; server answers after ${delay} ms; $rounds rounds"
for i in $(seq 1 "$rounds"); do
  "$bin" issue links 2024-q1 | tail -n 1
done
