"""Invariants 1, 2 and 5 through the public API, for every estimator (labelers and regressors):
batch mates, causality, determinism."""

import numpy as np
import pytest

from .conftest import ESTIMATOR_CAUSAL, ESTIMATOR_FAST, ESTIMATOR_ONE_WAY, outputs


def _sequences(seed=0, F=4):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((57, F)).astype(np.float32)
    longer = rng.standard_normal((400, F)).astype(np.float32)
    shorter = rng.standard_normal((3, F)).astype(np.float32)
    return a, longer, shorter


@pytest.fixture(params=["random weights", "trained"])
def fitted(request, make_estimator, task_data):
    X, y = task_data
    clf = make_estimator(max_epochs=3).fit(X, y)
    if request.param == "random weights":
        clf.net_.initialize_module()
    return clf


@pytest.fixture(params=["random weights", "trained"])
def fitted_unidirectional(request, make_estimator, one_way_params, task_data):
    X, y = task_data
    clf = make_estimator(max_epochs=3, **one_way_params).fit(X, y)
    if request.param == "random weights":
        clf.net_.initialize_module()
    return clf


def _assert_batch_invariant(clf):
    a, longer, shorter = _sequences()
    alone = outputs(clf, [a])[0]
    for mates in ([a, longer], [shorter, a], [longer, a, shorter, shorter]):
        together = outputs(clf, mates)[[m is a for m in mates].index(True)]
        np.testing.assert_allclose(together, alone, rtol=0, atol=1e-5)


def test_prediction_does_not_depend_on_batch_mates(fitted):
    _assert_batch_invariant(fitted)


def test_unidirectional_prediction_does_not_depend_on_batch_mates(fitted_unidirectional):
    _assert_batch_invariant(fitted_unidirectional)


def test_the_gpu_choices_do_not_change_predictions(fitted, monkeypatch):
    # A GPU pads batches to lengths that repeat, runs the TCN as a GEMM, the reverse LSTM
    # packed, and predicts in larger batches: the CUDA policy, run here on the CPU.
    X = [*_sequences(seed=1), np.ones((101, 4), np.float32)]
    monkeypatch.setattr(fitted, "precision", "fp32")  # "auto" may differ between the two
    plain = outputs(fitted, X)
    monkeypatch.setattr(fitted, "_policy_kind", "cuda")
    rounded = outputs(fitted, X)
    call = fitted._device_policy(fitted.net_.device)  # what predict_proba ran under
    assert call.kind == "cuda" and call.round_lengths and call.conv_path == "gemm"
    for a, b in zip(plain, rounded, strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)


def test_causal_prediction_does_not_depend_on_batch_mates(make_causal_estimator, task_data):
    clf = make_causal_estimator().fit(*task_data)
    _assert_batch_invariant(clf)
    clf.net_.initialize_module()
    _assert_batch_invariant(clf)


def test_causal_labelers_never_look_ahead(make_causal_estimator, task_data):
    clf = make_causal_estimator().fit(*task_data)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((120, 4)).astype(np.float32)
    for t in (0, 30, 118):
        x2 = x.copy()
        x2[t + 1 :] = rng.standard_normal((119 - t, 4))
        p, p2 = outputs(clf, [x, x2])
        np.testing.assert_array_equal(p[: t + 1], p2[: t + 1])
        assert np.abs(p[t + 1 :] - p2[t + 1 :]).max() > 1e-6


@pytest.mark.parametrize("config", ["default", "causal", "one-way"])
def test_no_output_depends_on_inputs_beyond_the_module_look_ahead(estimator_cls, task_data, config):
    # look_ahead is what streaming and decoding will rely on: outputs up to t are final once
    # input t + look_ahead has arrived, and the bound is tight.
    extra = {"default": {}, "causal": ESTIMATOR_CAUSAL, "one-way": ESTIMATOR_ONE_WAY}[config]
    if config != "default" and estimator_cls not in extra:
        pytest.skip(f"{estimator_cls.__name__} has no {config} configuration")
    params = {
        **ESTIMATOR_FAST[estimator_cls],
        **(extra[estimator_cls] if config != "default" else {}),
    }
    clf = estimator_cls(**params).fit(*task_data)
    ahead = clf.net_.module_.look_ahead
    rng = np.random.default_rng(2)
    x = rng.standard_normal((150, 4)).astype(np.float32)
    if ahead is None:  # the whole future: the last step moves outputs far before it
        x2 = x.copy()
        x2[-1] += 5
        p, p2 = outputs(clf, [x, x2])
        assert np.abs(p[:-10] - p2[:-10]).max() > 1e-6
        return
    moved = []
    for t in (0, 20, 60, 100):
        x2 = x.copy()
        x2[t + ahead + 1 :] = rng.standard_normal((149 - t - ahead, 4)) * 5
        x3 = x.copy()
        x3[t + ahead] += 5
        p, p2, p3 = outputs(clf, [x, x2, x3])
        np.testing.assert_allclose(p2[: t + 1], p[: t + 1], rtol=0, atol=1e-6)
        moved.append(np.abs(p3[t] - p[t]).max() > 1e-6)
    assert any(moved)  # input t + look_ahead does reach output t


def test_same_random_state_gives_the_same_model(make_estimator, task_data):
    X, y = task_data
    p1 = outputs(make_estimator(random_state=7).fit(X, y), X[:5])
    p2 = outputs(make_estimator(random_state=7).fit(X, y), X[:5])
    p3 = outputs(make_estimator(random_state=8).fit(X, y), X[:5])
    for a, b in zip(p1, p2, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(np.abs(a - c).max() > 1e-4 for a, c in zip(p1, p3, strict=True))


def test_fitting_leaves_the_global_torch_rng_alone(make_estimator, task_data):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    make_estimator(random_state=0).fit(*task_data)
    torch.testing.assert_close(torch.rand(3), expected)
