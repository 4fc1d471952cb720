#!/usr/bin/python3
"""Labelled numeric anomaly benchmarks for the streaming isolation forest (issue 4).

Each set is a CSV with columns f0..f{d-1},label (label 1 = anomaly), one row per
line, in stream order. Normal rows come from a mixture of k Gaussian clusters
(centres in [-10, 10]^d, per-cluster sd 0.5..2); anomalies (0.5-5 %) are of one kind:

  scattered  uniform in the data's bounding box grown by 20 %, kept only if at least
             4 sd (of the nearest cluster) away from every cluster centre
  clustered  a tight group (sd 0.2) placed away from every normal cluster
  local      points 3.5..6 sd from the centre of a *dense* cluster, which can still be
             inside the range of a wide cluster: outliers only relative to their
             neighbourhood
  drift      (variant) scattered anomalies, but the cluster centres move along a
             random direction by `--drift` units over the stream; rows stay in time
             order, and anomalies are placed relative to the current centres
  drift_stale (variant) as drift, but the anomalies are normal rows of another time:
             drawn from the mixture as it is at least 30 % of the stream earlier or
             later - values that are typical overall and wrong now, which a model of
             the whole file cannot see

Static sets are shuffled (arrival order random). Usage:

  tools/anomaly_gen.py --out DIR [--rows N] [--seed S]    # the standard suite
  tools/anomaly_gen.py --one KIND --dim D --rate R --out FILE.csv
"""
import argparse
import os
import sys

import numpy as np


def clusters(rng, d, k):
    centres = rng.uniform(-10, 10, size=(k, d))
    sds = rng.uniform(0.5, 2.0, size=k)
    weights = rng.dirichlet(np.ones(k) * 3)
    return centres, sds, weights


def normal_rows(rng, n, centres, sds, weights):
    which = rng.choice(len(weights), size=n, p=weights)
    return centres[which] + rng.standard_normal((n, centres.shape[1])) * sds[which][:, None]


def far_from_all(x, centres, sds, k_sd):
    dist = np.linalg.norm(x[:, None, :] - centres[None, :, :], axis=2) / sds[None, :]
    return dist.min(axis=1) >= k_sd


def scattered(rng, m, centres, sds, lo, hi):
    out = []
    while sum(len(o) for o in out) < m:
        cand = rng.uniform(lo, hi, size=(4 * m + 16, centres.shape[1]))
        out.append(cand[far_from_all(cand, centres, sds, 4.0)])
    return np.concatenate(out)[:m]


def clustered(rng, m, centres, sds, lo, hi):
    for _ in range(1000):
        c = rng.uniform(lo, hi)
        if far_from_all(c[None, :], centres, sds, 6.0)[0]:
            return c + rng.standard_normal((m, centres.shape[1])) * 0.2
    raise RuntimeError("no room for an anomaly cluster")


