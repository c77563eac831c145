"""Every device-dependent decision, made in one place.

A :class:`DevicePolicy` is resolved from the estimator's parameters and the device at ``fit``
(and again at each ``predict``, for the settings that may change after fitting) and passed down
to the net and the module. Nothing else in the package looks at the device type to choose a
batch size, a precision or a code path.

What the policy may change, and what it may not:

- *How* things run (the convolution and LSTM code paths, padding to repeating lengths, the
  chunk length of inference, pinned memory): speed and memory only, same results up to
  rounding. Tests run the CUDA choices on the CPU and compare (``tests/test_device_policy.py``).
- *What is learned* (the training batches, windows and their order, so the number of
  optimizer steps per epoch) never depends on the device: a model tuned on a laptop trains the
  same way on a GPU.

:func:`torch_settings` applies the process-wide torch settings a call needs (intra-op threads,
no TF32 on CUDA) and restores them afterwards, safely when several threads predict at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import threading

import torch

__all__ = [
    "INFERENCE_BATCH_TIMESTEPS",
    "TRAIN_BATCH_TIMESTEPS",
    "DevicePolicy",
    "cpu_has_native_bf16",
    "resolve_device",
    "torch_settings",
]

#: Padded timesteps per training batch when ``max_batch_timesteps="auto"``, on every device, so
#: that the same hyperparameters give the same batches (and optimizer steps) everywhere. On a
#: CPU batches of 65,536 steps trained slower than batches of a few thousand (they fall out of
#: cache); see benchmarks/RESULTS.md, section 1.
TRAIN_BATCH_TIMESTEPS = 2**13
#: Padded timesteps per inference batch (and chunk length for long sequences) when
#: ``max_batch_timesteps="auto"``. Inference is exact whatever the batching, so a GPU gets
#: batches large enough to keep it busy (these models are launch-bound at small sizes).
INFERENCE_BATCH_TIMESTEPS = {"cpu": 2**13, "cuda": 2**18}
#: Device types the package runs on.
SUPPORTED_DEVICE_TYPES = ("cpu", "cuda")

# oneDNN ISA levels (ONEDNN_MAX_CPU_ISA) below the first with bf16 arithmetic (AVX512_CORE_BF16;
# AVX2_VNNI_2 has only bf16 conversions). Read so that a CPU capped by that variable, as tests do
# to emulate an AVX2 machine, is treated as the CPU it emulates.
_ISAS_WITHOUT_BF16 = {
    "SSE41",
    "AVX",
    "AVX2",
    "AVX2_VNNI",
    "AVX2_VNNI_2",
    "AVX512_CORE",
    "AVX512_CORE_VNNI",
}


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AMX tiles or AVX512-BF16).

    Without it, bf16 autocast on the CPU is emulated (slower than float32) and oneDNN has no
    bf16 LSTM at all. The hardware checks are torch's own (private, so looked up
    defensively); a cap set with ``ONEDNN_MAX_CPU_ISA`` (or ``DNNL_MAX_CPU_ISA``) below
    ``AVX512_CORE_BF16`` counts as no native bf16, as it does for oneDNN.

    Examples
    --------
    >>> from sk_seqlabel._training.device import cpu_has_native_bf16
    >>> isinstance(cpu_has_native_bf16(), bool)
    True
    """
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
    if cap and cap.strip().upper() in _ISAS_WITHOUT_BF16:
        return False
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def cuda_has_native_bf16(device) -> bool:
    """Whether the CUDA ``device`` computes in bfloat16 natively (compute capability >= 8.0).

    Asks the device that will run, not the current one, and does not count emulation.
    """
    return torch.cuda.get_device_capability(torch.device(device)) >= (8, 0)


def resolve_device(device) -> str:
    """Turn the ``device`` parameter into a torch device string, checking that it can run.

    Parameters
    ----------
    device : str or torch.device
        "auto" (CUDA when available, else the CPU; in a worker process of a pool, a GPU
        chosen by :func:`_auto_device`), "cpu", "cuda" or "cuda:N".

    Returns
    -------
    str
        A device torch can use here, such as ``"cpu"`` or ``"cuda:0"``.

    Raises
    ------
    ValueError
        For a string that is not a torch device, a device type this package does not run on
        (``"mps"``, ``"xpu"``, ``"meta"``, ...), or a CUDA device this machine does not have.

    Examples
    --------
    >>> from sk_seqlabel._training.device import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    >>> resolve_device("mps")
    Traceback (most recent call last):
    ...
    ValueError: device='mps' is a torch device type that sk_seqlabel does not run on; ...
    """
    if isinstance(device, str) and device == "auto":
        return _auto_device()
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda' or 'cuda:N'."
        ) from None
    if parsed.type not in SUPPORTED_DEVICE_TYPES:
        raise ValueError(
            f"device={device!r} is a torch device type that sk_seqlabel does not run on; use "
            "'auto', 'cpu', 'cuda' or 'cuda:N'."
        )
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available; use "
                "device='auto' to fall back to the CPU."
            )
        count = torch.cuda.device_count()
        if parsed.index is not None and parsed.index >= count:
            raise ValueError(
                f"device={device!r} was requested but this machine has {count} CUDA "
                f"device(s) (cuda:0 to cuda:{count - 1})."
            )
    if parsed.type == "cpu" and parsed.index is not None:
        raise ValueError(f"device={device!r}: the CPU has no index; use device='cpu'.")
    return str(parsed)


