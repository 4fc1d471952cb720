#!/usr/bin/python3
"""The serving surface of `assay run` against real clients (docs/serving.md).

Usage: serve.py ASSAY CASE [NODE_TEST_DIR]. Each case starts `assay run` on a followed
CSV file with `http.listen: 127.0.0.1:0` (the port is read from its stderr), appends
generated rows so that windows close by event time, and checks what the surface says
against what the run wrote to its file sinks:

  api         every REST endpoint and every error status (400 401 403 404 405 409 413
              429), the token and Origin checks, acks and resolves reaching the alert
              sink as records, a WebSocket client (python3-websockets) receiving every
              score and alert event in order, a client that stops reading being
              disconnected while the others and the pipeline go on
  restart     score and alert history answered from SQLite after a restart, before the
              new run has closed a window
  prometheus  `promtool check metrics` on a live scrape; a real prometheus server
              scraping assay, the score read back through its query API; every metric
              the Grafana dashboard (examples/grafana) queries exists
  page        the live page in Debian's chromium through playwright-core (tests/web)

Nothing sleeps to make time pass: windows close because later rows arrive; waits poll
a condition with a bound. Every process started here is stopped here.
"""
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import websockets

ASSAY = os.path.abspath(sys.argv[1])
CASE = sys.argv[2]
ROOT = os.environ.get("ASSAY_SOURCE_ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKEN = "s3cret-token-for-tests"
RATE = 2                  # rows per second of event time
PER_WINDOW = 60 * RATE    # rows per 60 s window
ALERT_EVENTS = ("alert", "alert_ack", "alert_resolved")
procs = []


def fail(msg):
    print("FAIL", CASE + ":", msg, flush=True)
    sys.exit(1)


def log(msg):
    print(CASE + ":", msg, flush=True)


def wait_for(what, cond, timeout=60, proc=None):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = cond()
        if v:
            return v
        if proc is not None and proc.p.poll() is not None:
            fail("assay exited (%d) while waiting for %s:\n%s" % (proc.p.returncode, what, proc.err()[-3000:]))
        time.sleep(0.02)
    fail("timed out after %d s waiting for %s" % (timeout, what))


class Assay:
    """`assay run -c CFG`, its stderr collected, its address read from it."""

    def __init__(self, cfg):
        self.started = time.time()
        self.p = subprocess.Popen([ASSAY, "run", "-c", cfg, "--threads", "2"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(self.p)
        self.lines = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        m = wait_for("the serving line on stderr",
                     lambda: next((re.search(r"serving http://([0-9.]+:\d+)/", l) for l in self.lines
                                   if "serving http://" in l), None), 30, self)
        self.addr = m.group(1)
        self.base = "http://" + self.addr

    def _read(self):
        for line in self.p.stderr:
            self.lines.append(line)

    def err(self):
        return "".join(self.lines)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(10)
            fail("assay did not stop within 60 s of SIGTERM")
        self.t.join(10)
        if rc != 0:
            fail("assay exited %d after SIGTERM:\n%s" % (rc, self.err()[-3000:]))


def http(base, path, method="GET", headers=None, body=None, timeout=10):
    """(status, headers, body bytes) of one request, errors included."""
    req = urllib.request.Request(base + path, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def get_json(base, path, want=200, **kw):
    st, h, b = http(base, path, **kw)
    if st != want:
        fail("%s %s: status %d, expected %d: %s" % (kw.get("method", "GET"), path, st, want, b[:300]))
    if "application/json" not in h.get("content-type", ""):
        fail("%s: content type %r is not JSON" % (path, h.get("content-type")))
    return json.loads(b)


def expect_error(base, path, status, code, method="GET", headers=None, body=None):
    st, h, b = http(base, path, method=method, headers=headers, body=body)
    if st != status:
        fail("%s %s: status %d, expected %d (%s)" % (method, path, st, status, b[:300]))
    try:
        e = json.loads(b)["error"]
    except Exception:
        fail("%s %s: error body is not {error: ...}: %r" % (method, path, b[:300]))
    if e.get("code") != code or not e.get("message") or "details" not in e:
        fail("%s %s: error %r, expected code %r with a message and details" % (method, path, e, code))
    return h, e


def records(path):
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            if line.endswith("\n"):
                out.append(json.loads(line))
    return out


class Stream:
    """Rows of a generated orders stream (NDJSON: one row per line), appended to the
    followed input window by window of event time."""

    def __init__(self, work, windows, faults):
        self.src = os.path.join(work, "all.ndjson")
        subprocess.run([ASSAY, "gen", "--rows", str(windows * PER_WINDOW), "--rate", str(RATE),
                        "--seed", "5", "--late", "0", "--faults", faults, "-o", self.src], check=True)
        self.rows = []  # (window index, line)
        with open(self.src) as f:
            for line in f:
                try:  # a row without a usable time goes with the one before it
                    ts = json.loads(line)["created_at"]
                    w = (int(ts[11:13]) * 3600 + int(ts[14:16]) * 60 + int(ts[17:19]) +
                         86400 * (int(ts[8:10]) - 1)) // 60
                except Exception:
                    w = -1
                prev = self.rows[-1][0] if self.rows else 0
                if not prev <= w <= prev + 1:  # stale or odd times (gen's faults) ride along
                    w = prev
                self.rows.append((w, line))
        self.input = os.path.join(work, "in.ndjson")
        open(self.input, "w").close()
        self.at = 0

    def append_windows(self, upto):
        """Rows of windows [.., upto): then windows before upto - 1 close by event time."""
        end = self.at
        while end < len(self.rows) and self.rows[end][0] < upto:
            end += 1
        with open(self.input, "a") as f:
            f.write("".join(l for _, l in self.rows[self.at:end]))
        self.at = end


def write_config(work, extra=""):
    token = os.path.join(work, "token")
    with open(token, "w") as f:
        f.write(TOKEN + "\n")
    cfg = os.path.join(work, "assay.yaml")
    with open(cfg, "w") as f:
        f.write("""asset: orders
source: {file: in.ndjson, follow: true}
columns:
  - {name: order_id, type: int}
  - {name: customer_id, type: int}
  - {name: amount, type: float}
  - {name: created_at, type: timestamp}
event_time: created_at
window: {size: 60s, lateness: 5s, idle: 1h}
rules:
  - {name: email_not_null, column: email, check: not_null, threshold: 0.05, severity: high}
  - {name: currency_in_set, column: currency, check: in_set, values: [USD, EUR, GBP, JPY], threshold: 0.05}
  - {name: amount_in_range, column: amount, check: in_range, min: 0, threshold: 0.02}
contracts:
  - {name: orders_sla, owner: data, min_score: 90}
sinks:
  scores: {file: scores.ndjson}
  alerts: {file: alerts.ndjson}
state: {dir: st, interval: 1s}
http: {listen: '127.0.0.1:0', token_file: token, rate_limit: 10}
""" + extra)
    return cfg


# ---------------------------------------------------------------------------------
# A WebSocket client that keeps every event, on its own thread
# ---------------------------------------------------------------------------------

class WsClient:
    def __init__(self, url, slow=False, origin=None):
        self.url, self.slow, self.origin = url, slow, origin
        self.events, self.closed, self.error = [], None, None
        self.connected = threading.Event()
        self.stop = False
        self.t = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.t.start()

    async def _run(self):
        sock = None
        if self.slow:  # a tiny receive buffer so that the server's writes back up quickly
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
            host, port = self.url.split("//")[1].split("/")[0].split(":")
            sock.connect((host, int(port)))
        try:
            kw = {"origin": self.origin} if self.origin else {}
            async with websockets.connect(self.url, sock=sock, max_size=None, max_queue=None if not self.slow else 1,
                                          ping_interval=None, **kw) as ws:
                self.connected.set()
                if self.slow:
                    while not self.stop:  # never reads until told
                        await asyncio.sleep(0.05)
                    try:
                        async for m in ws:
                            pass
                    except websockets.ConnectionClosed as e:
                        self.closed = e
                    return
                try:
                    while not self.stop:
                        try:
                            m = await asyncio.wait_for(ws.recv(), 0.2)
                        except asyncio.TimeoutError:
                            continue
                        self.events.append(json.loads(m))
                except websockets.ConnectionClosed as e:
                    self.closed = e
        except Exception as e:  # refused handshakes land here
            self.error = e
            self.connected.set()

    def close(self):
        self.stop = True
        self.t.join(20)


# ---------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------

def check_ws_events(events, scores, alerts):
    """Every score record and alert record, as the sinks have them, in order."""
    got_scores = [e["data"] for e in events if e["event"] == "score"]
    # the first event may repeat the last window before the client connected
    ids = [s["id"] for s in got_scores]
    want = [s["id"] for s in scores]
    if ids[:1] and ids[0] not in want[:1] and len(ids) == len(want) + 1:
        ids = ids[1:]
    if ids != want:
        fail("WebSocket score events %s... (%d) differ from the score sink's %s... (%d)"
             % (ids[:5], len(ids), want[:5], len(want)))
    stats = [e["data"] for e in events if e["event"] == "stats"]
    if not stats or any(set(x) < {"rows", "bad_rows", "late_rows", "rows_per_second", "lag_messages"} for x in stats):
        fail("no stats events with rows, bad_rows, late_rows, rows_per_second, lag_messages")
    if [x["rows"] for x in stats] != sorted(x["rows"] for x in stats):
        fail("stats events count rows backwards")
    events = [e for e in events if e["event"] != "stats"]
    for e in events:
        if e["event"] == "score":
            continue
        d = e["data"]
        kind = {"firing": "alert", "acknowledged": "alert_ack", "resolved": "alert_resolved"}[d["state"]]
        if e["event"] != kind:
            fail("event %r carries an alert record in state %r" % (e["event"], d["state"]))
    got_alerts = [(e["data"]["id"], e["data"]["state"]) for e in events if e["event"] != "score"]
    want_alerts = [(a["id"], a["state"]) for a in alerts]
    if got_alerts != want_alerts:
        fail("WebSocket alert events %s differ from the alert sink's %s" % (got_alerts, want_alerts))
    # order across kinds: each alert event comes after the score of the window it judged
    for i, e in enumerate(events):
        if e["event"] == "alert":
            w = e["data"]["window_start"]
            sc = [j for j, x in enumerate(events) if x["event"] == "score" and x["data"]["window_start"] == w]
            if not sc or sc[-1] > i:
                fail("alert %s reached the client before the score of its window" % e["data"]["id"])
    return len(got_scores), len(got_alerts)


def case_api(work):
    stream = Stream(work, 420, "null_email=0.5@4-6,bad_currency=0.5@10-419")
    cfg = write_config(work)
    a = Assay(cfg)
    base = a.base
    scores_path, alerts_path = os.path.join(work, "scores.ndjson"), os.path.join(work, "alerts.ndjson")

    # before any data
    st, h, b = http(base, "/livez")
    if st != 200:
        fail("/livez: %d" % st)
    expect_error(base, "/api/v1/score", 404, "no_window")
    ws = WsClient("ws://%s/api/v1/stream" % a.addr)
    ws.connected.wait(10)
    if ws.error:
        fail("WebSocket connect: %r" % ws.error)

    for upto in (5, 10, 15, 20):
        stream.append_windows(upto)
        wait_for("windows before %d to close" % (upto - 1), lambda: len(records(scores_path)) >= upto - 1, 60, a)
    wait_for("readyz 200", lambda: http(base, "/readyz")[0] == 200, 30, a)
    scores = records(scores_path)
    log("%d windows closed, %d alert records" % (len(scores), len(records(alerts_path))))

    # REST: the last window
    wait_for("/api/v1/score to reach the last window",
             lambda: get_json(base, "/api/v1/score")["id"] == scores[-1]["id"], 10, a)
    if get_json(base, "/api/v1/score") != scores[-1]:
        fail("/api/v1/score differs from the last score record")
    dims = get_json(base, "/api/v1/dimensions")
    for d in dims["dimensions"]:
        want = scores[-1]["dimensions"].get(d["name"])
        if (want is None) != (d["score"] is None) or (want is not None and abs(want - d["score"]) > 1e-9):
            fail("/dimensions %s = %r, the record says %r" % (d["name"], d["score"], want))
    if dims["overall"] != scores[-1]["overall"]:
        fail("/dimensions overall %r != %r" % (dims["overall"], scores[-1]["overall"]))
    rules = get_json(base, "/api/v1/rules")["rules"]
    for r in rules:
        tot_f = sum(x["failed"] for s in scores for x in s["rules"] if x["name"] == r["name"])
        tot_e = sum(x["evaluated"] for s in scores for x in s["rules"] if x["name"] == r["name"])
        last = next(x for x in scores[-1]["rules"] if x["name"] == r["name"])
        if (r["total"]["failed"], r["total"]["evaluated"]) != (tot_f, tot_e):
            fail("/rules %s totals %r, the records sum to failed %d evaluated %d" % (r["name"], r["total"], tot_f, tot_e))
        if (r["window"]["failed"], r["window"]["evaluated"]) != (last["failed"], last["evaluated"]):
            fail("/rules %s window %r != the last record's %r" % (r["name"], r["window"], last))
    prof = get_json(base, "/api/v1/profile")
    if prof["columns"] != scores[-1]["columns"]:
        fail("/profile columns differ from the last score record's")
    # live numbers are copied from the pipeline's loop at least every 100 ms
    wait_for("/status to cover the windows written",
             lambda: (lambda st: st["windows"] >= len(scores) and st["rows"] >= len(scores) * PER_WINDOW
                      and st["ready"])(get_json(base, "/api/v1/status")), 10, a)

    # history
    all_scores = get_json(base, "/api/v1/scores?limit=10000")
    if [s["id"] for s in all_scores["scores"]] != [s["id"] for s in scores] or all_scores["count"] != len(scores):
        fail("/scores lists %d, the sink has %d" % (all_scores["count"], len(scores)))
    frm, to = scores[3]["window_start"], scores[8]["window_start"]
    part = get_json(base, "/api/v1/scores?from=%s&to=%s" % (frm, to))["scores"]
    if [s["id"] for s in part] != [s["id"] for s in scores[3:8]]:
        fail("/scores?from=&to= is not the windows in [from, to)")
    lim = get_json(base, "/api/v1/scores?limit=3")["scores"]
    latest = get_json(base, "/api/v1/scores?limit=3&latest=true")["scores"]
    if [s["id"] for s in lim] != [s["id"] for s in scores[:3]] or \
            [s["id"] for s in latest] != [s["id"] for s in scores[-3:]]:
        fail("/scores limit / latest are not the first / last windows")

    alerts = records(alerts_path)
    active = {}
    for r in alerts:
        if r["state"] == "resolved":
            active.pop(r["id"], None)
        else:
            active[r["id"]] = r
    got = get_json(base, "/api/v1/alerts?state=active")
    if sorted(x["id"] for x in got["alerts"]) != sorted(active) or got["count"] != len(active):
        fail("/alerts?state=active %s, the sink says %s" % ([x["id"] for x in got["alerts"]], list(active)))
    if not active:
        fail("no alert is active after the bad_currency incident started")
    resolved = [r for r in alerts if r["state"] == "resolved"]
    if not resolved:
        fail("the null_email incident did not resolve")
    if get_json(base, "/api/v1/alerts/" + resolved[0]["id"]) != resolved[0]:
        fail("/alerts/{id} of a resolved alert differs from its last record")
    high = get_json(base, "/api/v1/alerts?severity=high")["alerts"]
    if any(x["severity"] != "high" for x in high) or not high:
        fail("/alerts?severity=high: %r" % [x["severity"] for x in high])
    contracts = get_json(base, "/api/v1/contracts")["contracts"]
    if [c["name"] for c in contracts] != ["orders_sla"] or contracts[0]["min_score"] != 90:
        fail("/contracts: %r" % contracts)
    cact = [x for x in active.values() if x["kind"] == "contract"]
    if contracts[0]["met"] != (not cact) or sorted(contracts[0]["violations"]) != sorted(x["id"] for x in cact):
        fail("/contracts met %r violations %r, active contract alerts %r" % (contracts[0]["met"], contracts[0]["violations"], [x["id"] for x in cact]))

    # errors
    expect_error(base, "/api/v1/nope", 404, "not_found")
    expect_error(base, "/api/v1/alerts/0123456789abcdef", 404, "not_found")
    expect_error(base, "/api/v1/scores?from=yesterday", 400, "bad_query")
    expect_error(base, "/api/v1/scores?limit=0", 400, "bad_query")
    expect_error(base, "/api/v1/scores?limt=5", 400, "bad_query")
    expect_error(base, "/api/v1/alerts?state=firng", 400, "bad_query")
    expect_error(base, "/api/v1/alerts?severity=urgent", 400, "bad_query")
    expect_error(base, "/api/v1/score?x=1", 400, "bad_query")
    h, _ = expect_error(base, "/api/v1/score", 405, "method_not_allowed", method="POST", body=b"")
    if "GET" not in h.get("allow", ""):
        fail("405 without an Allow header naming GET: %r" % h)
    h, _ = expect_error(base, "/api/v1/alerts/%s/ack" % next(iter(active)), 405, "method_not_allowed")
    if h.get("allow") != "POST":
        fail("405 on GET .../ack: Allow %r" % h.get("allow"))
    expect_error(base, "/api/v1/score", 405, "method_not_allowed", method="DELETE")

    aid = sorted(active, key=lambda i: active[i]["fired_at"])[0]
    auth = {"Authorization": "Bearer " + TOKEN}
    h, _ = expect_error(base, "/api/v1/alerts/%s/ack" % aid, 401, "unauthorized", method="POST", body=b"")
    if not h.get("www-authenticate", "").startswith("Bearer"):
        fail("401 without WWW-Authenticate: Bearer")
    expect_error(base, "/api/v1/alerts/%s/ack" % aid, 401, "unauthorized", method="POST", body=b"",
                 headers={"Authorization": "Bearer wrong"})
    expect_error(base, "/api/v1/alerts/%s/ack" % aid, 403, "forbidden_origin", method="POST", body=b"",
                 headers=dict(auth, Origin="http://evil.example"))
    expect_error(base, "/api/v1/alerts/%s/ack" % aid, 413, "too_large", method="POST",
                 body=b"x" * (65 * 1024), headers=auth)
    if get_json(base, "/api/v1/alerts/" + aid)["state"] != "firing":
        fail("a refused ack changed the alert")

    # ack: the record reaches the alert sink, the feed and the history
    r = get_json(base, "/api/v1/alerts/%s/ack" % aid, method="POST", body=b"",
                 headers=dict(auth, Origin=base))
    if r["alert"]["state"] != "acknowledged" or r["alert"]["id"] != aid or not r["alert"]["acked"]:
        fail("ack answered %r" % r)
    acks = [x for x in records(alerts_path) if x["id"] == aid and x["state"] == "acknowledged"]
    if len(acks) != 1 or acks[0]["type"] != "alert_ack":
        fail("the ack did not reach the alert sink as one alert_ack record: %r" % acks)
    if get_json(base, "/api/v1/alerts/" + aid)["state"] != "acknowledged":
        fail("/alerts/{id} after the ack is not acknowledged")
    if aid not in [x["id"] for x in get_json(base, "/api/v1/alerts?state=acknowledged")["alerts"]]:
        fail("state=acknowledged does not list the acked alert")
    r2 = get_json(base, "/api/v1/alerts/%s/ack" % aid, method="POST", body=b"", headers=auth)
    if r2["alert"]["state"] != "acknowledged" or \
            len([x for x in records(alerts_path) if x["id"] == aid and x["state"] == "acknowledged"]) != 1:
        fail("a second ack wrote another record")
    r = get_json(base, "/api/v1/alerts/%s/resolve" % aid, method="POST", body=b"", headers=auth)
    if r["alert"]["state"] != "resolved":
        fail("resolve answered %r" % r)
    res = [x for x in records(alerts_path) if x["id"] == aid and x["state"] == "resolved"]
    if len(res) != 1 or "by hand" not in res[0]["explanation"]:
        fail("the resolve did not reach the alert sink as one resolved record: %r" % res)
    expect_error(base, "/api/v1/alerts/%s/resolve" % aid, 409, "resolved", method="POST", body=b"", headers=auth)
    wait_for("the feed to carry the ack and the resolve",
             lambda: [e["event"] for e in ws.events if e["event"] in ALERT_EVENTS and e["data"]["id"] == aid][-2:] ==
             ["alert_ack", "alert_resolved"], 10, a)
    for bad_origin in ("http://evil.example", "http://127.0.0.1.evil.example:%s" % a.addr.split(":")[1]):
        w = WsClient("ws://%s/api/v1/stream" % a.addr, origin=bad_origin)
        w.connected.wait(10)
        w.close()
        if not w.error:
            fail("a WebSocket from Origin %s was accepted" % bad_origin)
    w = WsClient("ws://%s/api/v1/other" % a.addr)
    w.connected.wait(10)
    w.close()
    if not w.error:
        fail("a WebSocket on another path was accepted")

    # many windows with a client that never reads: it is cut off, the rest go on. A raw
    # socket (a library would read for it) with a tiny receive buffer.
    slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    host, port = a.addr.split(":")
    slow.connect((host, int(port)))
    slow.sendall(("GET /api/v1/stream HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n" % a.addr).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += slow.recv(1)
    if not head.startswith(b"HTTP/1.1 101"):
        fail("the raw WebSocket handshake was refused: %r" % head[:100])
    for upto in range(60, 421, 40):
        stream.append_windows(upto)
        wait_for("windows before %d" % (upto - 1), lambda: len(records(scores_path)) >= upto - 1, 120, a)
    scores, alerts = records(scores_path), records(alerts_path)
    wait_for("the fast client to get every score",
             lambda: len([e for e in ws.events if e["event"] == "score"]) >= len(scores), 30, a)
    metrics = http(base, "/metrics")[2].decode()
    m = re.search(r"^assay_websocket_slow_disconnects_total (\d+)", metrics, re.M)
    if not m or int(m.group(1)) < 1:
        fail("the client that never read was not disconnected (assay_websocket_slow_disconnects_total %s)" % (m and m.group(1)))
    # the server closed it: reading what it had sent ends in EOF or a reset
    slow.settimeout(10)
    try:
        while slow.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        fail("the slow client's connection is still open")
    slow.close()

    # the rate limit on mutating requests (10 a minute here): a burst of 21 sees 429
    seen = None
    for i in range(21):
        st, h, b = http(base, "/api/v1/alerts/0123456789abcdef/ack", method="POST", body=b"", headers=auth)
        if st == 429:
            seen = h
            break
    if not seen or int(seen.get("retry-after", "0")) < 1:
        fail("no 429 with Retry-After within 21 quick POSTs (rate_limit 10)")
    a.stop()
    ws.close()
    n, k = check_ws_events(ws.events, scores, alerts)
    log("the feed carried %d score and %d alert events in order; errors, token, Origin, ack, resolve, slow client checked" % (n, k))


def case_restart(work):
    stream = Stream(work, 30, "null_email=0.5@4-6,bad_currency=0.5@10-29")
    cfg = write_config(work)
    a = Assay(cfg)
    scores_path = os.path.join(work, "scores.ndjson")
    stream.append_windows(25)
    wait_for("24 windows", lambda: len(records(scores_path)) >= 24, 60, a)
    auth = {"Authorization": "Bearer " + TOKEN}
    act = get_json(a.base, "/api/v1/alerts?state=firing")["alerts"]
    if not act:
        fail("no firing alert to acknowledge before the restart")
    acked = act[0]["id"]
    get_json(a.base, "/api/v1/alerts/%s/ack" % acked, method="POST", body=b"", headers=auth)
    before = get_json(a.base, "/api/v1/scores?limit=10000")
    alerts_before = get_json(a.base, "/api/v1/alerts?limit=10000")
    a.stop()
    b = Assay(cfg)  # nothing new appended: no window can close
    after = get_json(b.base, "/api/v1/scores?limit=10000")
    if after != before or after["count"] < 24:
        fail("after the restart /scores lists %d records, before it %d" % (after["count"], before["count"]))
    alerts_after = get_json(b.base, "/api/v1/alerts?limit=10000")
    if alerts_after != alerts_before or not alerts_after["alerts"]:
        fail("after the restart /alerts differs")
    one = alerts_before["alerts"][0]
    if get_json(b.base, "/api/v1/alerts/" + one["id"]) != one:
        fail("/alerts/{id} after the restart differs")
    if len(records(scores_path)) != before["count"]:
        fail("the restart wrote score records without new rows")
    # the acknowledgement is part of the checkpointed alert state: acking again after the
    # restart is answered from it and writes no second alert_ack record
    alerts_path = os.path.join(work, "alerts.ndjson")
    wait_for("the restarted run's pipeline", lambda: get_json(b.base, "/api/v1/status")["ready"], 30, b)
    r = get_json(b.base, "/api/v1/alerts/%s/ack" % acked, method="POST", body=b"", headers=auth)
    n = len([x for x in records(alerts_path) if x["id"] == acked and x["state"] == "acknowledged"])
    if r["alert"]["state"] != "acknowledged" or n != 1:
        fail("after the restart the ack of %s was forgotten (%d alert_ack records)" % (acked, n))
    # the score of the last window is served from the history before a new one closes
    if get_json(b.base, "/api/v1/score")["id"] != before["scores"][-1]["id"]:
        fail("/score after a restart is not the last window of the history")
    b.stop()
    log("%d scores and %d alerts answered from SQLite after a restart" % (after["count"], len(alerts_after["alerts"])))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def case_prometheus(work):
    stream = Stream(work, 12, "null_email=0.5@4-6")
    cfg = write_config(work)
    a = Assay(cfg)
    stream.append_windows(10)
    scores_path = os.path.join(work, "scores.ndjson")
    wait_for("9 windows", lambda: len(records(scores_path)) >= 9, 60, a)
    # the live counters are copied from the pipeline's loop at least every 100 ms
    wait_for("assay_rows_total to cover the closed windows", lambda: int(
        (re.search(r"^assay_rows_total (\d+)", http(a.base, "/metrics")[2].decode(), re.M) or [0, "0"])[1])
        >= 9 * PER_WINDOW, 10, a)
    st, h, body = http(a.base, "/metrics")
    if st != 200 or not h.get("content-type", "").startswith("text/plain; version=0.0.4"):
        fail("/metrics: %d %r" % (st, h.get("content-type")))
    promtool = shutil.which("promtool")
    if not promtool:
        fail("promtool is missing (Debian package prometheus)")
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
    if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
        fail("promtool check metrics complains:\n%s%s" % (r.stdout.decode(), r.stderr.decode()))
    text = body.decode()
    names = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", text, re.M))
    for want in ("assay_rows_total", "assay_bad_rows_total", "assay_late_rows_total", "assay_rule_failures_total",
                 "assay_quality_score", "assay_quality_dimension_score", "assay_alerts_active",
                 "assay_window_close_lag_seconds", "assay_sink_errors_total", "assay_checkpoint_age_seconds",
                 "assay_build_info", "process_resident_memory_bytes", "process_cpu_seconds_total"):
        if want not in names:
            fail("/metrics lacks %s" % want)
    # the process started when the test started it (the boot time is read once, at start)
    m = re.search(r"^process_start_time_seconds (\S+)$", text, re.M)
    if not m or abs(float(m.group(1)) - a.started) > 30:
        fail("process_start_time_seconds %s; the test started assay at %.0f" % (m and m.group(1), a.started))
    rows = int(re.search(r"^assay_rows_total (\d+)", text, re.M).group(1))
    if rows < 9 * PER_WINDOW:
        fail("assay_rows_total %d is below the rows of the closed windows" % rows)
    scores = records(scores_path)
    tot = sum(x["failed"] for s in scores for x in s["rules"] if x["name"] == "email_not_null")
    m = re.search(r'^assay_rule_failures_total\{rule="email_not_null"\} (\d+)', text, re.M)
    if not m or int(m.group(1)) != tot:
        fail("assay_rule_failures_total{rule=email_not_null} %s, the records sum to %d" % (m and m.group(1), tot))

    # every metric the Grafana dashboard queries is exposed
    dash = json.load(open(os.path.join(ROOT, "examples", "grafana", "assay.json")))
    exprs = []

    def walk(x):
        if isinstance(x, dict):
            if isinstance(x.get("expr"), str):
                exprs.append(x["expr"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(dash)
    used = set()
    for e in exprs:
        used |= set(re.findall(r"\b((?:assay|process)_[a-z0-9_]+)", e))
    if len(exprs) < 5:
        fail("the Grafana dashboard has only %d queries" % len(exprs))
    # families without series here (consumer lag needs Kafka) still declare their TYPE
    families = set(re.findall(r"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) ", text, re.M))
    missing = sorted(u for u in used if u not in names and u not in families)
    if missing:
        fail("the Grafana dashboard queries metrics /metrics does not have: %s" % missing)

    # a real Prometheus scraping assay
    prom = shutil.which("prometheus")
    if not prom:
        fail("prometheus is missing (Debian package prometheus)")
    port = free_port()
    pcfg = os.path.join(work, "prometheus.yml")
    with open(pcfg, "w") as f:
        f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                "scrape_configs:\n  - job_name: assay\n    static_configs: [{targets: ['%s']}]\n" % a.addr)
    p = subprocess.Popen([prom, "--config.file=" + pcfg, "--storage.tsdb.path=" + os.path.join(work, "tsdb"),
                          "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(p)
    want = get_json(a.base, "/api/v1/score")["overall"]

    def prom_score():
        try:
            st, h, b = http("http://127.0.0.1:%d" % port, "/api/v1/query?query=assay_quality_score", timeout=2)
        except Exception:
            return None
        if st != 200:
            return None
        res = json.loads(b)["data"]["result"]
        return res and abs(float(res[0]["value"][1]) - want) < 1e-3
    wait_for("prometheus to scrape the score", prom_score, 60)
    st, h, b = http("http://127.0.0.1:%d" % port, "/api/v1/targets")
    t = json.loads(b)["data"]["activeTargets"]
    if not t or t[0]["health"] != "up" or t[0]["lastError"]:
        fail("prometheus target not healthy: %r" % t)
    p.send_signal(signal.SIGTERM)
    p.wait(30)
    a.stop()
    log("promtool clean; prometheus scraped assay_quality_score %.4f; %d dashboard metrics exist" % (want, len(used)))


def case_page(work):
    testdir = sys.argv[3] if len(sys.argv) > 3 else os.path.join(ROOT, "tests", "web")
    if not os.path.isdir(os.path.join(testdir, "node_modules", "playwright-core")):
        fail("playwright-core is not installed in %s (npm install --prefix %s)" % (testdir, testdir))
    stream = Stream(work, 20, "bad_currency=0.5@5-19")
    cfg = write_config(work)
    a = Assay(cfg)
    stream.append_windows(15)
    wait_for("an active alert", lambda: get_json(a.base, "/api/v1/alerts?state=active")["count"] > 0, 60, a)
    # the page asks for the token: the test gives it through ASSAY_TOKEN
    env = dict(os.environ, ASSAY_TOKEN=TOKEN)
    r = subprocess.run(["node", os.path.join(testdir, "live_page.mjs"), a.base, os.path.join(work, "page.png")],
                       env=env, capture_output=True, text=True, timeout=180)
    print(r.stdout, end="")
    if r.returncode != 0:
        fail("live page test failed:\n%s%s" % (r.stdout[-3000:], r.stderr[-3000:]))
    a.stop()


def main():
    work = tempfile.mkdtemp(prefix="assay-serve-")
    ok = False
    try:
        {"api": case_api, "restart": case_restart, "prometheus": case_prometheus, "page": case_page}[CASE](work)
        ok = True
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait(30)
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("work dir kept:", work)
    print("PASS", CASE)


if __name__ == "__main__":
    main()
