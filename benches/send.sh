#!/usr/bin/env bash
# End-to-end send benchmark (issue 5): the 2024 sample issue to N contacts, through
# `issue send --follow` (release build), into Postfix's smtp-sink running as a separate
# process on loopback, on SQLite and on PostgreSQL, with the deliveries table kept up to
# date. Prints messages per second, CPU seconds and peak memory of the sending process,
# then the sink's own ceiling measured with smtp-source at the same message size.
#
#   benches/send.sh [N ...]            default: 100000
#   CONNECTIONS=8 benches/send.sh      relay connections (default 8)
#   RATE_TEST=1 benches/send.sh 0      only the 20-messages-a-second pacing check
#   BACKENDS=postgres benches/send.sh  one backend only
#   DKIM=1 benches/send.sh             each send twice, in turn: unsigned, then every
#                                      message signed (a fresh RSA-2048 key); prints the
#                                      signed ÷ unsigned ratio, the CPU a signature added
#                                      per message, and `openssl speed rsa2048` beside it
#   TLS=1 benches/send.sh              each send twice, in turn: plain text, then implicit
#                                      TLS through stunnel in front of the same sink (a
#                                      throwaway CA trusted through smtp_ca_file); prints
#                                      the TLS ÷ plain ratio per backend
#   PERF=DIR benches/send.sh           each send under `perf record -g` (Debian's
#                                      linux-perf), one DIR/BACKEND-KIND.data per run, for
#                                      `perf report`; its figures include perf's overhead
#   BINS="old/nyhetsbrev target/release/nyhetsbrev" ROUNDS=2 benches/send.sh
#                                      two builds in turn against the same sink, each
#                                      backend ROUNDS times (before/after a change)
#
# Needs: postfix (smtp-sink, smtp-source; install with debconf preseed
# `postfix postfix/main_mailer_type select No configuration`), PostgreSQL on
# 127.0.0.1:5432 with trust auth, GNU time; with TLS=1, stunnel4.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-100000}")
connections=${CONNECTIONS:-8}
port=2525
pg_admin=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}

# Given builds to compare are used as they are.
[ -n "${BINS:-}" ] || cargo build --release --quiet
bin=$PWD/target/release/nyhetsbrev
read -r -a bins <<< "${BINS:-$bin}"
for b in "${bins[@]}"; do [ -x "$b" ] || { echo "no binary $b" >&2; exit 1; }; done
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

smtp-sink -u nobody 127.0.0.1:$port 1024 &
sleep 0.5

transports=(plain)
if [ -n "${TLS:-}" ]; then
  # ../shared/recipes/tls-relay-for-benchmarks.md: stunnel terminates implicit TLS on
  # 4650 and hands the plain dialogue to the same smtp-sink.
  tls_port=4650
  # A throwaway CA and a server certificate it signed: rustls refuses a self-signed CA
  # certificate as the server's own (CaUsedAsEndEntity).
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca-key.pem" -out "$work/ca.pem" \
    -days 2 -subj "/CN=benchmark CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/req.pem" \
    -subj "/CN=relay.test" 2>/dev/null
  printf 'subjectAltName=DNS:relay.test,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > "$work/ext"
  openssl x509 -req -in "$work/req.pem" -CA "$work/ca.pem" -CAkey "$work/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$work/ext" -out "$work/cert.pem" 2>/dev/null
  printf 'foreground = yes\npid =\n[smtps]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s\nkey = %s\n' \
    "$tls_port" "$port" "$work/cert.pem" "$work/key.pem" > "$work/stunnel.conf"
  stunnel "$work/stunnel.conf" > "$work/stunnel.log" 2>&1 &
  sleep 0.5
  export NYHETSBREV_SMTP_CA_FILE="$work/ca.pem"
  transports=(plain tls)
  echo "TLS: implicit TLS through $(stunnel -version 2>&1 | grep -o 'stunnel [0-9.]*' | head -n1) on 127.0.0.1:$tls_port"
