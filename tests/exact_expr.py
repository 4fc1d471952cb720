#!/usr/bin/env python3
"""Exact recount of tests/data/expr.yaml's expr rules over a CSV or NDJSON file,
written independently of assay: each expression is spelled out here in Python with
SQL's three-valued logic (None is null), over values parsed by Python's own csv/json,
float() and datetime. Prints JSON {rule_name: [evaluated, failed, unevaluated]}."""
import json, re, sys
from datetime import datetime, timezone

from recount_input import FLOAT, parse_time, rows

INT = re.compile(r"^[+-]?[0-9]+$")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
H = 3600 * 10**6


def num(v):
    return float(v) if v is not None and FLOAT.match(v) else None


def intnum(v):
    return float(int(v)) if v is not None and INT.match(v) else None


def ts(v):
    t = parse_time(v)
    if t is None:
        return None
    d = t - EPOCH
    return (d.days * 86400 + d.seconds) * 10**6 + d.microseconds


def AND(*xs):
    if any(x is False for x in xs):
        return False
    return None if any(x is None for x in xs) else True


def OR(*xs):
    if any(x is True for x in xs):
        return True
    return None if any(x is None for x in xs) else False


def NOT(x):
    return None if x is None else not x


def op(f, *xs):
    """f over the operands, null when any is."""
    return None if any(x is None for x in xs) else f(*xs)


def div(a, b):
    return None if a is None or b is None or b == 0 else a / b


T0 = ts("2026-01-01T00:10:00Z")
RULES = {
    "ship_after_order": lambda r: op(lambda s, c: s >= c, r["shipped_at"], r["created_at"]),
    "total_matches": lambda r: op(lambda t, q, u: abs(t - q * u) < 0.01, r["total"], r["quantity"],
                                  r["unit_price"]),
    "shipped_has_time": lambda r: OR(op(lambda s: s != "shipped", r["status"]),
                                     r["shipped_at"] is not None),
    "us_zip": lambda r: OR(op(lambda c: c != "US", r["country"]),
                           op(lambda z: len(z) == 5, r["zip"])),
    "currency_two": lambda r: op(lambda c: c in ("USD", "EUR"), r["currency"]),
    "ship_within": lambda r: op(lambda s, c: s - c <= 48 * H, r["shipped_at"], r["created_at"]),
    "not_in_or": lambda r: OR(op(lambda s: s not in ("refunded", "cancelled"), r["status"]),
                              op(lambda a: a < 100, r["amount"])),
    "coalesce_ts": lambda r: op(lambda v: v >= T0,
                                r["shipped_at"] if r["shipped_at"] is not None else r["created_at"]),
    "fold_case": lambda r: OR(op(lambda s: s.lower() == "paid", r["status"]),
                              op(lambda c: c.upper() in ("US", "GB"), r["country"])),
    "affixes": lambda r: OR(op(lambda e: e.startswith("james"), r["email"]),
                            op(lambda e: e.endswith(".com"), r["email"]),
                            op(lambda n: "gift" in n, r["note"])),
    "regex": lambda r: OR(op(lambda p: re.search(r"^\+1", p) is not None, r["phone"]),
                          op(lambda c: c != "US", r["country"])),
    "arithmetic": lambda r: op(lambda a, q, u: a * 2 - q / 4 + 1 > u / 10, r["amount"],
                               r["quantity"], r["unit_price"]),
    "not_and": lambda r: NOT(AND(op(lambda q: q > 8, r["quantity"]),
                                 op(lambda a: a < 20, r["amount"]))),
    "null_or": lambda r: OR(r["total"] is None, op(lambda t: t >= 10, r["total"])),
    "text_order": lambda r: OR(op(lambda s: s < "q", r["status"]),
                               op(lambda c: c >= "M", r["country"])),
    "ne_le": lambda r: OR(AND(op(lambda q: q != 3, r["quantity"]), op(lambda q: q <= 9, r["quantity"])),
                          r["zip"] is None),
    "ts_dur": lambda r: op(lambda c, s: c + 30 * 60 * 10**6 > s - 24 * H, r["created_at"],
                           r["shipped_at"]),
    "negate": lambda r: AND(op(lambda a: -a < -5, r["amount"]), op(lambda q: -q >= -9, r["quantity"])),
    "eq_num": lambda r: OR(op(lambda q: q == 4, r["quantity"]), op(lambda q: q in (1, 2), r["quantity"]),
                           op(lambda a: a == 39.32, r["amount"])),
    "div_zero": lambda r: op(lambda v: v > 2, div(r["amount"], op(lambda q: q - 5, r["quantity"]))),
}

path = sys.argv[1]
res = {k: [0, 0, 0] for k in RULES}
n = 0
for raw in rows(path):
    n += 1
    r = dict(raw)
    # typed columns: a value that is not of the type is null inside an expression
    for c in ("amount", "total", "unit_price"):
        r[c] = num(raw.get(c))
    r["quantity"] = intnum(raw.get("quantity"))
    for c in ("created_at", "shipped_at"):
        r[c] = ts(raw.get(c))
    for name, f in RULES.items():
        v = f(r)
        if v is None:
            res[name][2] += 1
        else:
            res[name][0] += 1
            res[name][1] += v is False
res["rows"] = n
print(json.dumps(res, sort_keys=True))
