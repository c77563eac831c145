"""Fit time on a shared CPU: torch intra-op threads 1, 2 and torch's default, idle and busy.

Question: how long does ``fit`` (``--epochs`` epochs, the reference's model sizes and its
``--small`` data: 48 sequences, 6,513 timesteps) take with 1 or 2 intra-op threads or torch's
default, (a) on an idle machine and (b) next to one busy process (a bounded spin loop in a
subprocess, pinned to one core, always terminated)? On a shared machine a thread that waits
for a busy core can hold up every parallel region of a fit, so more threads can be slower.

Threads are set through the estimators' ``n_threads`` parameter where they have it (applied
around fit only); otherwise with ``torch.set_num_threads`` in the worker. Each (labeler,
threads, load) runs in a fresh subprocess either way, so no setting leaks between them; idle
and busy runs of one configuration are interleaved. "default" is torch's own thread count in
a fresh process (recorded); "auto" (only where the estimator has ``n_threads``) is the
estimator's ``n_threads="auto"``. A skorch callback records the intra-op threads torch
actually had during each fit. Fit time = wall time of ``fit``, median of ``--repeats`` fits.

A configuration this machine cannot run is tried on tiny data first and skipped, with the
reason in the table and the JSON. The JSON and the console record the CPU kind (model,
AVX512-BF16 / AMX flags, ``ONEDNN_MAX_CPU_ISA``), versions, device and date.

    python -m benchmarks.shared_cpu --device cpu --json benchmarks/results/shared_cpu_cpu.json
    ONEDNN_MAX_CPU_ISA=AVX2 python -m benchmarks.shared_cpu --device cpu \\
        --json benchmarks/results/shared_cpu_cpu_avx2.json   # a CPU without native bf16
    python -m benchmarks.shared_cpu --device cuda --json benchmarks/results/shared_cpu_gpu.json
    python -m benchmarks.shared_cpu --tiny --device cpu --repeats 1 --epochs 1 \\
        --models TCN --json /tmp/shared_cpu.json   # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from benchmarks import common

#: Seconds a spin loop may run at most, whatever happens to this process.
SPIN_LIMIT_S = 900
SPIN_CODE = "import time\nt = time.time() + {limit}\nwhile time.time() < t:\n    pass\n"


def thread_configs(has_n_threads):
    return ["1", "2", "default"] + (["auto"] if has_n_threads else [])


# --------------------------------------------------------------------------- worker
def worker(args):
    """In a fresh process: fit one labeler ``--repeats`` times with one thread setting."""
    import torch
    from skorch.callbacks import Callback

    class ThreadsSeen(Callback):
        """Record the intra-op threads torch has while the fit runs its epochs."""

        def on_epoch_end(self, net, **kwargs):
            net.history.record("torch_threads", torch.get_num_threads())

    torch_default = torch.get_num_threads()
    dev = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    name, config = args.worker, args.config
    has_param = "n_threads" in common.estimator_class(name)().get_params()
    threads = {"default": torch_default, "auto": "auto"}.get(config) or int(config)
    extra = {}
    if has_param:
        extra["n_threads"] = threads
    else:
        torch.set_num_threads(threads)
    row = dict(
        model=name,
        threads=config,
        load=args.load,
        torch_default_threads=torch_default,
        set_through="n_threads" if has_param else "torch.set_num_threads",
    )
    why = common.estimator_cannot_run(lambda: common.make_estimator(name, dev, 1, **extra))
    if why:
        row["note"] = f"skipped: {why}"
        print("RESULT " + json.dumps(row), flush=True)
        return
    sizes = common.SIZES[common.size_name(args)]
    X, Y, lens = common.make_data(sizes["n"], sizes["lo"], sizes["hi"], seed=0)
    fit_s, epoch_s, seen = [], [], set()
    for _ in range(args.repeats):
        clf = common.make_estimator(
            name, dev, args.epochs, callbacks=[("threads_seen", ThreadsSeen())], **extra
        )
        common.sync(dev)
        start = time.perf_counter()
        clf.fit(X, Y)
        common.sync(dev)
        fit_s.append(time.perf_counter() - start)
        epoch_s += list(clf.net_.history[:, "dur"])
        seen.update(clf.net_.history[:, "torch_threads"])
    row.update(
        fit_s=round(common.median(fit_s), 3),
        fit_s_rounds=[round(s, 3) for s in fit_s],
        epoch_s=round(common.median(epoch_s), 4),
        threads_in_fit=sorted(seen),
        precision=str(clf.net_.precision),
        timesteps=int(lens.sum()),
        epochs=args.epochs,
    )
    print("RESULT " + json.dumps(row), flush=True)


# --------------------------------------------------------------------------- parent
def start_spinner():
    """A busy process: a spin loop with a hard time limit, pinned to one core if possible."""
    proc = subprocess.Popen([sys.executable, "-c", SPIN_CODE.format(limit=SPIN_LIMIT_S)])
    core = None
    try:
        core = max(os.sched_getaffinity(0))
        os.sched_setaffinity(proc.pid, {core})
    except (AttributeError, OSError):  # not Linux, or the process already ended
        core = None
    time.sleep(0.2)  # let it start spinning
    return proc, core


def stop_spinner(proc):
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_worker(args, name, config, load):
    cmd = [sys.executable, "-m", "benchmarks.shared_cpu", "--worker", name, "--config", config]
    cmd += ["--load", load, "--device", args.device, "--repeats", str(args.repeats)]
    cmd += ["--epochs", str(args.epochs)]
    cmd += ["--small"] if args.small else []
    cmd += ["--tiny"] if args.tiny else []
    spinner = core = None
    try:
        if load == "busy":
            spinner, core = start_spinner()
        out = subprocess.run(
            cmd, capture_output=True, text=True, cwd=common.REPO_ROOT, timeout=args.timeout
        )
    finally:
        if spinner is not None:
            stop_spinner(spinner)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            row = json.loads(line[len("RESULT ") :])
            if load == "busy":
                row["busy_core"] = core
            return row
    tail = out.stdout[-2000:] + out.stderr[-3000:]
    raise RuntimeError(f"worker {name} threads {config} {load} failed:\n{tail}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="the --small data (the default)")
    ap.add_argument("--tiny", action="store_true", help="smoke-run data (seconds; not figures)")
    ap.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda")
    ap.add_argument("--models", default="TCN,LSTM,ConvLSTM", help="comma list of estimators")
    ap.add_argument("--epochs", type=int, default=3, help="max_epochs of each fit")
    ap.add_argument("--repeats", type=int, default=3, help="fits per configuration (median)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per configuration")
    ap.add_argument("--json", default=None, help="default benchmarks/results/shared_cpu_*.json")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--config", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--load", default="idle", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.small = args.small or not args.tiny  # --small sizes unless --tiny
    if args.worker:
        return worker(args)

    import torch

    dev = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    env = common.environment(dev)
    env["spin_limit_s"] = SPIN_LIMIT_S
    print(f"env: {env}", flush=True)
    rows = []
    for name in [m for m in args.models.split(",") if m]:
        has_param = "n_threads" in common.estimator_class(name)().get_params()
        for config in thread_configs(has_param):
            for load in ("idle", "busy"):
                rows.append(run_worker(args, name, config, load))
                print(rows[-1], flush=True)
    table = summarise(rows)
    common.print_table(
        table,
        [
            "model",
            "threads",
            "threads_in_fit",
            "idle_s",
            "busy_s",
            "idle_vs_1",
            "busy_vs_1",
            "busy_vs_idle",
            "note",
        ],
        title=(
            f"fit seconds ({args.epochs} epochs, median of {args.repeats}); *_vs_1 = seconds / "
            "seconds with 1 thread under the same load (< 1: faster than 1 thread); busy = one "
            "spinning process pinned to one core\n" + common.describe_run(env)
        ),
    )
    path = args.json or common.default_json("shared_cpu", dev)
    common.write_json(path, dict(env=env, args=vars(args), rows=rows, table=table))


def summarise(rows):
    """One row per (model, threads): idle and busy seconds and their ratios."""
    by_key = {(r["model"], r["threads"], r["load"]): r for r in rows}
    table = []
    for (model, threads, load), r in by_key.items():
        if load != "idle":
            continue
        busy = by_key.get((model, threads, "busy"), {})
        one_idle = by_key.get((model, "1", "idle"), {}).get("fit_s")
        one_busy = by_key.get((model, "1", "busy"), {}).get("fit_s")
        idle_s, busy_s = r.get("fit_s"), busy.get("fit_s")
        table.append(
            dict(
                model=model,
                threads=threads,
                threads_in_fit=r.get("threads_in_fit"),
                idle_s=idle_s,
                busy_s=busy_s,
                idle_vs_1=_ratio(idle_s, one_idle),
                busy_vs_1=_ratio(busy_s, one_busy),
                busy_vs_idle=_ratio(busy_s, idle_s),
                note=r.get("note") or busy.get("note", ""),
            )
        )
    return table


def _ratio(a, b):
    return round(a / b, 2) if a and b else None


if __name__ == "__main__":
    main()
