"""Long recordings: predict one very long sequence and train on long ones in bounded memory.

Each (model, task) runs in a fresh subprocess so that its peak resident memory (ru_maxrss) is
its own. Prints a table and writes JSON.

    python benchmarks/long_sequences.py                      # 10 M-step predict, 20 x 500 k train
    python benchmarks/long_sequences.py --small              # 1 M / 20 x 50 k, a few minutes
    python benchmarks/long_sequences.py --models tcn --tasks predict
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time

MODELS = ("tcn", "lstm", "convlstm")
TASKS = ("predict", "train")
N_FEATURES = 6


def _labeler(name, device):
    from sk_seqlabel import ConvLSTMLabeler, LSTMLabeler, TCNLabeler

    common = dict(max_epochs=1, random_state=0, device=device)
    return {
        "tcn": lambda: TCNLabeler(**common),
        "lstm": lambda: LSTMLabeler(**common),
        "convlstm": lambda: ConvLSTMLabeler(**common),
    }[name]()


def _long_data(n_sequences, length, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    X, y = [], []
    for _ in range(n_sequences):
        labels = (np.cumsum(rng.random(length) < 0.002) % 4).astype(np.int64)
        X.append((labels[:, None] + rng.standard_normal((length, N_FEATURES))).astype("float32"))
        y.append(labels)
    return X, y


def _peak_rss_mib():
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(model, task, length, n_train, device):
    """Run in the child process: one model, one task; returns a result dict."""
    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    clf = _labeler(model, device)
    if task == "predict":
        X_small, y_small = _long_data(8, 2000)
        clf.fit(X_small, y_small)
        (x,), _ = _long_data(1, length, seed=1)
        rss_before = _peak_rss_mib()
        start = time.perf_counter()
        (proba,) = clf.predict_proba([x])
        seconds = time.perf_counter() - start
        assert proba.shape == (length, 4)
        steps = length
    else:
        X, y = _long_data(n_train, length)
        rss_before = _peak_rss_mib()
        start = time.perf_counter()
        clf.fit(X, y)
        seconds = time.perf_counter() - start
        steps = n_train * length
    return dict(
        model=model,
        task=task,
        steps=steps,
        seconds=round(seconds, 2),
        steps_per_s=round(steps / seconds),
        peak_rss_mib=round(_peak_rss_mib()),
        rss_before_mib=round(rss_before),
        device=str(clf.net_.device),
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="1 M-step predict, 20 x 50 k train")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", default="long_sequences.json")
    ap.add_argument(
        "--one", nargs=4, metavar=("MODEL", "TASK", "LENGTH", "N"), help=argparse.SUPPRESS
    )
    args = ap.parse_args(argv)
    if args.one:
        model, task, length, n = args.one
        print(json.dumps(run_one(model, task, int(length), int(n), args.device)))
        return
    predict_length, train_length = (1_000_000, 50_000) if args.small else (10_000_000, 500_000)
    rows = []
    for task in args.tasks.split(","):
        for model in args.models.split(","):
            length = predict_length if task == "predict" else train_length
            cmd = [sys.executable, __file__, "--device", args.device]
            cmd += ["--one", model, task, str(length), "20"]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                print(done.stderr[-2000:], file=sys.stderr)
                rows.append(dict(model=model, task=task, error=done.stderr[-300:]))
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    import torch

    meta = dict(
        python=platform.python_version(),
        torch=torch.__version__,
        machine=platform.machine(),
        cpus=torch.get_num_threads(),
        date=time.strftime("%Y-%m-%d"),
        command=" ".join([sys.argv[0], *(argv or sys.argv[1:])]),
    )
    header = f"{'model':9} {'task':8} {'steps':>11} {'seconds':>8} {'steps/s':>9} {'peak MiB':>9}"
    print(header)
    for r in rows:
        if "error" in r:
            print(f"{r['model']:9} {r['task']:8} failed: {r['error'][-80:]}")
            continue
        print(
            f"{r['model']:9} {r['task']:8} {r['steps']:>11,} {r['seconds']:>8} "
            f"{r['steps_per_s']:>9,} {r['peak_rss_mib']:>9,}"
        )
    with open(args.json, "w") as f:
        json.dump(dict(meta=meta, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
