"""Long recordings: predict one very long sequence and train on long ones in bounded memory.

Each (model, task) runs in a fresh subprocess so that its peak resident memory (ru_maxrss) is
its own. Prints a table and writes JSON.

    python -m benchmarks.long_sequences                  # 10 M-step predict, 20 x 500 k train
    python -m benchmarks.long_sequences --small          # 1 M / 20 x 50 k, a few minutes
    python -m benchmarks.long_sequences --models tcn --tasks predict
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("tcn", "lstm", "convlstm")
TASKS = ("predict", "train")
N_FEATURES = 6


def resolve_device(device):
    from sk_seqlabel._base import resolve_device

    return resolve_device(device)


def _labeler(name, device):
    from sk_seqlabel import ConvLSTMLabeler, LSTMLabeler, TCNLabeler

    common = dict(max_epochs=1, random_state=0, device=device)
    return {
        "tcn": lambda: TCNLabeler(**common),
        "lstm": lambda: LSTMLabeler(**common),
        "convlstm": lambda: ConvLSTMLabeler(**common),
    }[name]()


def _long_data(n_sequences, length, seed=0):
    """Piecewise-constant labels (mean segment 500 steps) plus unit noise, made in float32 so
    that making the data does not set the process's peak memory."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X, y = [], []
    for _ in range(n_sequences):
        labels = np.cumsum(rng.random(length, dtype=np.float32) < 0.002) % 4
        x = rng.standard_normal((length, N_FEATURES), dtype=np.float32)
        x += labels[:, None]
        X.append(x)
        y.append(labels)
    return X, y


def _peak_rss_mib():
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(model, task, length, n_train, device):
    """Run in the child process: one model, one task; returns a result dict."""
    import torch

    from benchmarks.common import PeakMemory, _status_kib

    clf = _labeler(model, device)
    if task == "predict":
        X_small, y_small = _long_data(8, 2000)
        clf.fit(X_small, y_small)
        (x,), _ = _long_data(1, length, seed=1)
        data_mib = x.nbytes / 2**20
        with PeakMemory(torch.device(clf.net_.device)) as peak:
            rss_start = _status_kib("VmRSS") / 1024
            start = time.perf_counter()
            (proba,) = clf.predict_proba([x])
            seconds = time.perf_counter() - start
        assert proba.shape == (length, 4)
        steps = length
    else:
        X, y = _long_data(n_train, length)
        data_mib = sum(x.nbytes + t.nbytes for x, t in zip(X, y, strict=True)) / 2**20
        with PeakMemory(torch.device(resolve_device(device))) as peak:
            rss_start = _status_kib("VmRSS") / 1024
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
        # whole process over its lifetime: python, torch, the data, the small fit, the call
        peak_rss_mib=round(_peak_rss_mib()),
        rss_at_start_mib=round(rss_start),
        # peak RSS during the call above the RSS at its start (PeakMemory's method)
        call_peak_mib=peak.peak_mib,
        data_mib=round(data_mib),
        memory_method=peak.method,
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
            cmd = [sys.executable, "-m", "benchmarks.long_sequences", "--device", args.device]
            cmd += ["--one", model, task, str(length), "20"]
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
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
    header = (
        f"{'model':9} {'task':8} {'steps':>11} {'seconds':>8} {'steps/s':>9} "
        f"{'peak MiB':>9} {'call MiB':>9} {'data MiB':>9}"
    )
    print(header)
    for r in rows:
        if "error" in r:
            print(f"{r['model']:9} {r['task']:8} failed: {r['error'][-80:]}")
            continue
        print(
            f"{r['model']:9} {r['task']:8} {r['steps']:>11,} {r['seconds']:>8} "
            f"{r['steps_per_s']:>9,} {r['peak_rss_mib']:>9,} {r['call_peak_mib']:>9,} "
            f"{r['data_mib']:>9,}"
        )
    with open(args.json, "w") as f:
        json.dump(dict(meta=meta, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
