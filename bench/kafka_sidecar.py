#!/usr/bin/python3
"""The Kafka sidecar benchmark: it prints numbers and fails on nothing but errors.

    bench/kafka_sidecar.py [BUILD_DIR] [--rows N] [--only NAME[,NAME]]

Runs on librdkafka's mock cluster (BUILD_DIR/tools/assay-kafka-mock, three brokers);
NAME is one of throughput, latency, memory, recovery:

throughput  N generated orders (NDJSON, 32 partitions, default 400k) on a backlog
            topic. The raw librdkafka consume rate (BUILD_DIR/bench/assay-kafka-raw,
            a consumer that only touches every message) against `assay run` with the
            5 core rules, once with score and alert topics only and once with every
            row also produced to clean or quarantine. assay's rate is rows over its
            active span (first chunk read to last fold, from --summary).
latency     a live stream: 2000 orders/s for 40 s produced as their event time comes
            due, 1 s windows, 200 ms lateness, a null-email incident that fires and
            resolves an alert. Three legs are reported: window close -> records
            handed to the producer (assay's --summary), handed -> readable by an
            independent consumer (the message's CreateTime against its arrival), and
            window end + lateness -> readable (event time to an alert a consumer can
            read, which includes the input's own trip through Kafka).
memory      the backlog with every row output, default bounds (producer queue 64 MiB,
            prefetch 16 MiB), the broker leading every output partition down for the
            first 30 s: peak RSS, then whether every row got through after it came back.
recovery    the backlog, SIGKILL once offsets are being committed, restart: seconds
            until committed offsets move again (the group first waits out the dead
            member's session, session.timeout.ms 6000 here) and until the end.

BENCH_REPEAT (default 3) is how often throughput runs each measurement.
BENCH_KAFKA_PROPS="key: value;key: value" adds librdkafka properties to every assay
config. BENCH_CKPT sets state.interval (default 1s). BENCH_WRAP is a
command put in front of assay (e.g. "perf record -g -o /tmp/p.data") for profiling;
BENCH_KEEP=1 keeps the work directory (configs, summaries, assay's stderr). Completion is read from the group's committed offsets (explicit partitions: the mock
cluster does not answer an OffsetFetch for all of a group's partitions).
"""
import json
import resource
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = sys.argv[1:]
BUILD = os.path.abspath(ARGS[0]) if ARGS and not ARGS[0].startswith("-") \
    else os.path.join(ROOT, "build")
ROWS = int(ARGS[ARGS.index("--rows") + 1]) if "--rows" in ARGS else 400000
ONLY = ARGS[ARGS.index("--only") + 1].split(",") if "--only" in ARGS else \
    ["throughput", "latency", "memory", "recovery"]
ASSAY = os.path.join(BUILD, "src", "assay")
MOCK = os.path.join(BUILD, "tools", "assay-kafka-mock")
RAW = os.path.join(BUILD, "bench", "assay-kafka-raw")
PARTS = 32
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
LIVE_PARTS = 8
TOPICS = {"orders": PARTS, "orders.clean": PARTS, "orders.quarantine": 8,
          "dq.scores": 1, "dq.alerts": 1,
          "live": LIVE_PARTS, "live.scores": 1, "live.alerts": 1}
API = (2, 5, 0)
procs = []
MOCK_PID = [0]

COLUMNS = """columns:
  - {name: order_id,    type: int}
  - {name: customer_id, type: int}
  - {name: email,       type: string}
  - {name: amount,      type: float}
  - {name: currency,    type: string}
  - {name: country,     type: string}
  - {name: status,      type: string}
  - {name: created_at,  type: timestamp}
  - {name: phone,       type: string}
  - {name: note,        type: string}
event_time: created_at
"""
RULES = """rules:
  - {column: order_id, check: unique, threshold: 0.01}
  - {column: email, check: not_null, threshold: 0.05}
  - {column: email, check: matches, format: email, threshold: 0.03}
  - {column: amount, check: in_range, min: 0, max: 1000000, action: block, threshold: 0.02}
  - {column: currency, check: in_set, values: [USD, EUR, GBP, JPY], action: block}
"""


