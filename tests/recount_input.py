"""The input side of the test recounts (exact_check.py, exact_windows.py), written
independently of assay: rows of a CSV or NDJSON file as {column: text or None} through
Python's csv/json modules, the value shapes assay's rules accept, and RFC 3339 times."""
import csv, json, re
from datetime import datetime, timedelta, timezone

FLOAT = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$|^[+-]?(?:inf|infinity|nan)$", re.I)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", re.ASCII)
PHONE = re.compile(r"^\+[1-9][0-9]{7,14}$", re.ASCII)
TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}:\d{2})?)?$")


def _text(v):
    """An NDJSON value as the text a rule sees: strings as they are, null as None,
    everything else (numbers, booleans, objects, arrays) as its JSON."""
    return None if v is None else v if isinstance(v, str) else json.dumps(v)


def rows(path):
    if path.endswith((".ndjson", ".jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield {k: _text(v) for k, v in json.loads(line).items()}
    else:
        with open(path, newline="", encoding="utf-8") as f:
            r = csv.reader(f)
            header = next(r)
            for rec in r:
                yield {k: (v if v != "" else None) for k, v in zip(header, rec)}


def parse_time(text):
    """An RFC 3339 time (or a bare date, as UTC midnight) as an aware datetime; None when
    the text is not one."""
    m = TS.match(text) if text is not None else None
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