def _auto_device():
    """What ``device="auto"`` means here: the CPU, a GPU, or in a pool's worker its own GPU.

    In the main process: "cuda" (the current device) when CUDA is available. In a worker
    process (joblib's loky, Dask, multiprocessing: any process with a parent process) on a
    machine with several visible GPUs: ``cuda:(process id mod number of visible GPUs)``, so
    that parallel fits spread over the GPUs instead of all landing on ``cuda:0``. The spread
    follows process ids, so it is even only on average; for a fixed assignment, give each
    worker its own ``CUDA_VISIBLE_DEVICES`` (torch then sees one GPU per worker).
    """
    if not torch.cuda.is_available():
        return "cpu"
    count = torch.cuda.device_count()
    if count > 1 and multiprocessing.parent_process() is not None:
        return f"cuda:{os.getpid() % count}"
    return "cuda"


@dataclasses.dataclass(frozen=True)
class DevicePolicy:
    """How a labeler runs on one device: decided once, passed down, speed and memory only.

    Build it with :meth:`resolve`. ``kind`` is the device type whose choices are made; it is
    the type of ``device`` except in tests, which run the CUDA choices on the CPU.

    Attributes
    ----------
    device : str
        Torch device the net runs on.
    kind : {"cpu", "cuda"}
        Device type the choices below are made for.
    train_batch_timesteps : int
        Padded timesteps per training batch (the same on every device for "auto").
    inference_batch_timesteps : int
        Padded timesteps per inference batch; longer sequences are predicted in chunks of this
        many steps.
    round_lengths : bool
        Pad batches to lengths that repeat
        (:func:`~sk_seqlabel._training.batching.padded_length`), on every device: cuDNN plans
        and oneDNN primitives are made per shape and cached, so lengths that repeat are
        reused where new ones pile up in a process that fits and predicts again and again on
        new data (on a CPU, oneDNN's caches grew host memory by hundreds of MB in 50 such
        cycles; rounding cut that growth by 15-45% at no measurable cost in speed:
        benchmarks/RESULTS.md, section 20).
    precision : {"fp32", "bf16"}
        Whether the forward pass runs under bf16 autocast.
    recurrent_precision : {"fp32", "bf16"}
        What LSTM layers run in: bf16 only where the precision is bf16 *and* the device has a
        bf16 LSTM (a CPU with native bf16); otherwise fp32, also on CUDA, where autocast would
        run cuDNN LSTMs in half precision without a gradient scaler.
    conv_path, lstm_path : str
        Code paths of the TCN convolutions ("gemm" on CUDA: no per-shape convolution plan;
        "conv" on a CPU) and of a bidirectional LSTM ("packed" on CUDA: cuDNN; "flip" on a
        CPU, where packed backward passes are slow). See ``modules/``.
    pin_memory : bool
        Collate batches into page-locked memory and copy them without blocking (CUDA).
    release_host_memory : bool
        Hand freed heap memory back to the OS every few batches (``malloc_trim``; a CPU's
        choice: its activations live on the heap, see ``_net.release_freed_memory``).
    flush_denormal : bool
        Flush denormal floats to zero in long chunked recurrences (a CPU's choice: there each
        denormal multiply is many times slower; see ``modules.recurrence``).
    flatten_lstm_weights : bool
        Give each LSTM layer of a chunked recurrence a flat copy of its weights (CUDA: cuDNN
        copies a slice of a larger buffer at every call otherwise).
    n_threads : int or None
        Torch intra-op threads while fitting or predicting; None leaves torch's setting.
    """

    device: str
    kind: str
    train_batch_timesteps: int
    inference_batch_timesteps: int
    round_lengths: bool
    precision: str
    recurrent_precision: str
    conv_path: str
    lstm_path: str
    pin_memory: bool
    release_host_memory: bool
    flush_denormal: bool
    flatten_lstm_weights: bool
    n_threads: int | None

    @classmethod
    def resolve(
        cls,
        device,
        *,
        max_batch_timesteps="auto",
        precision="auto",
        bf16_faster_on=frozenset(),
        n_threads="auto",
        kind=None,
    ):
        """The policy for ``device`` and an estimator's parameters.

        Parameters
        ----------
        device : str
            A device string from :func:`resolve_device`.
        max_batch_timesteps : int or "auto"
            The estimator's parameter of that name.
        precision : {"auto", "fp32", "bf16"}
            The estimator's parameter of that name.
        bf16_faster_on : frozenset of str
            Device types on which bf16 was measured faster for this model ("auto" picks it
            there).
        n_threads : int or "auto"
            The estimator's parameter of that name.
        kind : {"cpu", "cuda"}, optional
            Make the choices of this device type instead of ``device``'s (tests).

        Returns
        -------
        DevicePolicy

        Examples
        --------
        >>> from sk_seqlabel._training.device import DevicePolicy
        >>> policy = DevicePolicy.resolve("cpu", precision="fp32")
        >>> policy.train_batch_timesteps, policy.lstm_path, policy.round_lengths
        (8192, 'flip', True)
        >>> cuda_like = DevicePolicy.resolve("cpu", precision="fp32", kind="cuda")
        >>> cuda_like.train_batch_timesteps, cuda_like.lstm_path, cuda_like.round_lengths
        (8192, 'packed', True)
        """
        device = str(device)  # skorch sets a torch.device when it maps a loaded model
        real_kind = torch.device(device).type
        kind = kind or real_kind
        on_cuda = kind == "cuda"
        if max_batch_timesteps == "auto":
            train_cap, infer_cap = TRAIN_BATCH_TIMESTEPS, INFERENCE_BATCH_TIMESTEPS[kind]
        else:
            train_cap = infer_cap = int(max_batch_timesteps)
        native_bf16 = cuda_has_native_bf16(device) if real_kind == "cuda" else cpu_has_native_bf16()
        if precision == "bf16" and real_kind == "cuda" and not native_bf16:
            raise ValueError(
                f"precision='bf16' was requested but {device} has no native bfloat16 support "
                "(compute capability 8.0 or newer); use precision='fp32' or 'auto'."
            )
        if precision == "auto":
            precision = "bf16" if native_bf16 and kind in bf16_faster_on else "fp32"
        recurrent = "bf16" if precision == "bf16" and not on_cuda and native_bf16 else "fp32"
        return cls(
            device=device,
            kind=kind,
            train_batch_timesteps=train_cap,
            inference_batch_timesteps=infer_cap,
            round_lengths=True,
            precision=precision,
            recurrent_precision=recurrent,
            conv_path="gemm" if on_cuda else "conv",
            lstm_path="packed" if on_cuda else "flip",
            pin_memory=real_kind == "cuda",
            release_host_memory=not on_cuda,
            flush_denormal=not on_cuda,
            flatten_lstm_weights=on_cuda,
            n_threads=_resolve_threads(n_threads),
        )

    def torch_settings(self):
        """The process-wide torch settings of a call under this policy (:func:`torch_settings`)."""
        return torch_settings(self.n_threads, cuda=torch.device(self.device).type == "cuda")


