"""Throughput and peak memory as sequences get longer, at the same total number of timesteps.

Question: does throughput hold and does peak memory stay set by the batch cap (not by the
longest sequence) when the mean length goes from ~300 to ~3,000 to ~30,000? Data: the
reference loops' generator and its scaling recipe (lengths log-uniform over a 50x range around
the mean, seed 3), with the same total timesteps at each mean length: 65,536 with --small,
2,000 x the reference's default mean otherwise.

Each estimator is used as a user would (model sizes matched to the reference, batching keywords
at their defaults): ``fit`` for 2 epochs (throughput of the second, skorch's ``dur``), then
``predict_proba``; peak memory of each is measured around the call, each column named for
what it measures: ``*_rss_peak_mib`` = the process's peak host RSS during the call above its
RSS at the start of the call (/proc VmHWM, reset; on every device), and on CUDA also
``*_cuda_peak_mib`` = ``torch.cuda.max_memory_allocated`` during the call above what was
allocated at its start (device allocator, tensors only). Each (model, mean length) runs in a
fresh subprocess so one measurement's memory cannot hide another's peak. The reference TCN
(V2 bucket fp32, its own loop, its token budget) is run on the same data for comparison.

A variant this machine cannot run is tried on tiny data first and skipped, with the reason in
the table and the JSON. The JSON and the console record the CPU kind (model, AVX512-BF16 /
AMX flags, ``ONEDNN_MAX_CPU_ISA``), versions, device and date.

    python -m benchmarks.scaling --small --device cpu \\
        --json benchmarks/results/scaling_cpu_small.json
    ONEDNN_MAX_CPU_ISA=AVX2 python -m benchmarks.scaling --small --device cpu \\
        --json benchmarks/results/scaling_cpu_avx2_small.json   # a CPU without native bf16
    python -m benchmarks.scaling --json benchmarks/results/scaling_gpu.json   # on a GPU
    python -m benchmarks.scaling --tiny --device cpu --repeats 1 --means 300,3000   # smoke run
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np

from benchmarks import common


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


def scaled_data(mean_length, total):
    lo = mean_length / ((50 - 1) / math.log(50))
    n = max(2, round(total / mean_length))
    return common.make_data(n, lo, 50 * lo, seed=3)


def memory_columns(prefix, mem):
    """The named memory figures of a :class:`common.PeakMemory` block."""
    out = {f"{prefix}_rss_peak_mib": mem.host_peak_mib}
    if mem.device_peak_mib is not None:
        out[f"{prefix}_cuda_peak_mib"] = mem.device_peak_mib
        out[f"{prefix}_cuda_reserved_peak_mib"] = mem.device_reserved_peak_mib
    return out


def measure_ours(name, X, Y, lens, dev):
    total = int(lens.sum())
    with common.PeakMemory(dev) as fit_mem:
        clf, durs, info = common.time_estimator_fit(name, X, Y, dev, epochs=1)
    with common.PeakMemory(dev) as pred_mem:
        s = common.time_predict(lambda: clf.predict_proba(X), dev, repeats=1)
    return dict(
        train=round(total / durs[0]),
        infer=round(total / s),
        **memory_columns("fit", fit_mem),
        **memory_columns("predict", pred_mem),
        **info,
    )


def measure_reference(ref, X, Y, lens, dev, tokens):
    rng = np.random.default_rng(4)
    dd = ref.DeviceData(X, Y, dev)
    n_buck = len(ref.plan_bucketed(lens, tokens, np.random.default_rng(0)))
    with common.PeakMemory(dev) as mem:
        row = ref.measure_train(
            "TCN",
            "V2 bucket",
            ref.TCN,
            lambda: dd.batches(ref.plan_bucketed(lens, tokens, rng)),
            n_buck,
            dev,
            sorted_batches=True,
            max_epochs=1,
        )
    return dict(train=row["real_ts_per_s"], **memory_columns("fit", mem), pad_frac=row["pad_frac"])


def worker(args):
    dev = common.setup(args)
    sizes = common.SIZES[common.size_name(args)]
    X, Y, lens = scaled_data(args.mean, args.total)
    if args.worker == "ref-TCN":
        ref = common.load_reference(args.reference)
        row = dict(model="TCN", variant="ref V2 bucket")
        why = common.reference_cannot_run(ref, "TCN", dev, amp=False)
        if not why:
            row.update(measure_reference(ref, X, Y, lens, dev, sizes["tokens"]))
    else:
        row = dict(model=args.worker, variant="ours default")
        why = common.estimator_cannot_run(lambda: common.make_estimator(args.worker, dev, 1))
        if not why:
            row.update(measure_ours(args.worker, X, Y, lens, dev))
    if why:
        row["note"] = f"skipped: {why}"
    row.update(mean_target=args.mean, **common.data_summary(lens))
    print("RESULT " + json.dumps(row, default=str), flush=True)


def run_worker(args, name, mean, total):
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.scaling",
        "--worker",
        name,
        "--mean",
        str(mean),
        "--total",
        str(total),
        "--device",
        args.device,
        "--threads",
        str(args.threads),
        "--reference",
        args.reference,
    ]
    cmd += ["--small"] if args.small else []
    cmd += ["--tiny"] if args.tiny else []
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = out.stdout[-2000:] + out.stderr[-3000:]
    raise RuntimeError(f"worker {name} mean {mean} failed:\n{tail}")


def main():
    ap = common.base_parser(__doc__.splitlines()[0])
    ap.add_argument("--means", default="300,3000,30000", help="mean sequence lengths")
    ap.add_argument("--total", type=int, default=None, help="timesteps per data set")
    ap.add_argument("--worker", default=None, help=argparse_suppress())
    ap.add_argument("--mean", type=int, default=None, help=argparse_suppress())
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    dev = common.setup(args)
    total = (
        args.total or {"tiny": 2**13, "small": 2**18, "full": 2000 * 1250}[common.size_name(args)]
    )
    ref = common.load_reference(args.reference)
    # the workers load the file this process found (or none), whatever "auto" finds there
    args.reference = getattr(ref, "__file_used__", "none")
    env = common.environment(dev, args)
    env["reference"] = getattr(ref, "__file_used__", None)
    probe = common.PeakMemory(dev)
    with probe:
        pass
    env["memory_method"] = dict(host=probe.host_method, device=probe.device_method)
    print(f"env: {env}")
    models = [m for m in args.models.split(",") if m]
    rows = []
    for mean in (int(m) for m in args.means.split(",")):
        names = models + (["ref-TCN"] if ref is not None and "TCN" in models else [])
        for name in names:
            runs = [run_worker(args, name, mean, total)]
            if "note" not in runs[0]:
                runs += [run_worker(args, name, mean, total) for _ in range(args.repeats - 1)]
                row = max(runs, key=lambda r: r["train"])
                row["train_spread"] = common.best_and_spread([r["train"] for r in runs])[1]
                for key in row:
                    if key.endswith("_peak_mib"):
                        row[key] = max(r[key] for r in runs)
            else:
                row = runs[0]
                print(f"{name} mean {mean}: {row['note']}", flush=True)
            rows.append(row)
            print(row, flush=True)
    memory = ["fit_rss_peak_mib", "predict_rss_peak_mib"]
    if dev.type == "cuda":
        memory += ["fit_cuda_peak_mib", "predict_cuda_peak_mib"]
    common.print_table(
        rows,
        [
            "model",
            "variant",
            "mean_len",
            "max_len",
            "n",
            "total_ts",
            "train",
            "train_spread",
            "infer",
            *memory,
            "note",
        ],
        title=(
            "real timesteps / s and peak memory (MiB) by mean length, same total timesteps; "
            "*_rss_peak_mib = host RSS peak of the call above its start"
            + ("; *_cuda_peak_mib = device allocator peak above its start" if memory[2:] else "")
            + "\n"
            + common.describe_run(env)
        ),
    )
    common.write_json(args.json, dict(env=env, total=total, rows=rows))


if __name__ == "__main__":
    main()
