#!/usr/bin/env python3
"""Exact recount of tests/data/check.yaml's rules over a CSV or NDJSON file, written
independently of assay (Python's csv/json modules), printed as JSON
{rule_name: [evaluated, failed]} plus "rows"."""
import json, sys
from datetime import datetime, timedelta

from recount_input import EMAIL, FLOAT, PHONE, parse_time as ts, rows

path, now_text = sys.argv[1], sys.argv[2]
now = datetime.fromisoformat(now_text.replace("Z", "+00:00"))

res = {k: [0, 0] for k in ["id_unique", "email_present", "email_shape", "amount_positive",
                           "amount_type", "currency_known", "customer_present", "note_length",
                           "phone_shape", "created_fresh"]}
seen = set()
n = 0
cutoff = now - timedelta(days=400)
def count(name, failed):
    res[name][0] += 1
    res[name][1] += bool(failed)

for row in rows(path):
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