fi
relay_url() { # transport
  if [ "$1" = tls ]; then echo "smtps://127.0.0.1:$tls_port"; else echo "smtp://127.0.0.1:$port?tls=none"; fi
}
signing() { # transport: the DKIM settings for a dkim run, none otherwise
  if [ "$1" = dkim ]; then
    export NYHETSBREV_DKIM_SELECTOR=bench NYHETSBREV_DKIM_KEY_FILE="$work/dkim.pem"
  else
    unset NYHETSBREV_DKIM_SELECTOR NYHETSBREV_DKIM_KEY_FILE
  fi
}

# Runs `nyhetsbrev` in the work folder against the database in $db_url: the build being
# measured (`setup_bin`), so its own migrations make the schema it sends with.
nb() { (cd "$work" && NYHETSBREV_DATABASE_URL=$db_url "${setup_bin:-$bin}" "$@"); }

contacts_csv() {
  awk -v n="$1" 'BEGIN { print "email,name,organisation";
    for (i = 0; i < n; i++) printf "kontakt%07d@example.org,Kontakt %d,Organisasjon %d\n", i, i, i % 500 }' \
    > "$work/contacts.csv"
}

fresh_db() { # backend
  if [ "$1" = sqlite ]; then
    rm -f "$work"/bench.db*
    db_url="sqlite://$work/bench.db"
  else
    psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS nyhetsbrev_bench WITH (FORCE)" -c "CREATE DATABASE nyhetsbrev_bench"
    db_url="postgres://postgres@127.0.0.1:5432/nyhetsbrev_bench"
  fi
}

export NYHETSBREV_SMTP_URL="smtp://127.0.0.1:$port?tls=none"
export NYHETSBREV_SMTP_CONNECTIONS=$connections
export NYHETSBREV_FROM_ADDRESS=nyhetsbrev@example.no
export NYHETSBREV_BASE_URL=https://nyhetsbrev.example.org
export NYHETSBREV_TOKEN_KEY=${NYHETSBREV_TOKEN_KEY:-benchmark-token-key-0123456789abcdef0123}

if [ -n "${DKIM:-}" ]; then
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/dkim.pem" 2>/dev/null
  transports+=(dkim)
  echo "DKIM: the dkim runs sign every message (rsa-sha256, 2048-bit key)"
fi

printf '| build | transport | backend | contacts | wall s | msg/s | CPU s (user+sys) | peak RSS MB | sent in table |\n'
printf '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n'
: > "$work/rates"
for n in "${sizes[@]}"; do
  [ "$n" -gt 0 ] || continue
  contacts_csv "$n"
  for backend in ${BACKENDS:-sqlite postgres}; do
  for _round in $(seq "${ROUNDS:-1}"); do
  for send_bin in "${bins[@]}"; do
  for transport in "${transports[@]}"; do
    export NYHETSBREV_SMTP_URL; NYHETSBREV_SMTP_URL=$(relay_url "$transport")
    signing "$transport"
    setup_bin=$send_bin
    fresh_db "$backend"
    nb issue import "$PWD/examples/2024-q1.md" >/dev/null
    nb contacts import contacts.csv >/dev/null
    nb issue send 2024-q1 >/dev/null
    profile=()
    if [ -n "${PERF:-}" ]; then
      mkdir -p "$PERF"
      profile=(perf record -q -F 999 -g -o "$PERF/$backend-$transport.data" --)
    fi
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
      "${profile[@]}" env NYHETSBREV_DATABASE_URL="$db_url" "$send_bin" issue send 2024-q1 --follow \
      > "$work/follow.log" 2>&1 </dev/null || { cat "$work/follow.log"; exit 1; }
    read -r wall user sys rss_kb < "$work/time"
    sent=$(nb issue status 2024-q1 --json | sed -n 's/.*"sent":\([0-9]*\).*/\1/p')
    awk -v build="$send_bin" -v t="$transport" -v b="$backend" -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss_kb" -v sent="$sent" \
      'BEGIN { printf "| %s | %s | %s | %d | %.2f | %.0f | %.2f | %.1f | %d |\n", build, t, b, n, w, n / w, u + s, r / 1024, sent }'
    # With two builds, each ratio is taken within one build.
    label=$backend; [ "${#bins[@]}" -eq 1 ] || label="$backend:$send_bin"
    echo "$label $transport $n $wall $user $sys" >> "$work/rates"
  done
  done
  done
  done
