"""Long recordings: predict one very long sequence and train on long ones in bounded memory.

Question: how fast, and in how much memory, does each labeler at its defaults predict one
recording of 10,000,000 steps (``predict_proba``, after a small fit) and train one epoch on
20 recordings of 500,000 steps? Data: 6 features, piecewise-constant labels (4 classes,
segments of ~500 steps) plus unit noise, float32.

Each (model, task) runs in a fresh subprocess, so its memory figures are its own. Memory
columns, each named for what it measures:

  process RSS peak  host: the subprocess's peak resident set size over its whole life
                    (python, torch, the data, the small fit, the call; ``ru_maxrss``)
  call RSS peak     host: peak RSS during the call above the RSS at its start (/proc VmHWM,
                    reset through clear_refs after ``malloc_trim``)
  call CUDA peak    device (CUDA only): ``torch.cuda.max_memory_allocated`` during the call
                    above what was allocated at its start (tensors held by torch's caching
                    allocator; the JSON also has the reserved peak); empty on the CPU
  data              the input arrays (and labels for training)

A model this machine cannot run is tried on tiny data first and skipped, with the reason in
the table and the JSON. The JSON and the console record the CPU kind (model, AVX512-BF16 /
AMX flags, ``ONEDNN_MAX_CPU_ISA``), versions, device and date.

    python -m benchmarks.long_sequences --device cpu \\
        --json benchmarks/results/long_sequences_cpu.json   # 10 M-step predict, 20 x 500 k
    ONEDNN_MAX_CPU_ISA=AVX2 python -m benchmarks.long_sequences --device cpu \\
        --json benchmarks/results/long_sequences_cpu_avx2.json   # a CPU without native bf16
    python -m benchmarks.long_sequences --small   # 1 M / 20 x 50 k, a few minutes
    python -m benchmarks.long_sequences --device cuda \\
        --json benchmarks/results/long_sequences_gpu.json   # on a GPU
    python -m benchmarks.long_sequences --tiny --device cpu --json /tmp/long.json   # smoke run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("tcn", "lstm", "convlstm")
TASKS = ("predict", "train")
N_FEATURES = 6
#: (predict length, train length, train sequences) of each size.
SIZES = {
    "tiny": (20_000, 5_000, 4),
    "small": (1_000_000, 50_000, 20),
    "full": (10_000_000, 500_000, 20),
}


def _device(device):
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _labeler(name, device):
    from sk_seqlabel import ConvLSTMLabeler, LSTMLabeler, TCNLabeler

    cls = {"tcn": TCNLabeler, "lstm": LSTMLabeler, "convlstm": ConvLSTMLabeler}[name]
    return cls(max_epochs=1, random_state=0, device=device)


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


def run_one(model, task, length, n_train, device):
    """Run in the child process: one model, one task; returns a result dict."""
    from benchmarks import common

    dev = _device(device)
    row = dict(model=model, task=task, device=str(dev))
    # Tried first on tiny data, predicting one sequence long enough for the chunked path on a
    # CPU; a model this machine cannot run is reported, not measured.
    X_tiny, y_tiny = _long_data(4, 500, seed=2)
    (x_long,), _ = _long_data(1, 9_000, seed=3)
    why = common.estimator_cannot_run(
        lambda: _labeler(model, device), X_tiny, y_tiny, X_predict=[*X_tiny, x_long]
    )
    if why:
        return dict(row, note=f"skipped: {why}")
    clf = _labeler(model, device)
    if task == "predict":
        X_small, y_small = _long_data(8, 2000)
        clf.fit(X_small, y_small)
        (x,), _ = _long_data(1, length, seed=1)
        data_mib = x.nbytes / 2**20
        with common.PeakMemory(dev) as peak:
            rss_start = common.rss_mib()
            start = time.perf_counter()
            (proba,) = clf.predict_proba([x])
            seconds = time.perf_counter() - start
        assert proba.shape == (length, 4)
        steps = length
    else:
        X, y = _long_data(n_train, length)
        data_mib = sum(x.nbytes + t.nbytes for x, t in zip(X, y, strict=True)) / 2**20
        with common.PeakMemory(dev) as peak:
            rss_start = common.rss_mib()
            start = time.perf_counter()
            clf.fit(X, y)
            seconds = time.perf_counter() - start
        steps = n_train * length
    return dict(
        row,
        steps=steps,
        seconds=round(seconds, 2),
        steps_per_s=round(steps / seconds),
        precision=str(clf.net_.precision),
        # intra-op threads of the call: the estimator's n_threads="auto" where it has one
        threads=getattr(getattr(clf.net_, "policy", None), "n_threads", None),
        # host RSS peak of the whole process over its lifetime
        process_rss_peak_mib=round(common.peak_rss_mib()),
        rss_at_start_mib=round(rss_start),
        # host RSS peak during the call above the RSS at its start
        call_rss_peak_mib=peak.host_peak_mib,
        # device allocator peak during the call above its start (CUDA only)
        call_cuda_peak_mib=peak.device_peak_mib,
        call_cuda_reserved_peak_mib=peak.device_reserved_peak_mib,
        data_mib=round(data_mib, 1),
        memory_methods=dict(host=peak.host_method, device=peak.device_method),
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="1 M-step predict, 20 x 50 k train")
    ap.add_argument("--tiny", action="store_true", help="smoke run: 20 k predict, 4 x 5 k train")
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
    from benchmarks import common

    size = "tiny" if args.tiny else "small" if args.small else "full"
    predict_length, train_length, n_train = SIZES[size]
    env = common.environment(_device(args.device))
    print(f"env: {env}", flush=True)
    rows = []
    for task in args.tasks.split(","):
        for model in args.models.split(","):
            length = predict_length if task == "predict" else train_length
            cmd = [sys.executable, "-m", "benchmarks.long_sequences", "--device", args.device]
            cmd += ["--one", model, task, str(length), str(n_train)]
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if done.returncode:
                print(done.stderr[-2000:], file=sys.stderr)
                rows.append(dict(model=model, task=task, note=f"failed: {done.stderr[-300:]}"))
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    for r in rows:
        if "steps" in r:
            r["steps"] = (
                f"{r['steps']:,}" if r["task"] == "predict" else f"{n_train} x {train_length:,}"
            )
    memory = ["process_rss_peak_mib", "call_rss_peak_mib"]
    if env["device"].startswith("cuda"):
        memory.append("call_cuda_peak_mib")
    common.print_table(
        rows,
        [
            "model",
            "task",
            "precision",
            "threads",
            "steps",
            "seconds",
            "steps_per_s",
            *memory,
            "data_mib",
            "note",
        ],
        title=(
            "long recordings: process_rss_peak = host RSS peak of the whole subprocess; "
            "call_rss_peak = host RSS peak of the call above its start"
            + ("; call_cuda_peak = device allocator peak above its start" if memory[2:] else "")
            + f"\n{common.describe_run(env)}"
        ),
    )
    common.write_json(args.json, dict(env=env, size=size, rows=rows))


if __name__ == "__main__":
    main()
