"""A model trained on a GPU loads and predicts on a CPU-only machine.

No GPU is needed to test it: pickling with every torch storage tagged ``cuda:0`` (torch's
``location_tag``) writes what a CUDA fit would write, tensors kept anywhere included. A fresh
CPU-only process then loads it. skorch maps its module, optimizer and criterion to the CPU;
anything else holding a tensor (a callback, the history, a keyword argument) would fail with
"Attempting to deserialize object on a CUDA device".
"""

import os
import pickle
import subprocess
import sys
import textwrap
import warnings
from unittest import mock

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from .conftest import ESTIMATOR_FAST, outputs


class _InterruptAtEpoch(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == self.epoch:
            raise KeyboardInterrupt


CONFIGS = {
    "plain": {},
    "early-stopping": {"early_stopping": True, "n_iter_no_change": 2, "max_epochs": 4},
    "class-weight": {"class_weight": "balanced"},
    "interrupted": {"max_epochs": 3, "callbacks": [_InterruptAtEpoch(2)]},
}


def _pickled_as_if_trained_on_cuda(clf):
    """``pickle.dumps(clf)`` as written after a fit on ``cuda:0``."""
    device = clf.net_.device
    clf.net_.device = "cuda:0"
    try:
        with mock.patch.object(torch.serialization, "location_tag", lambda storage: "cuda:0"):
            return pickle.dumps(clf)
    finally:
        clf.net_.device = device


def test_models_trained_on_a_gpu_load_and_predict_on_a_cpu(tmp_path, estimator_cls, task_data):
    X, y = task_data
    expected = {}
    cls = estimator_cls
    for name, config in CONFIGS.items():
        if not set(config) <= set(cls._parameter_constraints):
            continue  # a regressor has no classes to weigh
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the interrupted fit warns
            clf = cls(**{**ESTIMATOR_FAST[cls], **config}).fit(X, y)
        key = f"{cls.__name__}-{name}"
        (tmp_path / f"{key}.pkl").write_bytes(_pickled_as_if_trained_on_cuda(clf))
        expected[key] = np.concatenate(outputs(clf, X[:6]))
    np.savez(tmp_path / "X.npz", *X[:6])
    script = textwrap.dedent(
        f"""
        import pathlib, pickle, sys, warnings
        import numpy as np
        import torch
        assert not torch.cuda.is_available()
        folder = pathlib.Path({str(tmp_path)!r})
        data = np.load(folder / "X.npz")
        X = [data[f"arr_{{i}}"] for i in range(len(data.files))]
        out = {{}}
        for path in sorted(folder.glob("*.pkl")):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # skorch: CUDA requested, loading on the CPU
                clf = pickle.loads(path.read_bytes())
            assert str(clf.net_.device) == "cpu", clf.net_.device
            got = clf.predict_proba(X) if hasattr(clf, 'predict_proba') else clf.predict(X)
            out[path.stem] = np.concatenate([np.reshape(g, (len(g), -1)) for g in got])
        np.savez(folder / "loaded.npz", **out)
        """
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # as this process, without CUDA
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = np.load(tmp_path / "loaded.npz")
    assert sorted(loaded.files) == sorted(expected)
    for key, proba in expected.items():
        np.testing.assert_allclose(loaded[key], proba, rtol=0, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("config", ["early-stopping", "interrupted"])
def test_a_fitted_net_keeps_no_tensor_outside_module_optimizer_and_criterion(
    make_estimator, task_data, config
):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf = make_estimator(**CONFIGS[config]).fit(*task_data)
    net = clf.net_
    mapped = tuple(net.cuda_dependent_attributes_)
    found = []

    def walk(obj, path, seen):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if torch.is_tensor(obj):
            found.append(path)
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{path}[{k!r}]", seen)
        elif isinstance(obj, (list, tuple)):
            for i, v in enumerate(obj):
                walk(v, f"{path}[{i}]", seen)
        elif hasattr(obj, "__dict__") and not isinstance(obj, (torch.nn.Module, type)):
            state = obj.__getstate__()  # what pickle writes (EarlyStopping drops weights)
            walk(state if isinstance(state, dict) else vars(obj), path, seen)

    state = {k: v for k, v in net.__getstate__().items() if not k.startswith(mapped)}
    walk(state, "net_", set())
    assert found == []


def _flip_a_weight_byte(blob, clf):
    """``blob`` with one byte flipped inside the stored values of the output layer's weight."""
    weight = list(clf.net_.module_.state_dict().values())[-2]  # the last layer's weight
    raw = weight.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes()
    at = blob.find(raw)
    assert at >= 0 and blob.find(raw, at + 1) < 0  # found once: what is flipped is a weight
    data = bytearray(blob)
    data[at + len(raw) // 2] ^= 0x01
    return bytes(data)


def test_a_pickle_with_one_flipped_weight_byte_is_refused(tiny_task_data, make_estimator):
    clf = make_estimator().fit(*tiny_task_data)
    damaged = _flip_a_weight_byte(pickle.dumps(clf), clf)
    with pytest.raises(ValueError, match="do not match their CRC-32"):
        pickle.loads(damaged)
    np.testing.assert_array_equal(  # the intact pickle still loads, with the same output
        outputs(pickle.loads(pickle.dumps(clf)), tiny_task_data[0])[0],
        outputs(clf, tiny_task_data[0])[0],
    )


def test_a_pickle_written_before_the_weight_checksum_still_loads(tiny_task_data, make_estimator):
    from skorch import NeuralNet

    from sk_seqlabel._training.net import WEIGHTS_CRC32, SequenceNet

    clf = make_estimator().fit(*tiny_task_data)
    # what versions without the checksum wrote: skorch's own state
    with mock.patch.object(SequenceNet, "__getstate__", NeuralNet.__getstate__):
        old = pickle.dumps(clf)
    assert WEIGHTS_CRC32.encode() not in old
    loaded = pickle.loads(old)
    np.testing.assert_array_equal(
        outputs(loaded, tiny_task_data[0])[0], outputs(clf, tiny_task_data[0])[0]
    )


def test_a_joblib_file_with_one_flipped_weight_byte_is_refused(tiny_data, tmp_path):
    import joblib

    from sk_seqlabel import TCNLabeler

    clf = TCNLabeler(**ESTIMATOR_FAST[TCNLabeler]).fit(*tiny_data)
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    path.write_bytes(_flip_a_weight_byte(path.read_bytes(), clf))
    with pytest.raises(ValueError, match="do not match their CRC-32"):
        joblib.load(path)
