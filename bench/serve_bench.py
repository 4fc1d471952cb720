#!/usr/bin/python3
"""The serving surface's benchmark: it prints numbers and fails on nothing but errors.

    bench/serve_bench.py [BUILD_DIR] [--only NAME[,NAME]]

NAME is one of latency, rest, clients:

latency  `assay run` on stdin (NDJSON, 1 s windows, no lateness); for each of 300
         windows the test writes the window's rows, then one row of the next window,
         which closes it, and times from that write to the window's score event on a
         WebSocket client (python3-websockets). This is an upper bound on window close
         -> event: it includes the pipe, parsing and the fold of the closing row.
rest     wrk, 2 threads and 50 connections for 10 s each, on GET /api/v1/score,
         /api/v1/status, /api/v1/scores?limit=100 and /metrics of a running job: p50,
         p95, p99 latency and requests/s (a wrk Lua script prints p95).
clients  the same 1M-row stream (200 windows of 5000 rows) through `assay run` from a
         pipe, with no WebSocket client, with 20 lean clients (build/bench/assay-ws-reader:
         one epoll thread that counts frames, standing in for browsers on other
         machines) and with 20 python3-websockets clients (niced; they decode every
         frame and take CPU from the pipeline on the same two cores); rows/s over the
         active span (--summary), best and median of BENCH_RUNS (5) interleaved runs,
         with the CPU seconds of the server thread and of the clients' process.
         BENCH_KINDS=none,lean,python picks the cases; BENCH_WRAP prefixes assay's
         command line (e.g. perf record).
"""
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import websockets

args = sys.argv[1:]
only = None
if "--only" in args:
    i = args.index("--only")
    only = set(args[i + 1].split(","))
    del args[i:i + 2]
BUILD = os.path.abspath(args[0] if args and args[0] != "--clients" else "build")
ASSAY = os.path.join(BUILD, "src", "assay")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def config(work, window="1s", extra=""):
    path = os.path.join(work, "bench.yaml")
    with open(path, "w") as f:
        f.write("""asset: orders
source: {file: '-', format: ndjson}
columns:
  - {name: order_id, type: int}
  - {name: amount, type: float}
  - {name: created_at, type: timestamp}
event_time: created_at
window: {size: %s, lateness: 0s}
rules:
  - {name: email_not_null, column: email, check: not_null, threshold: 0.05}
  - {name: amount_in_range, column: amount, check: in_range, min: 0, threshold: 0.02}
  - {name: currency_in_set, column: currency, check: in_set, values: [USD, EUR, GBP, JPY], threshold: 0.05}
sinks:
  scores: {file: scores.ndjson}
  alerts: {file: alerts.ndjson}
http: {listen: '127.0.0.1:0'}
%s""" % (window, extra))
    return path


def start(cfg, summary=None):
    cmd = os.environ.get("BENCH_WRAP", "").split() + [ASSAY, "run", "-c", cfg, "--threads", "2"]
    cmd += ["--summary", summary] if summary else []
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=False)
    line = p.stderr.readline().decode()
    m = re.search(r"serving http://([0-9.]+:\d+)/", line)
    if not m:
        sys.exit("assay did not start: " + line)
    threading.Thread(target=lambda: p.stderr.read(), daemon=True).start()
    return p, m.group(1)


def gen(work, rows, rate, name):
    path = os.path.join(work, name)
    subprocess.run([ASSAY, "gen", "--rows", str(rows), "--rate", str(rate), "--seed", "3", "--late", "0",
                    "--faults", "all=0", "--format", "ndjson", "-o", path], check=True)
    return path


def windows_of(path, per):
    with open(path, "rb") as f:
        lines = f.readlines()
    return [lines[i:i + per] for i in range(0, len(lines), per)]