def default_n_threads() -> int:
    """Intra-op threads that ``n_threads="auto"`` uses: see :func:`_resolve_threads`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores // 2, AUTO_MAX_THREADS))


#: Most intra-op threads "auto" gives one fit or predict. These models are small: past a few
#: threads torch's parallel regions cost more than they save (benchmarks/RESULTS.md, "Shared
#: CPU").
AUTO_MAX_THREADS = 4


def _resolve_threads(n_threads):
    """``n_threads`` as an int (``"auto"``: :func:`default_n_threads`) or None."""
    if n_threads is None:
        return None
    if n_threads == "auto":
        return default_n_threads()
    return int(n_threads)


# Process-wide torch settings are shared by every thread, so concurrent calls must not restore
# each other's values: the first call in saves them, the last call out restores them.
_settings_lock = threading.Lock()
_active_calls = 0
_saved_settings: dict = {}


def _set_threads(n, force=False):
    # torch.get_num_threads() is this thread's count; force also resets the process-wide
    # default for new threads, which another thread may have changed
    if force or torch.get_num_threads() != n:
        torch.set_num_threads(n)


@contextlib.contextmanager
def torch_settings(n_threads=None, cuda=False):
    """Run a fit or predict with its own torch settings; everything is restored afterwards.

    - ``n_threads`` intra-op threads in the calling thread (None: unchanged). torch keeps the
      count per thread and a process-wide default for new threads; both are restored.
    - On CUDA, no TF32 in matrix products and cuDNN (convolutions, LSTMs), so that fp32 means
      fp32 and the 1e-5 equalities of the tests hold on a GPU as on a CPU.

    Safe under concurrency: calls in several threads at once each get their own thread count,
    and the process-wide values are restored when the last of them ends.
    """
    global _active_calls
    mine = torch.get_num_threads()
    with _settings_lock:
        if _active_calls == 0:
            _saved_settings.clear()
            _saved_settings["threads"] = mine
        _active_calls += 1
        if cuda and "tf32" not in _saved_settings:
            _saved_settings["tf32"] = (
                torch.backends.cuda.matmul.allow_tf32,
                torch.backends.cudnn.allow_tf32,
            )
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
    if n_threads is not None:
        _set_threads(n_threads)
    try:
        yield
    finally:
        with _settings_lock:
            _active_calls -= 1
            if _active_calls == 0:
                _set_threads(_saved_settings["threads"], force=True)
                if "tf32" in _saved_settings:
                    (
                        torch.backends.cuda.matmul.allow_tf32,
                        torch.backends.cudnn.allow_tf32,
                    ) = _saved_settings["tf32"]
                _saved_settings.clear()
            else:
                _set_threads(mine)
