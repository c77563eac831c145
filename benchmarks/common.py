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
REPO_ROOT = Path(__file__).resolve().parents[1]
#: Where ``--reference auto`` looks for ``reference_loops.py``, in order: the ``shared/`` folder
#: beside the repository (developers have it there; CI clones the repository with a copy of
#: ``shared/`` beside it), then ``.whl/`` inside the repository.
REFERENCE_CANDIDATES = (
    REPO_ROOT.parent / "shared" / "bench" / "reference_loops.py",
    REPO_ROOT / ".whl" / "reference_loops.py",
)

#: Data sizes of ``reference_loops.py``: ``--small`` (its CPU dry run) and its default run, plus
#: ``--tiny`` (smoke runs of the scripts: seconds, no meaningful figures).
SIZES = {
    "tiny": dict(n=12, lo=20, hi=120, naive_batch_size=4, tokens=512),
    "small": dict(n=48, lo=20, hi=400, naive_batch_size=8, tokens=2048),
    "full": dict(n=2000, lo=100, hi=5000, naive_batch_size=32, tokens=65536),
}


def size_name(args):
    """The data size the ``--tiny`` / ``--small`` flags name: "tiny", "small" or "full"."""
    return "tiny" if getattr(args, "tiny", False) else "small" if args.small else "full"


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
def find_reference(arg):
    """``(path, how)`` of the ``reference_loops.py`` to use, or ``(None, why not)``.

    ``arg`` is the ``--reference`` value: "none" skips the reference, "auto" takes the first of
    :data:`REFERENCE_CANDIDATES` that exists, anything else is a path that must exist.
    """
    if arg == "none":
        return None, "skipped: --reference none"
    if arg != "auto":
        path = Path(arg)
        if not path.is_file():
            raise SystemExit(
                f"--reference {arg!r} is not a file; pass the path of reference_loops.py, "
                "'auto' (look beside the repository) or 'none' (skip the reference rows)."
            )
        return path.resolve(), "from --reference"
    for path in REFERENCE_CANDIDATES:
        if path.is_file():
            return path.resolve(), "found by --reference auto"
    tried = ", ".join(str(p) for p in REFERENCE_CANDIDATES)
    return None, f"not found at {tried}; pass --reference PATH"


