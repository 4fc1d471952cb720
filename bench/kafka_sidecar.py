#!/usr/bin/python3
"""The Kafka sidecar benchmark: numbers, not a test (nothing here fails on time).

    bench/kafka_sidecar.py [BUILD_DIR] [--rows N]

On librdkafka's mock cluster (build/tools/assay-kafka-mock), with N generated orders
(NDJSON, 32 partitions) on the input topic:

1. throughput: the raw librdkafka consume rate (build/bench/assay-kafka-raw, a consumer
   that only touches each message) against `assay run` with the 5 core rules and
   every output on a Kafka topic (rows/s from its --summary: first chunk read to last
   folded);
2. latency: window close -> records handed to the producer (assay's own p50/p99), and
   handed -> readable on the alert and score topics (each message's CreateTime against
   when a kafka-python consumer, fetch wait 10 ms, got it);
3. memory: peak RSS of a run whose output broker is down for 30 s from the start, with
   the default bounds (producer queue 64 MiB, prefetch 16 MiB);
4. recovery: SIGKILL mid-stream, restart; seconds from the restart until rows flow
   again (the new member waits for the dead one's session, session.timeout.ms 6 s here).
"""
import json
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

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") \
    else os.path.join(ROOT, "build")
ROWS = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 400000
ASSAY = os.path.join(BUILD, "src", "assay")
MOCK = os.path.join(BUILD, "tools", "assay-kafka-mock")
RAW = os.path.join(BUILD, "bench", "assay-kafka-raw")
TOPICS = {"orders": 32, "orders.clean": 32, "orders.quarantine": 8, "dq.scores": 1,
          "dq.alerts": 1}
procs = []


class Mock:
    def __init__(self):
        args = [MOCK, "--brokers", "3"]
        for t, p in TOPICS.items():
            args += ["--topic", "%s:%d" % (t, p)]
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(self.p)
        self.boot = self.p.stdout.readline().split()[1]

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        ans = self.p.stdout.readline().strip()
        if ans != "ok":
            sys.exit("mock: %s -> %s" % (line, ans))


def config(work, group, state, interval="1s"):
    path = os.path.join(work, group + ".yaml")
    with open(path, "w") as f:
        f.write("""asset: orders
source:
  kafka: {topic: orders, group: %s, start: earliest}
kafka:
  bootstrap.servers: ${ASSAY_BROKERS}
  session.timeout.ms: 6000
columns:
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
window: {size: 2s, lateness: 1s, idle: 5s}
rules:
  - {column: email, check: not_null}
  - {column: email, check: matches, format: email}
  - {column: amount, check: in_range, min: 0}
  - {column: currency, check: in_set, values: [USD, EUR, GBP, JPY], action: block}
  - {column: order_id, check: unique}
sinks:
  scores: {kafka: {topic: dq.scores}}
  alerts: {kafka: {topic: dq.alerts}}
  quarantine: {kafka: {topic: orders.quarantine}}
  clean: {kafka: {topic: orders.clean}}
state: {dir: %s, interval: %s}
""" % (group, state, interval))
    return path


def end_offsets(boot):
    c = KafkaConsumer(bootstrap_servers=boot, api_version=(2, 5, 0))
    tps = [TopicPartition("orders", p) for p in range(TOPICS["orders"])]
    end = c.end_offsets(tps)
    c.close()
    return {tp.partition: o for tp, o in end.items()}


def committed(admin, group):
    try:
        return {tp.partition: m.offset
                for tp, m in admin.list_consumer_group_offsets(group).items()}
    except Exception:  # the group is rebalancing: no answer yet
        return {}


def run_assay(work, boot, group, args=()):
    state = os.path.join(work, group + ".state")
    os.makedirs(state, exist_ok=True)
    summary = os.path.join(work, group + ".summary.json")
    err = open(os.path.join(work, group + ".err"), "a")
    p = subprocess.Popen([ASSAY, "run", "-c", config(work, group, state), "--threads", "2",
                          "--summary", summary] + list(args), stderr=err,
                         stdout=subprocess.DEVNULL, env=dict(os.environ, ASSAY_BROKERS=boot))
    procs.append(p)
    return p, summary


def wait_committed(admin, group, end, timeout=600, proc=None):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if committed(admin, group) == end:
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Watch(threading.Thread):
    """Reads the score and alert topics as they are written; for each message, the
    time from its CreateTime (when assay handed it to the producer) to its arrival."""

    def __init__(self, boot):
        super().__init__(daemon=True)
        self.c = KafkaConsumer(bootstrap_servers=boot, api_version=(2, 5, 0),
                               fetch_max_wait_ms=10, auto_offset_reset="latest")
        tps = [TopicPartition("dq.scores", 0), TopicPartition("dq.alerts", 0)]
        self.c.assign(tps)
        self.c.seek_to_end(*tps)
        for tp in tps:
            self.c.position(tp)
        self.lat = []
        self.stop = False

    def run(self):
        while not self.stop:
            for recs in self.c.poll(timeout_ms=50).values():
                now = time.time() * 1e3
                self.lat.extend(now - r.timestamp for r in recs)
        self.c.close()


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")


