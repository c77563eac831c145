"""fit, predict, predict_proba and score leave the process as they found it, also in threads."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from sk_seqlabel._training import device as _device
from sk_seqlabel.modules.recurrence import _flush_denormal_is_on

from .conftest import outputs


def _global_state():
    return {
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": np.random.get_state()[1].copy(),  # noqa: NPY002 (the legacy global RNG is the point)
        "threads": torch.get_num_threads(),
        "dtype": torch.get_default_dtype(),
        "autocast": torch.is_autocast_enabled("cpu"),
        "grad": torch.is_grad_enabled(),
        "denormal": _flush_denormal_is_on(),
        "tf32": (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32),
    }


def _assert_same(before, after):
    for key, value in before.items():
        if torch.is_tensor(value) or isinstance(value, np.ndarray):
            assert np.array_equal(np.asarray(value), np.asarray(after[key])), key
        else:
            assert value == after[key], key


def _long_and_short(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, 4)).astype(np.float32) for n in (3000, 40, 2500, 7)]


@pytest.mark.parametrize("n_threads", ["auto", 1])
def test_no_global_state_is_changed(make_estimator, task_data, n_threads):
    X, y = task_data
    torch.set_num_threads(2)
    try:
        before = _global_state()
        # a small cap makes prediction chunk the long sequences (a recurrence on one thread)
        clf = make_estimator(n_threads=n_threads).fit(X, y)
        clf.set_params(max_batch_timesteps=512)
        clf.predict(_long_and_short())
        outputs(clf, _long_and_short())
        clf.score(X, y)
        _assert_same(before, _global_state())
    finally:
        torch.set_num_threads(2)


def test_fit_seeds_no_cuda_device_when_training_on_the_cpu(
    make_estimator, tiny_task_data, monkeypatch
):
    # torch.manual_seed would queue a reseed of every CUDA device; the caller's CUDA streams
    # of random numbers must not change because a CPU model was fitted.
    calls = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", lambda seed: calls.append(seed))
    monkeypatch.setattr(torch.cuda, "manual_seed", lambda seed: calls.append(seed))
    make_estimator(device="cpu").fit(*tiny_task_data)
    assert calls == []


def test_concurrent_predicts_equal_serial_ones_and_restore_the_thread_count(
    make_estimator, task_data
):
    X, y = task_data
    clf = make_estimator(n_threads=2).fit(X, y).set_params(max_batch_timesteps=512)
    torch.set_num_threads(torch.get_num_threads())  # this thread's and new threads' agree
    inputs = [_long_and_short(seed) for seed in range(6)]
    serial = [outputs(clf, x) for x in inputs]
    original = torch.get_num_threads()
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(lambda x: outputs(clf, x), inputs))
    for a_list, b_list in zip(serial, together, strict=True):
        for a, b in zip(a_list, b_list, strict=True):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)
    assert torch.get_num_threads() == original
    seen = []
    fresh = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    fresh.start()
    fresh.join()
    assert seen == [original]  # the process-wide default for new threads is restored too


def test_n_threads_applies_during_the_call_only(make_estimator, tiny_task_data, monkeypatch):
    seen = []
    real = _device._set_threads
    monkeypatch.setattr(
        _device, "_set_threads", lambda n, force=False: (seen.append(n), real(n, force))
    )
    before = torch.get_num_threads()
    make_estimator(n_threads=1).fit(*tiny_task_data)
    assert seen[0] == 1 and seen[-1] == before == torch.get_num_threads()


def test_auto_threads_use_half_the_cores_up_to_a_cap(monkeypatch):
    for cores, expected in [(1, 1), (2, 1), (4, 2), (16, _device.AUTO_MAX_THREADS)]:
        monkeypatch.setattr(_device.os, "sched_getaffinity", lambda pid, c=cores: set(range(c)))
        assert _device.default_n_threads() == expected
