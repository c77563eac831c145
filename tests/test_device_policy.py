"""The device policy: one place for device choices, and the GPU's choices exercised on the CPU.

No GPU is needed: ``_policy_kind = "cuda"`` makes an estimator take the CUDA choices (larger
inference batches, lengths rounded to repeat, the TCN as a GEMM, the reverse LSTM packed)
while running on the CPU.
"""

import dataclasses
import os

import numpy as np
import pytest
import torch

from sk_seqlabel._training import device as _device
from sk_seqlabel._training.batching import SequenceDataset, padded_length
from sk_seqlabel._training.device import DevicePolicy, cpu_has_native_bf16, resolve_device
from sk_seqlabel.modules import recurrence as lstm_module
from sk_seqlabel.modules.recurrence import contiguous_layer_weights

from .conftest import FAST, LEARNS


def _cuda_policy(clf):
    """The same estimator class, making the CUDA choices on the CPU."""
    cls = type(clf)
    cuda_cls = type(f"CudaPolicy{cls.__name__}", (cls,), {"_policy_kind": "cuda"})
    return cuda_cls(**clf.get_params())


def test_the_gpu_trains_the_same_batches_and_learns_as_well(labeler_cls, easy_data):
    X, y = easy_data
    # Recordings of 480..2400 steps: "auto" cuts them into windows, which once followed the
    # device's batch cap (326 optimizer steps an epoch on a CPU, 63 on a GPU).
    X_train = [np.concatenate([x] * 16) for x in X[:12]]
    y_train = [np.concatenate([yi] * 16) for yi in y[:12]]
    params = {**LEARNS[labeler_cls], "max_epochs": 3}
    cpu = labeler_cls(**params, random_state=0, precision="fp32")
    gpu = _cuda_policy(cpu)
    cpu.fit(X_train, y_train)
    gpu.fit(X_train, y_train)
    assert gpu.net_.policy.kind == "cuda" and gpu.net_.policy.round_lengths
    for epoch in range(3):
        sizes = [
            [b["train_batch_size"] for b in clf.net_.history[epoch, "batches"]]
            for clf in (cpu, gpu)
        ]
        assert sizes[0] == sizes[1]  # the same real timesteps per step, step by step
    scores = [clf.score(X[45:], y[45:]) for clf in (cpu, gpu)]
    assert min(scores) > 0.5 and abs(scores[0] - scores[1]) <= 0.005, scores


def test_the_gpu_choices_predict_long_sequences_as_the_cpu_does(make_labeler, easy_data):
    X, y = easy_data
    clf = make_labeler(precision="fp32").fit(X, y)
    rng = np.random.default_rng(0)
    long = [rng.standard_normal((n, 4)).astype(np.float32) for n in (1500, 700, 90)]
    expected = clf.predict_proba(long)  # CPU choices, one piece each
    gpu = _cuda_policy(clf)
    gpu.__dict__.update({k: v for k, v in clf.__dict__.items() if k.endswith("_")})
    gpu.set_params(max_batch_timesteps=256)  # chunked, under the CUDA choices
    got = gpu.predict_proba(long)
    call = gpu._device_policy(gpu.net_.device)  # what predict_proba ran under
    assert call.kind == "cuda" and call.inference_batch_timesteps == 256
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)


