"""Shared pieces of the benchmark scripts: data, the reference loops, timing and memory.

Every script measures throughput as REAL (non-padding) timesteps per second, on the same
synthetic data as the hand-written reference loops (``reference_loops.py``: 16 features, 5
classes, lengths log-uniform, piecewise-constant labels), with model sizes matched to theirs.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

N_FEATURES, N_CLASSES = 16, 5
DEFAULT_REFERENCE = "/work/shared/bench/reference_loops.py"
FALLBACK_REFERENCE = ".whl/reference_loops.py"

#: Data sizes of ``reference_loops.py``: ``--small`` (its CPU dry run) and its default run.
SIZES = {
    True: dict(n=48, lo=20, hi=400, naive_batch_size=8, tokens=2048),
    False: dict(n=2000, lo=100, hi=5000, naive_batch_size=32, tokens=65536),
}

#: Estimator keywords that give the reference loops' models (TCN, BiLSTM, ConvLSTM).
#: The reference TCN is causal; its ConvLSTM's LSTM is one unidirectional layer.
ESTIMATOR_PARAMS = {
    "TCN": dict(n_filters=64, kernel_size=5, n_blocks=4, causal=True),
    "LSTM": dict(hidden_size=128, num_layers=2, bidirectional=True),
    "ConvLSTM": dict(
        n_filters=32, kernel_size=8, pool_size=4, hidden_size=64, num_layers=1, bidirectional=False
    ),
}
#: The reference model each estimator is compared with.
REFERENCE_MODEL = {"TCN": "TCN", "LSTM": "BiLSTM", "ConvLSTM": "ConvLSTM"}


# --------------------------------------------------------------------------- data
def make_data(n, lo, hi, seed):
    """Exactly ``reference_loops.make_data``: list of (T_i, 16) float32, labels, lengths."""
    rng = np.random.default_rng(seed)
    lens = np.exp(rng.uniform(np.log(lo), np.log(hi), size=n)).round().astype(np.int64)
    means = rng.standard_normal((N_CLASSES, N_FEATURES)).astype(np.float32)
    X, Y = [], []
    for L in lens:
        seg = np.cumsum(rng.random(L) < 0.01)
        y = rng.integers(0, N_CLASSES, seg[-1] + 1)[seg]
        x = means[y] + rng.standard_normal((L, N_FEATURES), dtype=np.float32)
        X.append(x.astype(np.float32, copy=False))
        Y.append(y.astype(np.int64))
    return X, Y, lens


def data_summary(lens):
    return dict(
        n=len(lens),
        mean_len=round(float(np.mean(lens)), 1),
        max_len=int(np.max(lens)),
        total_ts=int(np.sum(lens)),
    )


# --------------------------------------------------------------------------- reference
def load_reference(path):
    """Import ``reference_loops.py`` from ``path`` (or the fallback); None when ``path`` is
    ``"none"`` or neither file exists."""
    if path == "none":
        return None
    for candidate in (path, FALLBACK_REFERENCE):
        if candidate and Path(candidate).is_file():
            spec = importlib.util.spec_from_file_location("reference_loops", candidate)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            module.__file_used__ = str(Path(candidate).resolve())
            return module
    print(f"reference loops not found at {path!r} nor {FALLBACK_REFERENCE!r}; skipping them")
    return None


def check_same_data(ref, X, lens, n, lo, hi, seed):
    """Fail loudly if our copy of the generator drifts from the reference's."""
    Xr, _, lr = ref.make_data(n, lo, hi, seed)
    same = np.array_equal(lr, lens) and all(
        np.array_equal(a, b) for a, b in zip(Xr, X, strict=True)
    )
    assert same, "benchmarks.common.make_data differs from reference_loops.make_data"