def bench_latency(work):
    per = 200
    src = gen(work, per * 302, per, "lat.ndjson")
    wins = windows_of(src, per)
    p, addr = start(config(work))
    got = {}
    ready = threading.Event()

    async def client():
        async with websockets.connect("ws://%s/api/v1/stream" % addr, max_size=None) as ws:
            ready.set()
            async for m in ws:
                e = json.loads(m)
                if e["event"] == "score":
                    got[e["data"]["window_start"]] = time.perf_counter()
                if len(got) >= 300:
                    return
    t = threading.Thread(target=lambda: asyncio.run(client()), daemon=True)
    t.start()
    ready.wait(10)
    lat = []
    p.stdin.write(b"".join(wins[0][:-1]))
    p.stdin.flush()
    for k in range(300):
        # the rest of window k... then the first row of window k + 1 closes window k
        closing = wins[k + 1][0]
        p.stdin.write(b"".join(wins[k][-1:]))
        p.stdin.flush()
        time.sleep(0.005)  # let the window's own rows arrive first
        t0 = time.perf_counter()
        p.stdin.write(closing)
        p.stdin.flush()
        want = json.loads(wins[k][0])["created_at"][:19] + "Z"
        deadline = t0 + 5
        while want not in got and time.perf_counter() < deadline:
            time.sleep(0.0002)
        if want not in got:
            sys.exit("latency: no score event for the window starting %s" % want)
        lat.append(got[want] - t0)
        p.stdin.write(b"".join(wins[k + 1][1:-1]))
        p.stdin.flush()
    p.stdin.close()
    p.wait(60)
    lat.sort()
    q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))] * 1e3
    print("latency: closing row written -> score event on a WebSocket client, %d windows: "
          "p50 %.2f ms, p99 %.2f ms, max %.2f ms" % (len(lat), q(0.50), q(0.99), lat[-1] * 1e3))


def bench_rest(work):
    src = gen(work, 60000, 100, "rest.ndjson")
    p, addr = start(config(work, "60s"))
    with open(src, "rb") as f:
        p.stdin.write(f.read())
    p.stdin.flush()
    base = "http://" + addr
    deadline = time.time() + 30
    import urllib.request
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/api/v1/score", timeout=2) as r:
                if r.status == 200:
                    break
        except Exception:
            time.sleep(0.05)
    lua = os.path.join(work, "p95.lua")
    with open(lua, "w") as f:
        f.write('done = function(s, latency, r)\n'
                '  io.write(string.format("P %.3f %.3f %.3f %.1f %d\\n", latency:percentile(50)/1000,'
                ' latency:percentile(95)/1000, latency:percentile(99)/1000, s.requests/(s.duration/1e6),'
                ' s.errors.status + s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout))\n'
                'end\n')
    for path in ("/api/v1/score", "/api/v1/status", "/api/v1/scores?limit=100", "/metrics"):
        r = subprocess.run(["wrk", "-t2", "-c50", "-d10s", "-s", lua, base + path], capture_output=True, text=True)
        m = re.search(r"^P (\S+) (\S+) (\S+) (\S+) (\d+)", r.stdout, re.M)
        if not m:
            sys.exit("wrk: " + r.stdout + r.stderr)
        print("rest: GET %-26s 50 connections: p50 %s ms, p95 %s ms, p99 %s ms, %s req/s, %s errors"
              % (path, m.group(1), m.group(2), m.group(3), m.group(4), m.group(5)))
    p.stdin.close()
    p.wait(60)


def clients_main(addr, n, out):
    """--clients ADDR N OUT: N WebSocket clients that read everything; OUT gets 'ready'
    once all are connected, then the smallest event count when the server closes."""
    counts = [0] * n

    async def client(i, up):
        async with websockets.connect("ws://%s/api/v1/stream" % addr, max_size=None) as ws:
            up.set()
            try:
                async for m in ws:
                    counts[i] += 1
            except websockets.ConnectionClosed:
                pass

    async def run():
        ups = [asyncio.Event() for _ in range(n)]
        tasks = [asyncio.create_task(client(i, ups[i])) for i in range(n)]
        for u in ups:
            await u.wait()
        print("ready", flush=True)
        await asyncio.gather(*tasks)
    asyncio.run(run())
    print(min(counts), flush=True)