def test_policy_choices_per_device_kind():
    cpu = DevicePolicy.resolve("cpu", precision="fp32", n_threads=None)
    cuda = DevicePolicy.resolve("cpu", precision="fp32", n_threads=None, kind="cuda")
    assert (cpu.conv_path, cpu.lstm_path, cpu.round_lengths) == ("conv", "flip", True)
    assert (cuda.conv_path, cuda.lstm_path, cuda.round_lengths) == ("gemm", "packed", True)
    # Host-side choices: malloc_trim and denormal flushing on a CPU, flat LSTM weights on CUDA.
    assert (cpu.release_host_memory, cpu.flush_denormal, cpu.flatten_lstm_weights) == (
        True,
        True,
        False,
    )
    assert (cuda.release_host_memory, cuda.flush_denormal, cuda.flatten_lstm_weights) == (
        False,
        False,
        True,
    )
    # what is learned does not depend on the device; how inference batches does
    assert cpu.train_batch_timesteps == cuda.train_batch_timesteps
    assert cuda.inference_batch_timesteps > cpu.inference_batch_timesteps
    assert not cuda.pin_memory  # the tensors really live on the CPU here
    fixed = DevicePolicy.resolve("cpu", max_batch_timesteps=500, kind="cuda")
    assert fixed.train_batch_timesteps == fixed.inference_batch_timesteps == 500


def test_lstm_layers_run_in_bf16_only_where_the_device_has_a_bf16_lstm(monkeypatch):
    monkeypatch.setattr(_device, "cpu_has_native_bf16", lambda: True)
    native = DevicePolicy.resolve("cpu", precision="bf16")
    on_cuda = DevicePolicy.resolve("cpu", precision="bf16", kind="cuda")
    monkeypatch.setattr(_device, "cpu_has_native_bf16", lambda: False)
    emulated = DevicePolicy.resolve("cpu", precision="bf16")
    assert (native.precision, native.recurrent_precision) == ("bf16", "bf16")
    assert (on_cuda.precision, on_cuda.recurrent_precision) == ("bf16", "fp32")
    assert (emulated.precision, emulated.recurrent_precision) == ("bf16", "fp32")
    assert DevicePolicy.resolve("cpu", precision="auto", bf16_faster_on={"cpu"}).precision == (
        "fp32"
    )


@pytest.mark.parametrize("isa", ["AVX2", "avx512_core", "AVX2_VNNI"])
def test_a_onednn_isa_cap_below_bf16_means_no_native_bf16(monkeypatch, isa):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", isa)
    assert cpu_has_native_bf16() is False


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("mps", "does not run on"),
        ("xpu", "does not run on"),
        ("meta", "does not run on"),
        ("gpu", "is not a torch device"),
        ("cpu:1", "the CPU has no index"),
        (3.5, "'device' parameter"),
    ],
)
def test_devices_that_cannot_run_get_a_clear_error(make_labeler, tiny_data, device, message):
    with pytest.raises(ValueError, match=message):
        make_labeler(device=device).fit(*tiny_data)


def test_a_cuda_index_beyond_the_machine_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == "cuda:1"
    with pytest.raises(ValueError, match=r"has 2 CUDA device\(s\) \(cuda:0 to cuda:1\)"):
        resolve_device("cuda:2")


def test_chunked_lstm_with_weights_flattened_once_predicts_the_same():
    # On CUDA each layer's weights are copied once into a flat buffer of their own (cuDNN
    # copies, and warns about, a slice of a larger one at every call); the copy must be exact.
    # That the buffers suit cuDNN can only be seen on a GPU.
    lstm = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True).eval()
    flat = contiguous_layer_weights(lstm, flatten=True)
    for (layer, direction), weights in flat.items():
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
        for w, name in zip(weights, names, strict=True):
            assert torch.equal(w, getattr(lstm, name + suffix))
            assert w.data_ptr() != getattr(lstm, name + suffix).data_ptr()
    assert contiguous_layer_weights(lstm)[0, 0][0] is lstm.weight_ih_l0  # CPU: as they are
    x = torch.randn(1, 50, 3)

    def chunked(flatten):
        with torch.no_grad():
            outputs = dict(
                lstm_module.run_lstm_chunked(
                    lstm, lambda k: x[:, 10 * k : 10 * k + 10], 5, flatten_weights=flatten
                )
            )
        return torch.cat([outputs[k] for k in range(5)], dim=1)

    torch.testing.assert_close(chunked(True), chunked(False), rtol=0, atol=0)