# --------------------------------------------------------------------------- device, timing
def base_parser(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--small", action="store_true", help="reference_loops --small sizes (CPU)")
    ap.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda")
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (CPU)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds; best is kept")
    ap.add_argument(
        "--reference",
        default=DEFAULT_REFERENCE,
        help=f"reference_loops.py to compare with (fallback {FALLBACK_REFERENCE}; 'none')",
    )
    ap.add_argument("--models", default="TCN,LSTM,ConvLSTM", help="comma list of estimators")
    return ap


def setup(args):
    torch.set_num_threads(args.threads)
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def environment(dev, args):
    import skorch

    env = dict(
        date=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        command=" ".join(shlex.quote(a) for a in ["python", *sys.orig_argv[1:]]),
        python=platform.python_version(),
        torch=torch.__version__,
        skorch=skorch.__version__,
        numpy=np.__version__,
        device=str(dev),
        torch_threads=torch.get_num_threads(),
        cpu_count=os.cpu_count(),
        machine=platform.machine(),
    )
    if dev.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(dev)
    try:
        env["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return env


def best_and_spread(values):
    """Best (max) of throughputs and the spread ``max / min - 1`` between rounds."""
    values = [v for v in values if v]
    if not values:
        return None, None
    return max(values), round(max(values) / min(values) - 1, 3)


def median(values):
    return statistics.median(values)


# --------------------------------------------------------------------------- memory
def _status_kib(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1])
    return None


def _malloc_trim():
    """Give freed heap memory back to the OS (glibc), so RSS measures live memory only and a
    block's peak is not hidden by memory an earlier block freed but the process kept."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """Peak memory of a block: CUDA ``max_memory_allocated``, or on the CPU the process's peak
    RSS above its RSS at entry (``VmHWM`` from /proc, reset through /proc/self/clear_refs, after
    glibc's ``malloc_trim``;
    falls back to ``resource.getrusage`` when /proc cannot be reset, which then reports the
    process-lifetime peak)."""

    def __init__(self, dev):
        self.dev = dev
        self.peak_mib = None
        self.method = None

    def __enter__(self):
        if self.dev.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(self.dev)
            self.base = torch.cuda.memory_allocated(self.dev)
            self.method = "cuda max_memory_allocated - allocated at start"
            return self
        _malloc_trim()
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self.base = _status_kib("VmRSS") * 1024
            self.method = "VmHWM - VmRSS at start (/proc, peak reset)"
        except OSError:
            import resource

            self.base = 0
            self._rusage = resource
            self.method = "ru_maxrss (process-lifetime peak, not reset)"
        return self

    def __exit__(self, *exc):
        if self.dev.type == "cuda":
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated(self.dev)
        elif self.method.startswith("VmHWM"):
            peak = _status_kib("VmHWM") * 1024
        else:
            peak = self._rusage.getrusage(self._rusage.RUSAGE_SELF).ru_maxrss * 1024
        self.peak_mib = round((peak - self.base) / 2**20, 1)
        return False


# --------------------------------------------------------------------------- estimators
def make_estimator(name, dev, max_epochs, **extra):
    from sk_seqlabel import ConvLSTMLabeler, LSTMLabeler, TCNLabeler

    cls = {"TCN": TCNLabeler, "LSTM": LSTMLabeler, "ConvLSTM": ConvLSTMLabeler}[name]
    return cls(
        **ESTIMATOR_PARAMS[name],
        max_epochs=max_epochs,
        device=str(dev),
        random_state=0,
        **extra,
    )


def time_estimator_fit(name, X, Y, dev, epochs=2, **extra):
    """Fit for ``1 + epochs`` epochs; return per-epoch seconds of the epochs after the first.

    The epoch time is skorch's ``history[:, "dur"]`` (EpochTimer: from ``on_epoch_begin`` to
    ``on_epoch_end``, so it covers batching, collate, forward, backward, optimizer step and
    skorch's per-batch bookkeeping, and nothing of ``fit``'s one-off validation and setup).
    On CUDA the clock is read after the epoch's losses came back to the host (SequenceNet
    reads them once at the end of each epoch's training and validation loops), so the epoch's
    kernels are inside the time.
    """
    clf = make_estimator(name, dev, 1 + epochs, **extra)
    t = time.perf_counter()
    clf.fit(X, Y)
    sync(dev)
    fit_s = time.perf_counter() - t
    durs = list(clf.net_.history[:, "dur"])
    return clf, durs[1:], dict(fit_s=round(fit_s, 3), first_epoch_s=round(durs[0], 3))


def time_predict(fn, dev, repeats=2):
    """Best wall time of ``fn()`` (after one warm-up call)."""
    fn()
    sync(dev)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync(dev)
        times.append(time.perf_counter() - t)
    return min(times)


# --------------------------------------------------------------------------- output
def print_table(rows, columns, title=None):
    if title:
        print(f"\n{title}")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c, "")
            if isinstance(v, float):
                v = f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
            elif isinstance(v, int) and abs(v) >= 10000:
                v = f"{v:,}"
            cells.append(str(v))
        print("| " + " | ".join(cells) + " |")


def write_json(path, payload):
    if not path:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        json.dump(payload, fh, indent=1, default=str)
    print(f"\nwrote {path}")
