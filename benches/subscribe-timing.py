#!/usr/bin/env python3
"""Does the subscribe form's answer time tell whether an address is on the list?

    benches/subscribe-timing.py BINARY [REQUESTS]     default 200 of each kind

Starts BINARY serve on a fresh SQLite database, sending through a relay on loopback
that takes 200 ms to answer each SMTP command (as a real relay on the internet might),
then POSTs /subscribe alternately for a confirmed address and for new ones. Each
request comes from its own 127.0.0.x source address, so the per-client limit holds
nobody back. Prints median and 90th percentile per kind and their ratio. Run it with
the build before a change and after it, in the same session.
"""
import http.client, os, socket, statistics, subprocess, sys, tempfile, threading, time

binary = os.path.abspath(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def slow_relay(port):
    server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port)); server.listen(64)
    def serve(conn):
        f = conn.makefile("rb")
        def say(line):
            time.sleep(0.2); conn.sendall(line)
        say(b"220 slow ESMTP\r\n")
        data = False
        for line in f:
            if data:
                if line == b".\r\n":
                    data = False; say(b"250 queued\r\n")
                continue
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO"): say(b"250-slow\r\n250 8BITMIME\r\n")
            elif cmd == b"DATA": say(b"354 go\r\n"); data = True
            elif cmd == b"QUIT": say(b"221 bye\r\n"); break
            else: say(b"250 ok\r\n")
        conn.close()
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()

work = tempfile.mkdtemp()
relay_port, web_port = free_port(), free_port()
threading.Thread(target=slow_relay, args=(relay_port,), daemon=True).start()
env = dict(os.environ,
           NYHETSBREV_DATABASE_URL=f"sqlite://{work}/bench.db",
           NYHETSBREV_BIND=f"127.0.0.1:{web_port}",
           NYHETSBREV_SMTP_URL=f"smtp://127.0.0.1:{relay_port}?tls=none",
           NYHETSBREV_SMTP_TIMEOUT="10", NYHETSBREV_LEASE_TIME="30",
           NYHETSBREV_CONFIRMATIONS_PER_HOUR="100000", RUST_LOG="warn")
subprocess.run([binary, "contacts", "add", "kjent@example.org", "--note", "benchmark"], env=env, cwd=work,
               check=True, stdout=subprocess.DEVNULL)
server = subprocess.Popen([binary, "serve"], env=env, cwd=work, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", web_port), 0.2).close(); break
        except OSError:
            time.sleep(0.1)
    times = {"known": [], "new": []}
    for i in range(2 * n):
        kind = "known" if i % 2 == 0 else "new"
        email = "kjent@example.org" if kind == "known" else f"ny{i}@example.org"
        source = f"127.0.{1 + i // 250}.{1 + i % 250}"
        conn = http.client.HTTPConnection("127.0.0.1", web_port, source_address=(source, 0), timeout=30)
        body = f"email={email.replace('@', '%40')}"
        start = time.perf_counter()
        conn.request("POST", "/subscribe", body, {"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse(); response.read()
        elapsed = time.perf_counter() - start
        conn.close()
        assert response.status == 200, (response.status, kind)
        times[kind].append(elapsed * 1000)
    def q(xs, p): return sorted(xs)[int(p * (len(xs) - 1))]
    for kind, xs in times.items():
        print(f"{kind:>5}: median {statistics.median(xs):7.2f} ms   p90 {q(xs, 0.9):7.2f} ms   ({len(xs)} requests)")
    ratio = statistics.median(times["new"]) / statistics.median(times["known"])
    print(f"new / known median: {ratio:.2f}")
finally:
    server.terminate(); server.wait()
