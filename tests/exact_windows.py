#!/usr/bin/env python3
"""Exact per-window recount of tests/data/windows.yaml's rules over a CSV or NDJSON file,
written independently of assay: rows one by one in file order, the watermark after each
row, Python's csv/json/re modules.

    exact_windows.py FILE SIZE_S SLIDE_S LATENESS_S

Prints one JSON object per emitted window (in window order):
{"window_start": us, "rows": n, "late_rows": n, "bad_rows": n, "rules": {name: [evaluated, failed]}}

The model (docs/design.md, "Windows"): window k covers [k*slide, k*slide + size); the
watermark is the largest event time so far minus the lateness; window k is closed once the
watermark reaches its end, and the frontier is the first window not closed. A row counts in
the windows of its pane from max(frontier, pane's first window); when there are none it is
late, counted in late_rows of the frontier's window. A row without a usable event time is a
bad row, counted in bad_rows of the frontier's window (or the first window, before any). A
window's `rows` are its on-time rows plus the bad rows counted in it. Windows are emitted
from the first one with rows to the last, empty ones between included."""
import json, sys
from datetime import datetime, timezone

from recount_input import EMAIL, FLOAT, parse_time, rows

path = sys.argv[1]
SIZE, SLIDE, LATE = (int(float(x) * 1_000_000) for x in sys.argv[2:5])
Q = SIZE // SLIDE

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
RULES = ["order_id_unique", "email_not_null", "email_shape", "amount_in_range", "amount_type",
         "currency_in_set", "note_length", "row_count"]


def ts_us(text):
    dt = parse_time(text)
    if dt is None:
        return None
    delta = dt - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def frontier(wm):
    return None if wm is None else (wm - SIZE) // SLIDE + 1


windows = {}  # k -> {"rows", "late", "bad", "rules", "seen"}


def win(k):
    if k not in windows:
        windows[k] = {"rows": 0, "late": 0, "bad": 0, "rules": {r: [0, 0] for r in RULES},
                      "seen": set()}
    return windows[k]


def check(w, row):
    ru = w["rules"]

    def count(name, failed):
        ru[name][0] += 1
        ru[name][1] += bool(failed)

    oid, email, amount = row.get("order_id"), row.get("email"), row.get("amount")
    if oid is not None:
        count("order_id_unique", oid in w["seen"])
        w["seen"].add(oid)
    count("email_not_null", email is None)
    if email is not None:
        count("email_shape", not EMAIL.search(email))
    if amount is not None:
        ok = bool(FLOAT.match(amount))
        count("amount_type", not ok)
        if ok:
            count("amount_in_range", not (float(amount) >= 0))
    cur = row.get("currency")
    if cur is not None:
        count("currency_in_set", cur not in ("USD", "EUR", "GBP", "JPY"))
    note = row.get("note")
    if note is not None:
        count("note_length", len(note) > 500)


M = None
attributed = []  # (target window or None, late?)
first_emitted = None
last_pane = None
for row in rows(path):
    wm = None if M is None else M - LATE
    c = frontier(wm)
    t = ts_us(row.get("created_at"))
    if t is None:
        attributed.append((c, False))
        continue
    p = t // SLIDE
    first = p - Q + 1 if c is None else max(c, p - Q + 1)
    if first > p:
        attributed.append((c, True))
    else:
        for k in range(first, p + 1):
            w = win(k)
            w["rows"] += 1
            check(w, row)
        first_emitted = first if first_emitted is None else min(first_emitted, first)
        last_pane = p if last_pane is None else max(last_pane, p)
    M = t if M is None else max(M, t)

if first_emitted is None:
    sys.exit(0)
for target, late in attributed:
    k = first_emitted if target is None or target < first_emitted else target
    w = win(k)
    if late:
        w["late"] += 1
    else:
        w["bad"] += 1
        w["rows"] += 1
for k in range(first_emitted, last_pane + 1):
    w = win(k)
    w["rules"]["row_count"] = [1, int(w["rows"] < 1)]
    print(json.dumps({"window_start": k * SLIDE, "rows": w["rows"], "late_rows": w["late"],
                      "bad_rows": w["bad"], "rules": w["rules"]}, sort_keys=True))