class Mock:
    def __init__(self):
        args = [MOCK, "--brokers", "3"]
        for t, p in TOPICS.items():
            args += ["--topic", "%s:%d" % (t, p)]
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(self.p)
        self.boot = self.p.stdout.readline().split()[1]
        MOCK_PID[0] = self.p.pid

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        ans = self.p.stdout.readline().strip()
        if ans != "ok":
            sys.exit("mock: %s -> %s" % (line, ans))


def config(work, group, topic="orders", rows_out=True, window="{size: 60s, lateness: 5s, idle: 3s}",
           prefix="dq", extra="", props=os.environ.get("BENCH_KAFKA_PROPS", "")):
    state = os.path.join(work, group + ".state")
    os.makedirs(state, exist_ok=True)
    sinks = "  scores: {kafka: {topic: %s.scores}}\n  alerts: {kafka: {topic: %s.alerts}}\n" \
        % (prefix, prefix)
    if rows_out:
        sinks += "  quarantine: {kafka: {topic: orders.quarantine}}\n" \
                 "  clean: {kafka: {topic: orders.clean}}\n"
    path = os.path.join(work, group + ".yaml")
    with open(path, "w") as f:
        f.write("asset: %s\nsource:\n  kafka: {topic: %s, group: %s, start: earliest}\n"
                "kafka:\n  bootstrap.servers: ${ASSAY_BROKERS}\n  session.timeout.ms: 6000\n%s"
                "%swindow: %s\n%s%ssinks:\n%sstate: {dir: %s, interval: %s}\n"
                % (topic, topic, group, "".join("  %s\n" % p for p in props.split(";") if p),
                   COLUMNS, window, RULES, extra, sinks, state, os.environ.get("BENCH_CKPT", "1s")))
    return path


def run_assay(work, boot, group, cfg):
    summary = os.path.join(work, group + ".summary.json")
    err = open(os.path.join(work, group + ".err"), "a")
    wrap = os.environ.get("BENCH_WRAP", "").split()
    p = subprocess.Popen(wrap + [ASSAY, "run", "-c", cfg, "--threads", "2", "--summary", summary],
                         stderr=err, stdout=subprocess.DEVNULL, env=dict(os.environ, ASSAY_BROKERS=boot))
    procs.append(p)
    return p, summary


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def stop(p, summary, bound=120):
    p.send_signal(signal.SIGTERM)
    p.wait(bound)
    with open(summary) as f:
        return json.load(f)


def committed(boot, group, topic="orders", parts=PARTS):
    a = KafkaAdminClient(bootstrap_servers=boot, api_version=API)
    try:
        offs = a.list_consumer_group_offsets(
            group, partitions=[TopicPartition(topic, p) for p in range(parts)])
    except Exception:  # the group is rebalancing: no answer this time
        return {}
    finally:
        a.close()
    return {tp.partition: om.offset for tp, om in offs.items() if om.offset >= 0}


def end_offsets(boot, topic="orders", parts=PARTS):
    c = KafkaConsumer(bootstrap_servers=boot, api_version=API)
    end = c.end_offsets([TopicPartition(topic, p) for p in range(parts)])
    c.close()
    return {tp.partition: o for tp, o in end.items() if o > 0}


def wait_committed(boot, group, end, proc, timeout=600):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if committed(boot, group) == end:
            return time.time()
        if proc.poll() is not None:
            return None
        time.sleep(0.2)
    return None


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")