def load_reference(arg):
    """Import ``reference_loops.py`` as :func:`find_reference` chooses it and print which one
    was used; None when there is none (its rows are then left out)."""
    path, how = find_reference(arg)
    if path is None:
        print(f"reference loops: none ({how}); reference rows are left out", flush=True)
        return None
    print(f"reference loops: {path} ({how})", flush=True)
    spec = importlib.util.spec_from_file_location("reference_loops", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.__file_used__ = str(path)
    return module


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
    ap.add_argument("--tiny", action="store_true", help="smoke-run sizes (seconds; not figures)")
    ap.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda")
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (CPU)")
    ap.add_argument(
        "--estimator-threads",
        choices=("match", "auto"),
        default="match",
        help=(
            "estimators with an n_threads parameter: 'match' = n_threads=--threads, the "
            "threads of the reference and bare loops; 'auto' = the estimator's default"
        ),
    )
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds; best is kept")
    ap.add_argument(
        "--reference",
        default="auto",
        help=(
            "reference_loops.py to compare with: a path, 'none', or 'auto' = the first of "
            "<repo>/../shared/bench/reference_loops.py, <repo>/.whl/reference_loops.py"
        ),
    )
    ap.add_argument("--models", default="TCN,LSTM,ConvLSTM", help="comma list of estimators")
    return ap


#: Keywords every benchmark estimator gets (see ``--estimator-threads``); set by :func:`setup`.
ESTIMATOR_DEFAULTS = {}


def setup(args):
    torch.set_num_threads(args.threads)
    if getattr(args, "estimator_threads", "auto") == "match":
        ESTIMATOR_DEFAULTS["n_threads"] = args.threads
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def cpu_kind():
    """What kind of CPU this is, as far as bf16 goes: the model name and flags from
    /proc/cpuinfo, and the ``ONEDNN_MAX_CPU_ISA`` limit when set (it lowers what oneDNN uses,
    whatever the flags say; it only takes effect when set before torch is imported)."""
    info = {}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if not line.strip():
                    break  # the first processor's block is enough
                key, _, value = line.partition(":")
                info[key.strip()] = value.strip()
    except OSError:
        pass
    model = info.get("model name") or platform.processor() or platform.machine()
    flags = set(info.get("flags", "").split())
    return dict(
        model=model,
        avx2="avx2" in flags,
        avx512f="avx512f" in flags,
        avx512_bf16="avx512_bf16" in flags,
        amx=sorted(f for f in flags if f.startswith("amx")),
        onednn_max_cpu_isa=os.environ.get("ONEDNN_MAX_CPU_ISA"),
        torch_cpu_capability=torch.backends.cpu.get_cpu_capability(),
    )


def environment(dev, args=None):
    """Versions, device, CPU kind, date and command line of this run (for every JSON/text)."""
    import skorch

    env = dict(
        date=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        command=" ".join(shlex.quote(a) for a in ["python", *sys.orig_argv[1:]]),
        python=platform.python_version(),
        torch=torch.__version__,
        skorch=skorch.__version__,
        numpy=np.__version__,
        device=str(dev),
        cpu=cpu_kind(),
        torch_threads=torch.get_num_threads(),
        estimator_defaults=dict(ESTIMATOR_DEFAULTS),
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


def describe_run(env):
    """One line for the console: device, CPU kind, versions and date of :func:`environment`."""
    cpu = env["cpu"]
    return (
        f"device {env['device']}; CPU {cpu['model']} (AVX512-BF16 {cpu['avx512_bf16']}, "
        f"AMX {', '.join(cpu['amx']) or 'none'}, ONEDNN_MAX_CPU_ISA "
        f"{cpu['onednn_max_cpu_isa'] or 'unset'}); python {env['python']}, torch "
        f"{env['torch']}; {env['date']}"
    )


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
    """Peak memory of a block, host and device apart, each named for what it measures.

    ``host_peak_mib``: the process's peak resident set size (host RSS) during the block above
    its RSS at entry (``VmHWM`` from /proc, reset through /proc/self/clear_refs, after glibc's
    ``malloc_trim``; where /proc cannot be reset, ``resource.getrusage``'s lifetime peak, and
    ``host_method`` says so). Measured on every device: on CUDA it is the host side of the
    call (inputs, outputs, pinned buffers).

    ``device_peak_mib``: on CUDA only (None on the CPU), ``torch.cuda.max_memory_allocated``
    during the block above ``memory_allocated`` at entry: tensors held by torch's caching
    allocator, not the memory it reserves (``device_reserved_peak_mib``, the peak of
    ``max_memory_reserved`` above the reserve at entry) nor the CUDA context.
    """

    def __init__(self, dev):
        self.dev = torch.device(dev)
        self.host_peak_mib = self.device_peak_mib = self.device_reserved_peak_mib = None
        self.host_method = None
        self.device_method = None

    def __enter__(self):
        if self.dev.type == "cuda":
            torch.cuda.synchronize(self.dev)
            torch.cuda.reset_peak_memory_stats(self.dev)
            self._device_base = torch.cuda.memory_allocated(self.dev)
            self._reserved_base = torch.cuda.memory_reserved(self.dev)
            self.device_method = "cuda max_memory_allocated - memory_allocated at start"
        _malloc_trim()
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self._host_base = _status_kib("VmRSS") * 1024
            self.host_method = "host RSS: VmHWM - VmRSS at start (/proc, peak reset)"
        except OSError:
            self._host_base = 0
            self.host_method = "host RSS: ru_maxrss (process-lifetime peak, not reset)"
        return self

    def __exit__(self, *exc):
        if self.dev.type == "cuda":
            torch.cuda.synchronize(self.dev)
            peak = torch.cuda.max_memory_allocated(self.dev) - self._device_base
            reserved = torch.cuda.max_memory_reserved(self.dev) - self._reserved_base
            self.device_peak_mib = round(peak / 2**20, 1)
            self.device_reserved_peak_mib = round(reserved / 2**20, 1)
        if self.host_method.startswith("host RSS: VmHWM"):
            host = _status_kib("VmHWM") * 1024
        else:
            import resource

            host = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.host_peak_mib = round((host - self._host_base) / 2**20, 1)
        return False


def rss_mib():
    """The process's resident set size now (host RSS, /proc VmRSS), in MiB."""
    return _status_kib("VmRSS") / 1024


def peak_rss_mib():
    """The process's peak host RSS over its whole life (``ru_maxrss``), in MiB."""
    import resource

    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- estimators
def estimator_class(name):
    """The labeler class for "TCN", "LSTM", "ConvLSTM" or "MultiStageTCN"."""
    from sk_seqlabel import ConvLSTMLabeler, LSTMLabeler, MultiStageTCNLabeler, TCNLabeler

    return {
        "TCN": TCNLabeler,
        "LSTM": LSTMLabeler,
        "ConvLSTM": ConvLSTMLabeler,
        "MultiStageTCN": MultiStageTCNLabeler,
    }[name]


def make_estimator(name, dev, max_epochs, **extra):
    """The estimator ``name`` with the reference's model sizes; ``extra`` keywords win over
    :data:`ESTIMATOR_DEFAULTS`, which are passed only where the estimator has the parameter."""
    cls = estimator_class(name)
    known = cls().get_params()
    defaults = {k: v for k, v in ESTIMATOR_DEFAULTS.items() if k in known and k not in extra}
    return cls(
        **ESTIMATOR_PARAMS[name],
        max_epochs=max_epochs,
        device=str(dev),
        random_state=0,
        **defaults,
        **extra,
    )


def cannot_run(trial):
    """None when ``trial()`` runs; else why not, in one line (exception type and message).

    How a script decides that this machine cannot run a variant (a CPU without native bf16
    has no oneDNN bf16 LSTM, for one: "could not create a primitive descriptor for the LSTM
    forward propagation primitive"), without knowing which variants fail where: it runs the
    variant on tiny data first and skips it, with this reason in its output, when that fails.
    """
    try:
        trial()
    except (RuntimeError, NotImplementedError) as exc:
        # What torch's backends raise for a kernel or primitive they lack; anything else
        # (TypeError, ValueError, ...) is a bug in the package or the script and propagates.
        message = (str(exc).strip().splitlines() or [""])[0]
        if len(message) > 120 and ". " in message:  # oneDNN adds advice on ONEDNN_VERBOSE
            message = message[: message.index(". ") + 1]
        return f"{type(exc).__name__}: {message}".strip()
    return None


def tiny_data(n=4, lo=20, hi=60, seed=99):
    """A few short sequences of the reference's generator, for trial runs."""
    X, Y, _ = make_data(n, lo, hi, seed)
    return X, Y


def estimator_cannot_run(make, X=None, Y=None, X_predict=None):
    """:func:`cannot_run` of fitting ``make()`` (an unfitted estimator) for one epoch on tiny
    data (or ``X, Y``), then ``predict_proba`` and ``predict`` (of ``X_predict`` if given)."""
    if X is None:
        X, Y = tiny_data()

    def trial():
        clf = make().set_params(max_epochs=1)
        clf.fit(X, Y)
        clf.predict_proba(X if X_predict is None else X_predict)
        clf.predict(X if X_predict is None else X_predict)

    return cannot_run(trial)


def reference_cannot_run(ref, model, dev, amp, sorted_batches=True, tokens=512):
    """:func:`cannot_run` of one training epoch of the reference's ``model`` on tiny data,
    with bucketed device batches (``sorted_batches``) or its naive host batches, and its
    ``predict_all``, under bf16 autocast when ``amp``."""
    X, Y = tiny_data()
    lens = np.array([len(x) for x in X])

    def trial():
        torch.manual_seed(0)
        model_ = ref.MODELS[model]().to(dev)
        if hasattr(model_, "sorted_batches"):
            model_.sorted_batches = sorted_batches
        opt = torch.optim.Adam(model_.parameters(), lr=1e-3)
        if sorted_batches:
            batches = ref.DeviceData(X, Y, dev).batches(ref.plan_bucketed(lens, tokens))
        else:
            batches = ref.host_batches(
                X, Y, ref.plan_random(lens, 2, np.random.default_rng(0)), dev
            )
        ref.train_epoch(model_, opt, batches, dev, amp, 60.0, naive_sync=not sorted_batches)
        ref.predict_all(model_.eval(), X, dev, amp, tokens)

    return cannot_run(trial)


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


def default_json(name, dev):
    """``benchmarks/results/<name>_<device type>[_<ONEDNN_MAX_CPU_ISA>].json``."""
    kind = torch.device(dev).type
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA")
    suffix = f"_{isa.lower()}" if isa and kind == "cpu" else ""
    return str(REPO_ROOT / "benchmarks" / "results" / f"{name}_{kind}{suffix}.json")


def write_json(path, payload):
    if not path:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        json.dump(payload, fh, indent=1, default=str)
    print(f"\nwrote {path}")