def main():
    work = tempfile.mkdtemp(prefix="assay-kbench-")
    mock = Mock()
    try:
        boot = mock.boot
        start = datetime.now(timezone.utc) - timedelta(seconds=ROWS / 1000 + 120)
        data = os.path.join(work, "orders.ndjson")
        subprocess.run([ASSAY, "gen", "--rows", str(ROWS), "--rate", "1000", "--seed", "5",
                        "--format", "ndjson", "--start", start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "-o", data], check=True)
        size = os.path.getsize(data)
        t0 = time.time()
        with open(data, "rb") as f:
            subprocess.run(["kcat", "-P", "-b", boot, "-t", "orders", "-X", "linger.ms=20",
                            "-X", "batch.num.messages=10000"], stdin=f, check=True)
        print("input: %d orders, %.1f MB, produced with kcat in %.1f s"
              % (ROWS, size / 1e6, time.time() - t0))
        end = end_offsets(boot)
        admin = KafkaAdminClient(bootstrap_servers=boot, api_version=(2, 5, 0))

        # 1. throughput
        raw = json.loads(subprocess.run([RAW, boot, "orders", str(ROWS)], check=True,
                                        capture_output=True, text=True).stdout)
        raw_rate = raw["messages"] / raw["seconds"]
        print("raw librdkafka consumer: %d messages in %.2f s = %.0f msg/s (%.0f MB/s)"
              % (raw["messages"], raw["seconds"], raw_rate, raw["bytes"] / raw["seconds"] / 1e6))
        watch = Watch(boot)
        watch.start()
        p, summary = run_assay(work, boot, "assay-bench")
        if not wait_committed(admin, "assay-bench", end, proc=p):
            sys.exit("assay did not commit the end of the input; see %s" % work)
        p.send_signal(signal.SIGTERM)
        p.wait(120)
        time.sleep(0.5)
        watch.stop = True
        watch.join(10)
        s = json.load(open(summary))
        print("assay run (5 core rules, 4 Kafka outputs, 2 threads): %d rows in %.2f s = "
              "%.0f rows/s, %.0f%% of the raw rate"
              % (s["rows"], s["active_seconds"], s["rows_per_second"],
                 100 * s["rows_per_second"] / raw_rate))
        # 2. latency
        print("window close -> records handed to the producer: p50 %.2f ms, p99 %.2f ms, "
              "max %.2f ms (%d windows)" % (s["alert_latency_ms"]["p50"],
                                            s["alert_latency_ms"]["p99"],
                                            s["alert_latency_ms"]["max"], s["windows"]))
        print("handed -> readable on dq.scores/dq.alerts: p50 %.1f ms, p99 %.1f ms "
              "(%d messages, while the backlog was being replayed)"
              % (pct(watch.lat, 0.5), pct(watch.lat, 0.99), len(watch.lat)))

        # 3. memory with the output broker down 30 s
        for t, n in TOPICS.items():
            for part in range(n):
                mock.cmd("leader %s %d %d" % (t, part, 1 + part % 2 if t == "orders" else 3))
        mock.cmd("coordinator group assay-bench-mem 1")
        p, summary = run_assay(work, boot, "assay-bench-mem")
        base = 0
        while not base and p.poll() is None:
            time.sleep(0.05)
            base = rss_kib(p.pid)
        mock.cmd("down 3")
        t0, peak = time.time(), base
        while time.time() - t0 < 30:
            peak = max(peak, rss_kib(p.pid))
            time.sleep(0.1)
        mock.cmd("up 3")
        ok = wait_committed(admin, "assay-bench-mem", end, proc=p)
        p.send_signal(signal.SIGTERM)
        p.wait(120)
        s = json.load(open(summary))
        print("output broker down 30 s: peak RSS %.1f MiB (%.1f MiB at start), %d stalls; "
              "%s" % (peak / 1024, base / 1024, s["stalls"],
                      "every row committed after it came back" if ok else "NOT completed"))

        # 4. recovery after SIGKILL
        p, summary = run_assay(work, boot, "assay-bench-kill")
        while len(committed(admin, "assay-bench-kill")) < TOPICS["orders"] and p.poll() is None:
            time.sleep(0.1)
        time.sleep(1)
        p.send_signal(signal.SIGKILL)
        p.wait(30)
        before = sum(committed(admin, "assay-bench-kill").values())
        t0 = time.time()
        p, summary = run_assay(work, boot, "assay-bench-kill")
        while sum(committed(admin, "assay-bench-kill").values()) <= before and p.poll() is None:
            time.sleep(0.05)
        flowing = time.time() - t0
        ok = wait_committed(admin, "assay-bench-kill", end, proc=p)
        p.send_signal(signal.SIGTERM)
        p.wait(120)
        print("SIGKILL, restart: offsets move again %.1f s after the restart (the group waits "
              "for the dead member's 6 s session); %s" % (
                  flowing, "the rest committed" if ok else "NOT completed"))
        admin.close()
    finally:
        for p in procs:
            if p.poll() is None and p is not mock.p:
                p.send_signal(signal.SIGKILL)
                p.wait(30)
        mock.p.stdin.close()
        mock.p.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