def local(rng, m, centres, sds):
    dense = int(np.argmin(sds))
    d = centres.shape[1]
    u = rng.standard_normal((m, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    r = rng.uniform(3.5, 6.0, size=(m, 1))
    # in d dims a Gaussian's radius concentrates near sqrt(d) sd: stay outside that shell
    r = r + np.sqrt(d)
    return centres[dense] + u * r * sds[dense]


def make_static(rng, kind, d, rate, n):
    k = int(rng.integers(2, 6))
    centres, sds, weights = clusters(rng, d, k)
    if kind == "local":
        sds[0] = 0.3  # one dense cluster next to wider ones
    m = max(1, int(round(n * rate)))
    x = normal_rows(rng, n - m, centres, sds, weights)
    lo = x.min(axis=0) - 0.2 * (x.max(axis=0) - x.min(axis=0))
    hi = x.max(axis=0) + 0.2 * (x.max(axis=0) - x.min(axis=0))
    if kind == "scattered":
        a = scattered(rng, m, centres, sds, lo, hi)
    elif kind == "clustered":
        a = clustered(rng, m, centres, sds, lo, hi)
    elif kind == "local":
        a = local(rng, m, centres, sds)
    else:
        raise ValueError(kind)
    x = np.concatenate([x, a])
    y = np.concatenate([np.zeros(n - m, dtype=int), np.ones(m, dtype=int)])
    perm = rng.permutation(n)
    return x[perm], y[perm]


def make_drift(rng, d, rate, n, drift, stale=False):
    k = int(rng.integers(2, 5))
    centres, sds, weights = clusters(rng, d, k)
    direction = rng.standard_normal(d)
    direction /= np.linalg.norm(direction)
    x = np.empty((n, d))
    y = (rng.uniform(size=n) < rate).astype(int)
    t = np.arange(n) / n
    shift = t[:, None] * drift * direction[None, :]
    normal = normal_rows(rng, n, centres, sds, weights)
    span_lo = centres.min(axis=0) - 3 * sds.max()
    span_hi = centres.max(axis=0) + 3 * sds.max()
    width = span_hi - span_lo
    anom = scattered(rng, int(y.sum()), centres, sds, span_lo - 0.2 * width,
                     span_hi + 0.2 * width)
    x[:] = normal
    x[y == 1] = anom
    x += shift
    if stale:
        idx = np.flatnonzero(y == 1)
        other = np.empty(len(idx))
        for i, r in enumerate(idx):
            while True:
                u = rng.uniform()
                if abs(u - t[r]) >= 0.3:
                    other[i] = u
                    break
        x[idx] = normal_rows(rng, len(idx), centres, sds, weights) + \
            other[:, None] * drift * direction[None, :]
    return x, y


def write_csv(path, x, y):
    d = x.shape[1]
    with open(path, "w") as f:
        f.write(",".join(f"f{j}" for j in range(d)) + ",label\n")
        for row, lab in zip(x, y):
            f.write(",".join(f"{v:.6g}" for v in row) + f",{lab}\n")


SUITE = [
    # (name, kind, d, rate)
    ("scattered_d2_r1", "scattered", 2, 0.01),
    ("scattered_d6_r2", "scattered", 6, 0.02),
    ("scattered_d20_r05", "scattered", 20, 0.005),
    ("clustered_d4_r3", "clustered", 4, 0.03),
    ("clustered_d12_r5", "clustered", 12, 0.05),
    ("local_d2_r1", "local", 2, 0.01),
    ("local_d8_r2", "local", 8, 0.02),
    ("drift_d2_r1", "drift", 2, 0.01),
    ("drift_d6_r2", "drift", 6, 0.02),
    ("driftstale_d2_r1", "drift_stale", 2, 0.01),
    ("driftstale_d6_r2", "drift_stale", 6, 0.02),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="directory (suite) or file (--one)")
    ap.add_argument("--rows", type=int, default=30000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--drift", type=float, default=40.0, help="units moved over the stream")
    ap.add_argument("--one", choices=["scattered", "clustered", "local", "drift", "drift_stale"])
    ap.add_argument("--dim", type=int, default=2)
    ap.add_argument("--rate", type=float, default=0.01)
    a = ap.parse_args()
    if a.one:
        if not 2 <= a.dim <= 20 or not 0.005 <= a.rate <= 0.05:
            sys.exit("--dim must be 2..20 and --rate 0.005..0.05")
        rng = np.random.default_rng(a.seed)
        if a.one.startswith("drift"):
            x, y = make_drift(rng, a.dim, a.rate, a.rows, a.drift, a.one == "drift_stale")
        else:
            x, y = make_static(rng, a.one, a.dim, a.rate, a.rows)
        write_csv(a.out, x, y)
        return
    os.makedirs(a.out, exist_ok=True)
    for i, (name, kind, d, rate) in enumerate(SUITE):
        rng = np.random.default_rng(a.seed * 1000 + i)
        if kind.startswith("drift"):
            x, y = make_drift(rng, d, rate, a.rows, a.drift, kind == "drift_stale")
        else:
            x, y = make_static(rng, kind, d, rate, a.rows)
        write_csv(os.path.join(a.out, name + ".csv"), x, y)
        print(f"{name}: {len(y)} rows, d={d}, {int(y.sum())} anomalies")


if __name__ == "__main__":
    main()
