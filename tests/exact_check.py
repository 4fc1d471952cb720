#!/usr/bin/env python3
"""Exact recount of tests/data/check.yaml's rules over a CSV or NDJSON file, written
independently of assay (Python's csv/json modules), printed as JSON
{rule_name: [evaluated, failed]} plus "rows"."""
import csv, json, re, sys
from datetime import datetime, timedelta, timezone

path, now_text = sys.argv[1], sys.argv[2]
now = datetime.fromisoformat(now_text.replace("Z", "+00:00"))
FLOAT = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$|^[+-]?(?:inf|infinity|nan)$", re.I)
INT = re.compile(r"^[+-]?[0-9]+$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", re.ASCII)
PHONE = re.compile(r"^\+[1-9][0-9]{7,14}$", re.ASCII)
TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}:\d{2})?)?$")

def rows():
    if path.endswith((".ndjson", ".jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    obj = json.loads(line)
                    yield {k: (None if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else
                               ("true" if v is True else "false" if v is False else
                                v if isinstance(v, str) else json.dumps(v))))
                           for k, v in obj.items()}
    else:
        with open(path, newline="", encoding="utf-8") as f:
            r = csv.reader(f)
            header = next(r)
            for rec in r:
                yield {k: (v if v != "" else None) for k, v in zip(header, rec)}

def ts(text):
    m = TS.match(text)
    if not m:
        return None
    try:
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
        if m[4] is None:
            return datetime(y, mo, d, tzinfo=timezone.utc)
        frac = m[7] or ""
        off = m[8] or "Z"
        tz = timezone.utc if off in "Zz" else timezone(
            (1 if off[0] == "+" else -1) * timedelta(hours=int(off[1:3]), minutes=int(off[4:6])))
        return datetime(y, mo, d, int(m[4]), int(m[5]), min(int(m[6]), 59),
                        int((frac[1:] + "000000")[:6]) if frac else 0, tzinfo=tz)
    except ValueError:
        return None

res = {k: [0, 0] for k in ["id_unique", "email_present", "email_shape", "amount_positive",
                           "amount_type", "currency_known", "customer_present", "note_length",
                           "phone_shape", "created_fresh"]}
seen = set()
n = 0
cutoff = now - timedelta(days=400)
def count(name, failed):
    res[name][0] += 1
    res[name][1] += bool(failed)

for row in rows():
    n += 1
    oid, email, amount = row.get("order_id"), row.get("email"), row.get("amount")
    if oid is not None:
        count("id_unique", oid in seen)
        seen.add(oid)
    count("email_present", email is None)
    if email is not None:
        count("email_shape", not EMAIL.search(email))
    if amount is not None:
        ok = bool(FLOAT.match(amount))
        count("amount_type", not ok)
        if ok:
            v = float(amount)
            count("amount_positive", not (v >= 0))
    cur = row.get("currency")
    if cur is not None:
        count("currency_known", cur not in ("USD", "EUR", "GBP", "JPY"))
    count("customer_present", row.get("customer_id") is None)
    note = row.get("note")
    if note is not None:
        count("note_length", len(note) > 500)
    phone = row.get("phone")
    if phone is not None:
        count("phone_shape", not PHONE.search(phone))
    c = row.get("created_at")
    if c is not None:
        t = ts(c)
        if t is not None:
            count("created_fresh", t < cutoff)
res["enough_rows"] = [1, int(n < 1000)]
res["rows"] = n
print(json.dumps(res, sort_keys=True))
