#!/usr/bin/python3
"""ROC AUC of assay's streaming isolation forest next to scikit-learn's batch one.

For every CSV (columns f0..f{d-1},label as written by tools/anomaly_gen.py):
  - sklearn: IsolationForest(n_estimators=100, max_samples=256) fitted on the whole
    file, score = -score_samples(X) (Debian: apt-get install python3-sklearn)
  - assay: one pass, score-then-learn, default options (T=100, psi=256, window=2048,
    10 % of the trees regrown every 1000 rows), end to end through the product:
    assay check -c CONFIG --threads 1 --no-profile --row-scores OUT FILE
    with a config naming f0..f{d-1} under anomaly.columns (seed = the run's seed)
A second streaming column (assay/r10k) refreshes every 10000 rows instead, to show the
drift trade-off (cheaper, slower to follow).
The first `window` rows get no streaming score (not ready); both AUCs are computed on
the rows that have one, and sklearn's on all rows is shown too.

  tools/iforest_auc.py [--build build] [--gen DIR] [--seeds 3] [CSV ...]
With no CSV, generates the standard suite into --gen (default /tmp/assay_anomaly_sets)
unless it is already there.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np

try:
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score
except ImportError:
    sys.exit("needs scikit-learn: apt-get install python3-sklearn (and run with /usr/bin/python3)")

HERE = os.path.dirname(os.path.abspath(__file__))


def load(path):
    data = np.genfromtxt(path, delimiter=",", skip_header=1)
    return data[:, :-1], data[:, -1].astype(int)


def ours(assay, path, d, seed, refresh, tmp):
    cfg = os.path.join(tmp, "anomaly.yaml")
    out = os.path.join(tmp, "scores.csv")
    cols = ", ".join(f"f{i}" for i in range(d))
    with open(cfg, "w") as f:
        f.write(f"asset: auc\nanomaly: {{columns: [{cols}], seed: {seed}, refresh: {refresh}}}\n")
    subprocess.run([assay, "check", "-c", cfg, "--threads", "1", "--no-profile", "--json",
                    "--row-scores", out, path], check=True, capture_output=True)
    scores = []
    with open(out) as f:
        for i, line in enumerate(f, 1):
            row, score = line.rstrip("\n").split(",")
            if int(row) != i:
                sys.exit(f"{out}: line {i} is row {row}")
            scores.append(float(score) if score else float("nan"))
    return np.array(scores)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--gen", default="/tmp/assay_anomaly_sets")
    ap.add_argument("--seeds", type=int, default=3,
                    help="AUCs are means over seeds 0..N-1 (single runs vary by +-0.02)")
    ap.add_argument("csv", nargs="*")
    a = ap.parse_args()
    assay = os.path.join(a.build, "src", "assay")
    if not os.access(assay, os.X_OK):
        sys.exit(f"{assay} not built: ninja -C {a.build}")
    tmp = tempfile.mkdtemp(prefix="assay_auc_")
    files = a.csv
    if not files:
        if not glob.glob(os.path.join(a.gen, "*.csv")):
            subprocess.run([sys.executable, os.path.join(HERE, "anomaly_gen.py"), "--out", a.gen],
                           check=True)
        files = sorted(glob.glob(os.path.join(a.gen, "*.csv")))
    print(f"{'dataset':<22} {'rows':>6} {'d':>3} {'anom':>5}  {'sklearn(all)':>12} "
          f"{'sklearn':>8} {'assay':>8} {'diff':>7} {'assay/r10k':>10} {'diff':>7}")
    for path in files:
        x, y = load(path)
        aucs = []
        for seed in range(a.seeds):
            sk = -IsolationForest(n_estimators=100, max_samples=256,
                                  random_state=seed).fit(x).score_samples(x)
            s = ours(assay, path, x.shape[1], seed, 1000, tmp)
            s2 = ours(assay, path, x.shape[1], seed, 10000, tmp)
            if len(s) != len(y) or len(s2) != len(y):
                sys.exit(f"{path}: assay gave {len(s)} scores for {len(y)} rows")
            ready = ~np.isnan(s)
            aucs.append((roc_auc_score(y, sk), roc_auc_score(y[ready], sk[ready]),
                         roc_auc_score(y[ready], s[ready]), roc_auc_score(y[ready], s2[ready])))
        auc_all, auc_sk, auc_us, auc_r1k = np.mean(aucs, axis=0)
        name = os.path.splitext(os.path.basename(path))[0]
        print(f"{name:<22} {len(y):>6} {x.shape[1]:>3} {int(y.sum()):>5}  {auc_all:>12.4f} "
              f"{auc_sk:>8.4f} {auc_us:>8.4f} {auc_us - auc_sk:>+7.4f} {auc_r1k:>10.4f} "
              f"{auc_r1k - auc_sk:>+7.4f}")


if __name__ == "__main__":
    main()