def test_the_avx2_only_emulation_is_in_effect():
    # `make test-avx2` reruns the CPU-dependent tests as an AVX2-only CPU would run them.
    if os.environ.get("ONEDNN_MAX_CPU_ISA") != "AVX2":
        pytest.skip("runs under `make test-avx2` (ONEDNN_MAX_CPU_ISA=AVX2) only")
    assert cpu_has_native_bf16() is False
    assert torch.backends.cpu.get_cpu_capability() == "AVX2"


def test_fp32_means_fp32_on_cuda_for_the_call_only():
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    try:
        with _device.torch_settings(None, cuda=True):
            assert not torch.backends.cuda.matmul.allow_tf32
            assert not torch.backends.cudnn.allow_tf32
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32 = False  # torch's default
        torch.backends.cudnn.allow_tf32 = True  # torch's default


def test_bf16_is_checked_on_the_gpu_that_will_run(monkeypatch):
    # cuda:1 is an older GPU than the current device: its own capability decides.
    capabilities = {0: (9, 0), 1: (7, 5)}
    monkeypatch.setattr(
        torch.cuda, "get_device_capability", lambda device: capabilities[device.index]
    )
    assert DevicePolicy.resolve("cuda:0", precision="bf16").precision == "bf16"
    with pytest.raises(ValueError, match=r"cuda:1 has no native bfloat16"):
        DevicePolicy.resolve("cuda:1", precision="bf16")
    assert DevicePolicy.resolve("cuda:1", precision="auto").precision == "fp32"


def test_pinned_memory_only_where_the_tensors_go_to_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device: (9, 0))
    assert DevicePolicy.resolve("cuda:0").pin_memory
    assert not DevicePolicy.resolve("cpu").pin_memory
    assert not DevicePolicy.resolve("cpu", kind="cuda").pin_memory


def test_auto_spreads_pool_workers_over_the_visible_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    # the main process: the current GPU
    monkeypatch.setattr(_device.multiprocessing, "parent_process", lambda: None)
    assert resolve_device("auto") == "cuda"
    # workers of a pool: their own GPU by process id, never all on cuda:0
    monkeypatch.setattr(_device.multiprocessing, "parent_process", lambda: object())
    chosen = set()
    for pid in (1001, 1002, 1003, 1004):
        monkeypatch.setattr(_device.os, "getpid", lambda pid=pid: pid)
        chosen.add(resolve_device("auto"))
    assert chosen == {"cuda:0", "cuda:1", "cuda:2", "cuda:3"}
    # one visible GPU (CUDA_VISIBLE_DEVICES per worker): that one
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("auto") == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"


def test_the_cpu_pads_batches_to_lengths_that_repeat(labeler_cls, tiny_data):
    # Fewer distinct shapes bound oneDNN's per-shape caches (benchmarks/RESULTS.md, section
    # 20); padding is masked, so predictions are those of exact-length batches.
    X, y = tiny_data
    clf = labeler_cls(**FAST[labeler_cls], device="cpu", precision="fp32").fit(X, y)
    policy = clf.net_.policy
    assert policy.kind == "cpu" and policy.round_lengths
    shapes = []
    hook = clf.net_.module_.register_forward_pre_hook(
        lambda module, args, kwargs: shapes.append(tuple(kwargs["x"].shape)), with_kwargs=True
    )
    try:
        rounded = clf.net_.predict_ragged(SequenceDataset(X), policy)
        exact = clf.net_.predict_ragged(
            SequenceDataset(X), dataclasses.replace(policy, round_lengths=False)
        )
    finally:
        hook.remove()
    half = len(shapes) // 2
    assert {t for _, t, _ in shapes[:half]} <= {padded_length(n, True) for n in range(1, 41)}
    assert any(t not in {8, 16, 24, 32, 40} for _, t, _ in shapes[half:])
    for a, b in zip(rounded, exact, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