def cpu_seconds(stat_path):
    """(name, user + system CPU seconds) from a /proc .../stat file."""
    st = open(stat_path).read()
    v = st[st.rindex(")") + 2:].split()
    return st[st.index("(") + 1:st.rindex(")")], (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def bench_clients(work):
    per = 5000
    src = gen(work, 200 * per, per, "tp.ndjson")
    with open(src, "rb") as f:
        data = f.read()

    def one(kind):
        summary = os.path.join(work, "sum.json")
        p, addr = start(config(work), summary)
        c = None
        if kind == "python":  # niced: browsers on other machines would not compete
            c = subprocess.Popen(["nice", "-n", "19", sys.executable, os.path.abspath(__file__),
                                  "--clients", addr, "20"], stdout=subprocess.PIPE, text=True)
        elif kind == "lean":
            c = subprocess.Popen([os.path.join(BUILD, "bench", "assay-ws-reader"), addr, "20"],
                                 stdout=subprocess.PIPE, text=True)
        if c:
            if c.stdout.readline().strip() != "ready":
                sys.exit("clients: the WebSocket clients did not connect")
        p.stdin.write(data)
        p.stdin.close()
        cpu = {}
        client_cpu = [0.0]
        while p.poll() is None:  # CPU seconds per thread, last seen before it exits
            try:
                for t in os.listdir("/proc/%d/task" % p.pid):
                    cpu[t] = cpu_seconds("/proc/%d/task/%s/stat" % (p.pid, t))
            except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
                pass
            if c:
                try:
                    client_cpu[0] = cpu_seconds("/proc/%d/stat" % c.pid)[1]
                except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
                    pass
            time.sleep(0.02)
        p.wait(300)
        http_cpu = sum(c_ for n_, c_ in cpu.values() if n_ == "assay-http")
        all_cpu = sum(c_ for n_, c_ in cpu.values())
        got = int(c.stdout.readline()) if c else 0
        if c:
            c.wait(60)
        s = json.load(open(summary))
        return s["rows_per_second"], got, http_cpu, all_cpu, client_cpu[0]
    kinds = tuple(os.environ.get("BENCH_KINDS", "none,lean,python").split(","))
    runs = {k: [] for k in kinds}
    for _ in range(int(os.environ.get("BENCH_RUNS", "5"))):  # interleaved: drift hits all
        for k in kinds:
            runs[k].append(one(k))
    label = {"none": "no WebSocket client", "lean": "20 lean clients (assay-ws-reader)",
             "python": "20 python3-websockets clients"}
    best = {k: max(r[0] for r in runs[k]) for k in kinds}
    med = {k: statistics.median(r[0] for r in runs[k]) for k in kinds}
    for k in kinds:
        r = runs[k]
        print("clients: %-34s best %.0f rows/s, median %.0f (%d runs; 200 windows of %d rows; "
              "each client got >= %d events); assay-http %.2f of %.2f CPU s; clients' process "
              "%.2f CPU s"
              % (label[k], best[k], med[k], len(r), per, min(x[1] for x in r),
                 statistics.median(x[2] for x in r), statistics.median(x[3] for x in r),
                 statistics.median(x[4] for x in r)))
    for k in ("lean", "python"):
        if k not in kinds or "none" not in kinds:
            continue
        print("clients: with %s the pipeline runs at %.1f %% of its rate with none (best; "
              "medians %.1f %%)" % (label[k], 100 * best[k] / best["none"],
                                    100 * med[k] / med["none"]))


def main():
    if args[:1] == ["--clients"]:
        clients_main(args[1], int(args[2]), None)
        return
    work = tempfile.mkdtemp(prefix="assay-serve-bench-")
    for name, fn in (("latency", bench_latency), ("rest", bench_rest), ("clients", bench_clients)):
        if only is None or name in only:
            fn(work)


if __name__ == "__main__":
    main()