done
if [ "${#transports[@]}" -gt 1 ]; then
  # Mean rate and CPU per message per backend and kind of run, then each ÷ plain.
  awk '{ k = $1 " " $2; rate[k] += $3 / $4; cpu[k] += ($5 + $6) / $3; runs[k]++; kinds[$2] = 1; backends[$1] = 1 }
       END { for (b in backends) for (t in kinds) if (t != "plain" && runs[b " " t]) {
               p = b " plain"; k = b " " t
               printf "%s ÷ plain on %s: %.0f ÷ %.0f msg/s = %.2f; CPU a message %.0f against %.0f µs (+%.0f µs)\n",
                 t, b, rate[k] / runs[k], rate[p] / runs[p], (rate[k] / runs[k]) / (rate[p] / runs[p]),
                 cpu[k] / runs[k] * 1e6, cpu[p] / runs[p] * 1e6, (cpu[k] / runs[k] - cpu[p] / runs[p]) * 1e6 } }' "$work/rates"
fi
if [ -n "${DKIM:-}" ]; then
  openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { printf "openssl speed rsa2048, same run: %.0f µs a signature\n", $4 * 1e6 }'
fi

# The sink's own ceiling: smtp-source at our message size, over as many connections.
size=$( (cd "$work" && NYHETSBREV_DATABASE_URL="sqlite://$work/size.db" "$bin" issue import "$OLDPWD/examples/2024-q1.md" >/dev/null \
  && env -u NYHETSBREV_SMTP_URL NYHETSBREV_DATABASE_URL="sqlite://$work/size.db" "$bin" issue test-send 2024-q1 --to kontakt@example.org >/dev/null \
  && wc -c < "$(ls outbox/*.eml | head -n1)") )
count=50000
start=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$work/source-time" \
  smtp-source -s "$connections" -l "$size" -m "$count" -f nyhetsbrev@example.no -t kontakt@example.org 127.0.0.1:$port
end=$(date +%s.%N)
# The CPU a message costs the blaster, beside what it cost `issue send` above (the issue's
# goal: no more than smtp-source).
awk -v c="$count" '{ printf "smtp-source CPU a message: %.0f µs (user %.0f, system %.0f)\n", ($1 + $2) / c * 1e6, $1 / c * 1e6, $2 / c * 1e6 }' "$work/source-time"
awk '{ printf "issue send CPU a message (%s %s): %.0f µs (user %.0f, system %.0f)\n", $1, $2, ($5 + $6) / $3 * 1e6, $5 / $3 * 1e6, $6 / $3 * 1e6 }' "$work/rates"
awk -v c="$count" -v s="$start" -v e="$end" -v size="$size" -v k="$connections" \
  'BEGIN { printf "\nsmtp-source ceiling: %d messages of %d bytes over %d connections in %.2f s = %.0f msg/s\n", c, size, k, e - s, c / (e - s) }'

if [ -n "${RATE_TEST:-}" ]; then
  # A configured rate of 20 a second, held over a minute: 1,300 contacts, then the
  # messages sent within the first 60 s after the first one.
  contacts_csv 1300
  fresh_db sqlite
  nb issue import "$PWD/examples/2024-q1.md" >/dev/null
  nb contacts import contacts.csv >/dev/null
  nb issue send 2024-q1 >/dev/null
  NYHETSBREV_SEND_RATE=20 NYHETSBREV_DATABASE_URL="$db_url" "$bin" issue send 2024-q1 --follow >/dev/null 2>&1 </dev/null
  python3 - "$work/bench.db" <<'EOF'
import sqlite3, sys
times = sorted(t for (t,) in sqlite3.connect(sys.argv[1]).execute("SELECT sent_at FROM deliveries WHERE status = 'sent'"))
first = times[0]
in_minute = sum(1 for t in times if t < first + 60_000)
print(f"rate 20/s: {in_minute} messages in the first 60 s = {in_minute / 60:.2f}/s "
      f"({(in_minute / 60 / 20 - 1) * 100:+.1f}% from 20/s)")
EOF
fi
