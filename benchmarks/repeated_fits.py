"""Memory under repeated fits on changing data: does the process keep growing?

Question: a user who fits and predicts again and again in one process (model selection, a
notebook, a service that retrains) on data whose lengths change every time makes oneDNN (and
glibc's malloc) see new shapes every cycle. Does host memory settle, or grow with the cycles?

For each labeler, in a fresh subprocess of its own: ``--cycles`` (50) cycles of fit
(``--epochs`` epochs, a small model) then ``predict`` on freshly generated data (the
reference's generator, a new seed per cycle, so new lengths: ``--n-sequences`` sequences of
20..3,000 steps, some longer than the training windows, plus one sequence of 9,000..12,000
steps for ``predict``, longer than the CPU's batch cap, so the chunked path runs too). After
each cycle the process's host RSS is read from /proc/self/status ``VmRSS`` (and on CUDA the
allocator's allocated and reserved bytes). Reported: RSS after cycles 1, 10, 25 and 50, the
growth from cycle 10 to the last, in MiB and per cycle, and from cycle 1 to the last. With
``--trim``, the cycle ends with ``gc.collect()`` and glibc's ``malloc_trim`` (what a careful
user could add), so growth that remains is live memory rather than memory the allocator kept.

Threads: ``--threads`` (default "auto": the estimator's ``n_threads="auto"``, what a user
gets) through the estimators' ``n_threads`` where they have it, else ``torch.set_num_threads``
(for "auto": torch's default). A labeler this machine cannot run is tried on tiny data first and
skipped, with the reason in the table and the JSON. The JSON and the console record the CPU
kind (model, AVX512-BF16 / AMX flags, ``ONEDNN_MAX_CPU_ISA``), versions, device and date.

    python -m benchmarks.repeated_fits --device cpu \\
        --json benchmarks/results/repeated_fits_cpu.json
    python -m benchmarks.repeated_fits --device cpu --cpu-kind avx2 \\
        --json benchmarks/results/repeated_fits_cpu_avx2.json   # a CPU without native bf16
    python -m benchmarks.repeated_fits --device cuda \\
        --json benchmarks/results/repeated_fits_gpu.json   # on a GPU
    python -m benchmarks.repeated_fits --cycles 5 --models TCN --json /tmp/rf.json  # smoke run

``--cpu-kind avx2`` runs the workers as an AVX2-only CPU (no AVX-512, no AMX, no native bf16):
the Makefile's ``test-avx2`` variables, set before torch is imported.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time

import numpy as np

from benchmarks import common

#: Small models: this measures memory over cycles, not speed.
SMALL_MODELS = {
    "TCN": dict(n_filters=16, kernel_size=3, n_blocks=3, causal=True),
    "LSTM": dict(hidden_size=16, num_layers=1, bidirectional=True),
    "ConvLSTM": dict(n_filters=8, kernel_size=4, pool_size=4, hidden_size=16, num_layers=1),
    "MultiStageTCN": dict(n_filters=16, kernel_size=3, n_blocks=3, n_stages=2),
}
#: What an AVX2-only CPU runs (no AVX-512, no AMX, no native bf16), as the Makefile's
#: ``test-avx2`` emulates it: set in the worker's environment, before torch is imported.
AVX2_ONLY = dict(
    ONEDNN_MAX_CPU_ISA="AVX2", MKL_ENABLE_INSTRUCTIONS="AVX2", ATEN_CPU_CAPABILITY="avx2"
)
#: Cycles after which RSS is reported.
REPORT_AFTER = (1, 10, 25, 50)


def cycle_data(cycle, n_sequences):
    """Training data and prediction data of one cycle: new lengths every cycle."""
    rng = np.random.default_rng(1000 + cycle)
    X, Y, _ = common.make_data(n_sequences, 20, 3000, seed=int(rng.integers(2**31)))
    (x_long,), _, _ = common.make_data(1, 9000, 12000, seed=int(rng.integers(2**31)))
    return X, Y, [*X, x_long]


def make(name, dev, epochs, threads, has_param):
    cls = common.estimator_class(name)
    extra = dict(n_threads=_threads(threads)) if has_param else {}
    return cls(**SMALL_MODELS[name], max_epochs=epochs, device=str(dev), random_state=0, **extra)


def _threads(value):
    return value if value == "auto" else int(value)


# --------------------------------------------------------------------------- worker
def worker(args):
    """In a fresh process: ``--cycles`` cycles of fit + predict for one labeler."""
    import torch

    dev = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    name = args.worker
    has_param = "n_threads" in common.estimator_class(name)().get_params()
    if not has_param and args.threads != "auto":
        torch.set_num_threads(int(args.threads))
    row = dict(model=name, cycles=args.cycles, epochs=args.epochs, trim=args.trim)
    row.update(cpu=common.cpu_kind())  # this process's, with the ISA cap of --cpu-kind
    why = common.estimator_cannot_run(lambda: make(name, dev, 1, args.threads, has_param))
    if why:
        print("RESULT " + json.dumps(dict(row, note=f"skipped: {why}")), flush=True)
        return
    rss, cuda_allocated, cuda_reserved, timesteps = [], [], [], 0
    start = time.perf_counter()
    for cycle in range(args.cycles):
        X, Y, X_predict = cycle_data(cycle, args.n_sequences)
        clf = make(name, dev, args.epochs, args.threads, has_param).fit(X, Y)
        clf.predict(X_predict)
        row.setdefault("precision", clf.net_.precision)
        timesteps += sum(len(x) for x in X)
        del clf, X, Y, X_predict
        if args.trim:
            gc.collect()
            common._malloc_trim()
        rss.append(round(common.rss_mib(), 1))
        if dev.type == "cuda":
            cuda_allocated.append(round(torch.cuda.memory_allocated(dev) / 2**20, 1))
            cuda_reserved.append(round(torch.cuda.memory_reserved(dev) / 2**20, 1))
    row.update(
        seconds=round(time.perf_counter() - start, 1),
        train_timesteps=timesteps,
        rss_mib=rss,
        peak_rss_mib=round(common.peak_rss_mib(), 1),
    )
    if dev.type == "cuda":
        row.update(cuda_allocated_mib=cuda_allocated, cuda_reserved_mib=cuda_reserved)
    print("RESULT " + json.dumps(row), flush=True)


# --------------------------------------------------------------------------- parent
def run_worker(args, name):
    cmd = [sys.executable, "-m", "benchmarks.repeated_fits", "--worker", name]
    cmd += ["--device", args.device, "--cycles", str(args.cycles), "--epochs", str(args.epochs)]
    cmd += ["--threads", str(args.threads), "--n-sequences", str(args.n_sequences)]
    cmd += ["--trim"] if args.trim else []
    env = {**os.environ, **(AVX2_ONLY if args.cpu_kind == "avx2" else {})}
    out = subprocess.run(
        cmd, capture_output=True, text=True, cwd=common.REPO_ROOT, timeout=args.timeout, env=env
    )
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = out.stdout[-2000:] + out.stderr[-3000:]
    raise RuntimeError(f"worker {name} failed:\n{tail}")


def summarise(row):
    """RSS after the reported cycles and the growth from cycle 10 (or the first) to the last."""
    out = dict(model=row["model"], note=row.get("note", ""))
    rss = row.get("rss_mib")
    if not rss:
        return out
    for cycle in [c for c in REPORT_AFTER if c <= len(rss)] + [len(rss)]:
        out[f"rss_after_{cycle}"] = rss[cycle - 1]
    first = 10 if len(rss) > 10 else 1
    growth = rss[-1] - rss[first - 1]
    out["growth_from"] = first
    out["growth_mib"] = round(growth, 1)
    # from the first cycle too: what a service pays over its first cycles (RESULTS 20)
    out["growth_from_1_mib"] = round(rss[-1] - rss[0], 1)
    out["per_cycle_kib"] = round(growth * 1024 / max(1, len(rss) - first), 1)
    out["peak_rss_mib"] = row["peak_rss_mib"]
    out["seconds"] = row["seconds"]
    if "cuda_reserved_mib" in row:
        out["cuda_reserved_last"] = row["cuda_reserved_mib"][-1]
        out["cuda_allocated_last"] = row["cuda_allocated_mib"][-1]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="cpu (the question), cuda or auto")
    ap.add_argument(
        "--models", default="TCN,LSTM,ConvLSTM,MultiStageTCN", help="comma list of estimators"
    )
    ap.add_argument(
        "--cpu-kind",
        default="native",
        choices=["native", "avx2"],
        help="this CPU as it is, or capped to AVX2 in the workers (AVX2_ONLY)",
    )
    ap.add_argument("--cycles", type=int, default=50, help="fit + predict cycles per labeler")
    ap.add_argument("--epochs", type=int, default=2, help="max_epochs of each fit")
    ap.add_argument("--n-sequences", type=int, default=16, help="training sequences per cycle")
    ap.add_argument("--threads", default="auto", help="intra-op threads: a number or auto")
    ap.add_argument("--trim", action="store_true", help="gc + malloc_trim after each cycle")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per labeler")
    ap.add_argument("--json", default=None, help="default benchmarks/results/repeated_fits_*")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)

    import torch

    dev = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    env = common.environment(dev)
    # the parent's own CPU fields do not show the workers' ISA cap: record it apart
    env["workers_cpu_kind"] = args.cpu_kind
    env["workers_environment"] = AVX2_ONLY if args.cpu_kind == "avx2" else {}
    print(f"env: {env}", flush=True)
    rows = []
    for name in [m for m in args.models.split(",") if m]:
        rows.append(run_worker(args, name))
        print({k: v for k, v in rows[-1].items() if not k.endswith("_mib")}, flush=True)
    table = [summarise(r) for r in rows]
    points = [c for c in REPORT_AFTER if c <= args.cycles]
    points += [] if args.cycles in points else [args.cycles]
    columns = ["model", *(f"rss_after_{c}" for c in points), "growth_from", "growth_mib"]
    columns += ["growth_from_1_mib"]
    columns += ["per_cycle_kib", "peak_rss_mib", "seconds"]
    columns += ["cuda_allocated_last", "cuda_reserved_last"] if dev.type == "cuda" else []
    common.print_table(
        table,
        [*columns, "note"],
        title=(
            f"host RSS (MiB, /proc VmRSS) after fit + predict cycles on new data "
            f"({args.epochs} epoch(s) a fit, {args.n_sequences} sequences a cycle"
            f"{', gc + malloc_trim after each cycle' if args.trim else ''}); growth_mib = RSS "
            "after the last cycle - RSS after cycle growth_from; workers run as CPU kind "
            f"{args.cpu_kind!r}\n" + common.describe_run(env)
        ),
    )
    path = args.json or common.default_json("repeated_fits", dev)
    common.write_json(path, dict(env=env, args=vars(args), rows=rows, table=table))


if __name__ == "__main__":
    main()