def backlog(work, boot):
    start = datetime.now(timezone.utc) - timedelta(seconds=ROWS / 1000 + 120)
    data = os.path.join(work, "orders.ndjson")
    subprocess.run([ASSAY, "gen", "--rows", str(ROWS), "--rate", "1000", "--seed", "5",
                    "--format", "ndjson", "--start", start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "-o", data], check=True)
    size = os.path.getsize(data)
    t0 = time.time()
    # keyed by row number, so the partitions fill evenly (unkeyed messages go to a sticky
    # partition per batch, and a partition past the mock's ~5 MiB loses its oldest data)
    keyed = data + ".keyed"
    with open(data, "rb") as f, open(keyed, "wb") as g:
        for i, line in enumerate(f):
            g.write(b"%d\t" % i + line)
    with open(keyed, "rb") as f:
        subprocess.run(["kcat", "-P", "-b", boot, "-t", "orders", "-K", "\t"], stdin=f, check=True)
    end = end_offsets(boot)
    total = sum(end.values())
    print("backlog: %d orders, %.1f MB NDJSON, produced with kcat in %.1f s; %d on the topic"
          % (ROWS, size / 1e6, time.time() - t0, total))
    if total != ROWS:
        sys.exit("the mock cluster holds %d of %d messages (it keeps ~5 MiB per partition)"
                 % (total, ROWS))
    return end


def bench_throughput(work, boot, end):
    # one run of ~1 s on a shared 2-core machine varies by up to 2x: repeat, report the
    # median and the range
    raws = []
    for rep in range(REPEAT):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run([RAW, boot, "orders", str(ROWS)], capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        raw_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        raw = json.loads(r.stdout)
        if r.returncode:
            sys.exit("the raw consumer read %d of %d messages: %s"
                     % (raw["messages"], ROWS, r.stderr))
        raws.append(raw["messages"] / raw["seconds"])
        print("  raw librdkafka consumer: %d messages in %.2f s = %.0f msg/s (%.0f MB/s; "
              "CPU %.2f s)" % (raw["messages"], raw["seconds"], raws[-1],
                               raw["bytes"] / raw["seconds"] / 1e6, raw_cpu))
    raw_rate = statistics.median(raws)
    print("  raw: median %.0f msg/s of %d runs (%.0f-%.0f)" % (raw_rate, REPEAT, min(raws), max(raws)))
    for tag, rows_out in (("scores and alerts only", False), ("every row to clean/quarantine", True)):
        rates = []
        for rep in range(REPEAT):
            group = "bench-tp-%d-%d" % (rows_out, rep)
            mock_cpu = cpu_seconds(MOCK_PID[0])
            p, summary = run_assay(work, boot, group, config(work, group, rows_out=rows_out))
            if wait_committed(boot, group, end, p) is None:
                sys.exit("assay did not commit the end of the input; see %s" % work)
            cpu = cpu_seconds(p.pid)
            mock_cpu = cpu_seconds(MOCK_PID[0]) - mock_cpu
            s = stop(p, summary)
            rates.append(s["rows_per_second"])
            print("  assay run, 5 core rules, 2 threads, %s: %d rows in %.2f s = %.0f rows/s "
                  "(CPU: assay %.2f s, mock cluster %.2f s)"
                  % (tag, s["rows"], s["active_seconds"], s["rows_per_second"], cpu, mock_cpu))
        med = statistics.median(rates)
        print("  %s: median %.0f rows/s = %.0f%% of the raw median (runs %.0f-%.0f)"
              % (tag, med, 100 * med / raw_rate, min(rates), max(rates)))
    # the same rows and rules read from the NDJSON file: what the checks cost without
    # Kafka, so the CPU left for librdkafka (and the mock, on the same cores) is visible
    state = os.path.join(work, "file.state")
    path = os.path.join(work, "file.yaml")
    with open(path, "w") as f:
        f.write("asset: orders\nsource: {file: orders.ndjson}\n%s"
                "window: {size: 60s, lateness: 5s, idle: 3s}\n%ssinks:\n"
                "  scores: {file: file.scores}\n  alerts: {file: file.alerts}\n"
                "state: {dir: %s, interval: 1s}\n" % (COLUMNS, RULES, state))
    summary = os.path.join(work, "file.summary.json")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([ASSAY, "run", "-c", path, "--threads", "2", "--summary", summary],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(summary) as f:
        s = json.load(f)
    print("  the same rows from the NDJSON file (no Kafka), scores and alerts only: "
          "%.0f rows/s (CPU %.2f s)" % (s["rows_per_second"], after.ru_utime + after.ru_stime
                                        - before.ru_utime - before.ru_stime))


class Watch(threading.Thread):
    """Reads the live score and alert topics with kafka-python as they are written."""

    def __init__(self, boot, lateness_ms):
        super().__init__(daemon=True)
        self.c = KafkaConsumer(bootstrap_servers=boot, api_version=API, fetch_max_wait_ms=5,
                               auto_offset_reset="earliest")
        self.c.assign([TopicPartition("live.scores", 0), TopicPartition("live.alerts", 0)])
        self.lateness = lateness_ms
        self.handed, self.event = {"score": [], "alert": []}, {"score": [], "alert": []}
        self.fired = 0
        self.halt = False

    def run(self):
        while not self.halt:
            batch = self.c.poll(timeout_ms=20)
            now = time.time() * 1e3
            for tp, recs in batch.items():
                kind = "score" if tp.topic == "live.scores" else "alert"
                for r in recs:
                    v = json.loads(r.value)
                    self.handed[kind].append(now - r.timestamp)
                    end = v.get("window_end")
                    if end:
                        t = datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp() * 1e3
                        self.event[kind].append(now - t - self.lateness)
                    if kind == "alert" and v.get("state") == "firing":
                        self.fired += 1
        self.c.close()


def bench_latency(work, boot):
    rate, seconds = 2000, 40
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
    data = os.path.join(work, "live.ndjson")
    subprocess.run([ASSAY, "gen", "--rows", str(rate * seconds), "--rate", str(rate), "--seed", "7",
                    "--format", "ndjson", "--start", start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "--window", "1s", "--late", "0", "--faults", "null_email=0.6@15-19", "-o", data],
                   check=True)
    rows = [l.rstrip("\n").encode() for l in open(data, encoding="utf-8", errors="surrogateescape")]
    group = "bench-live"
    # the mock cluster holds every fetch for fetch.wait.max.ms (500 ms by default) even
    # when data is there, where a real broker answers once fetch.min.bytes (1) is met;
    # BENCH_KAFKA_PROPS="fetch.wait.max.ms: 10" shows the difference
    cfg = config(work, group, topic="live", rows_out=False, prefix="live",
                 window="{size: 1s, lateness: 200ms, idle: 2s}", extra="alerts: {resolve_after: 2}\n")
    watch = Watch(boot, 200)
    watch.start()
    p, summary = run_assay(work, boot, group, cfg)
    prod = KafkaProducer(bootstrap_servers=boot, api_version=API, acks="all", linger_ms=1)
    t0 = start.timestamp()
    behind = []  # how late the producer sent each row after its event time came due
    for i, v in enumerate(rows):
        due = t0 + i / rate
        wait = due - time.time()
        if wait > 0:
            time.sleep(min(0.002, wait))
        prod.send("live", value=v, key=b"c%d" % (i % 97))
        behind.append(1e3 * (time.time() - due))
    prod.flush()
    prod.close()
    time.sleep(4)  # the last windows close by the all-idle rule (idle 2 s)
    s = stop(p, summary)
    time.sleep(0.5)
    watch.halt = True
    watch.join(10)
    print("  %d rows at %d rows/s, %d windows of 1 s, %d alerts fired; the producer sent rows "
          "p50 %.1f ms, p99 %.1f ms after their event time" %
          (s["rows"], rate, s["windows"], watch.fired, pct(behind, .5), pct(behind, .99)))
    print("  window close -> records handed to the producer: p50 %.2f ms, p99 %.2f ms, max %.2f ms"
          % (s["alert_latency_ms"]["p50"], s["alert_latency_ms"]["p99"], s["alert_latency_ms"]["max"]))
    for kind in ("score", "alert"):
        print("  %s: handed -> readable p50 %.1f ms, p99 %.1f ms; window end + lateness -> "
              "readable p50 %.1f ms, p99 %.1f ms (%d records)"
              % (kind, pct(watch.handed[kind], .5), pct(watch.handed[kind], .99),
                 pct(watch.event[kind], .5), pct(watch.event[kind], .99), len(watch.handed[kind])))


def bench_memory(work, boot, mock, end):
    # inputs led by brokers 1 and 2, every output partition by broker 3
    for t, n in TOPICS.items():
        for part in range(n):
            mock.cmd("leader %s %d %d" % (t, part, 1 + part % 2 if t == "orders" else 3))
    group = "bench-mem"
    mock.cmd("coordinator group %s 1" % group)
    mock.cmd("down 3")
    p, summary = run_assay(work, boot, group, config(work, group))
    t0, peak, base = time.time(), 0, 0
    while time.time() - t0 < 30 and p.poll() is None:
        r = rss_kib(p.pid)
        base = base or (r if r > 4096 else 0)  # not the moment before exec
        peak = max(peak, r)
        time.sleep(0.1)
    paused = "input paused" in open(os.path.join(work, group + ".err")).read()
    mock.cmd("up 3")
    t1 = time.time()
    done = wait_committed(boot, group, end, p)
    s = stop(p, summary)
    print("  output broker down 30 s: peak RSS %.1f MiB (%.1f MiB at the first sample), "
          "input %s, %d stalls; %s" % (peak / 1024, base / 1024,
                                       "paused" if paused else "NOT paused", s["stalls"],
                             "every row committed %.1f s after it came back" % (done - t1)
                             if done else "NOT completed"))
    for t, n in TOPICS.items():
        for part in range(n):
            mock.cmd("leader %s %d %d" % (t, part, 1 + part % 3))


def bench_recovery(work, boot, end):
    group = "bench-kill"
    cfg = config(work, group)
    p, summary = run_assay(work, boot, group, cfg)
    while sum(committed(boot, group).values()) < ROWS // 4 and p.poll() is None:
        time.sleep(0.1)
    p.send_signal(signal.SIGKILL)
    p.wait(30)
    before = sum(committed(boot, group).values())
    t0 = time.time()
    p, summary = run_assay(work, boot, group, cfg)
    while sum(committed(boot, group).values()) <= before and p.poll() is None:
        time.sleep(0.05)
    moving = time.time() - t0
    done = wait_committed(boot, group, end, p)
    s = stop(p, summary)
    print("  SIGKILL with %d of %d rows committed; after the restart offsets move again in "
          "%.1f s, and the rest (%d rows read again, from the checkpoint on) is through %s"
          % (before, ROWS, moving, s["rows_read"],
             "%.1f s after the restart" % (done - t0) if done else "NEVER"))


def main():
    for exe in (ASSAY, MOCK, RAW):
        if not os.access(exe, os.X_OK):
            sys.exit("%s is missing: build first (meson setup build --buildtype=release && "
                     "ninja -C build)" % exe)
    work = tempfile.mkdtemp(prefix="assay-kbench-")
    mock = Mock()
    try:
        boot = mock.boot
        print("mock cluster: 3 brokers at %s" % boot)
        end = backlog(work, boot) if set(ONLY) & {"throughput", "memory", "recovery"} else None
        if "throughput" in ONLY:
            print("throughput:")
            bench_throughput(work, boot, end)
        if "latency" in ONLY:
            print("latency:")
            bench_latency(work, boot)
        if "memory" in ONLY:
            print("memory:")
            bench_memory(work, boot, mock, end)
        if "recovery" in ONLY:
            print("recovery:")
            bench_recovery(work, boot, end)
    finally:
        for p in procs:
            if p.poll() is None and p is not mock.p:
                p.send_signal(signal.SIGKILL)
                p.wait(30)
        mock.p.stdin.close()
        mock.p.wait(30)
        if os.environ.get("BENCH_KEEP"):
            print("kept %s (configs, summaries, assay's stderr)" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
