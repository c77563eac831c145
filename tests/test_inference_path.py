"""One inference path: every way to predict gives the estimator's numbers and changes nothing.

The estimator's ``predict_proba``, skorch's entry points of its net (``net_.predict_proba``,
``net_.predict``, ``net_.forward``, ``net_.forward_iter``) and live streams all run through
``SequenceNet.inference``; a prediction never writes the fitted estimator, its net or its
module (scikit-learn's ``check_dict_unchanged``, one level deeper).
"""

import dataclasses

import joblib
import numpy as np
import pytest
import torch

from .conftest import outputs


def _recordings(lengths, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, 4)).astype(np.float32) for n in lengths]


def _fingerprint(clf):
    """Hashes of everything a fitted estimator holds: its attributes, its net's, its module's.

    The module counts by its weights and buffers and by each submodule's own attributes (mode,
    code paths), so a prediction that flips a submodule to eval mode or to another code path
    shows, as does one that records a policy on the net.
    """
    net, module = clf.net_, clf.net_.module_
    skip = {"_parameters", "_buffers", "_modules"}
    return {
        "estimator": {k: joblib.hash(v) for k, v in vars(clf).items() if k != "net_"},
        "net": {k: joblib.hash(_hashable(v)) for k, v in vars(net).items() if k != "module_"},
        "module": {
            name: joblib.hash({k: v for k, v in vars(m).items() if k not in skip})
            for name, m in module.named_modules()
        },
        "weights": joblib.hash({k: v.detach().numpy() for k, v in module.state_dict().items()}),
    }


def _hashable(value):
    # An optimizer's state is keyed by its parameters, which joblib cannot sort.
    if isinstance(value, torch.optim.Optimizer):
        return value.state_dict()
    return value


def test_the_nets_own_predict_paths_give_the_estimators_numbers(make_labeler, easy_data):
    X, y = easy_data
    # Training windows of 64 steps: skorch's own iterator would cut the recordings below into
    # such windows, the estimator predicts each in one piece.
    clf = make_labeler(max_train_length=64, decoder="argmax").fit(X, y)
    long = _recordings((300, 1000, 17))
    expected = clf.predict_proba(long)
    net = clf.net_
    via_forward = [torch.softmax(t, dim=-1).numpy() for t in net.forward(long)]
    via_iter = [torch.softmax(t, dim=-1).numpy() for t in net.forward_iter(long)]
    for got in (net.predict_proba(long), via_forward, via_iter):
        assert [g.shape for g in got] == [e.shape for e in expected]
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=0, atol=1e-6)
    for labels, proba in zip(net.predict(long), expected, strict=True):
        np.testing.assert_array_equal(labels, proba.argmax(axis=1))
    np.testing.assert_array_equal(
        np.concatenate(clf.predict(long)), clf.classes_[np.concatenate(net.predict(long))]
    )


def test_the_net_refuses_what_only_the_estimator_converts(make_estimator, tiny_task_data):
    clf = make_estimator().fit(*tiny_task_data)
    with pytest.raises(TypeError, match="estimator"):
        outputs(clf.net_, np.zeros((2, 5, 3), dtype=np.float32))  # 3-D: the estimator's
    with pytest.raises(TypeError, match="estimator"):
        outputs(clf.net_, [np.array(["a", "b"])])
    with pytest.raises(ValueError, match="eval mode"):
        next(clf.net_.forward_iter(tiny_task_data[0], training=True))


def _prediction_methods(estimator):
    return [m for m in ("predict", "predict_proba") if hasattr(estimator, m)]


def test_predicting_changes_nothing_in_the_fitted_estimator(make_estimator, task_data):
    X, y = task_data
    clf = make_estimator().fit(X[:40], y[:40])
    clf.net_.module_.train()  # as a fit without validation leaves it
    # Settings of prediction changed after fit: long recordings then run in chunks.
    clf.set_params(max_batch_timesteps=128, precision="fp32")
    before = _fingerprint(clf)
    long = _recordings((700, 90))
    for method in _prediction_methods(clf):
        getattr(clf, method)(X[40:] + long)
    clf.score(X[40:], y[40:])
    clf.net_.predict_proba(long)
    list(clf.net_.forward_iter(long))
    assert _fingerprint(clf) == before
    assert clf.net_.module_.training  # the mode it had, restored


def test_streaming_changes_nothing_in_the_fitted_estimator(make_causal_estimator, task_data):
    X, y = task_data
    clf = make_causal_estimator().fit(X[:40], y[:40])
    clf.net_.module_.train()  # as a fit without validation leaves it
    before = _fingerprint(clf)
    stream = clf.start_stream(output=clf._stream_output_kinds[-1])
    x = X[41]
    stream.update({"a": x[:7], "b": x[:3]})
    stream.update({"a": x[7:20]})
    stream.close()
    assert _fingerprint(clf) == before


def test_the_fingerprint_sees_what_a_prediction_could_write(make_estimator, tiny_task_data):
    clf = make_estimator().fit(*tiny_task_data)
    before = _fingerprint(clf)
    clf.net_.module_.train(not clf.net_.module_.training)
    assert _fingerprint(clf) != before
    clf.net_.module_.train(not clf.net_.module_.training)
    assert _fingerprint(clf) == before
    policy = clf.net_.policy
    clf.net_.policy = dataclasses.replace(
        policy, inference_batch_timesteps=policy.inference_batch_timesteps + 1
    )
    assert _fingerprint(clf) != before


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
def test_a_prediction_checks_the_estimator_once(
    make_estimator, tiny_task_data, monkeypatch, method
):
    X, y = tiny_task_data
    clf = make_estimator().fit(X, y)
    calls = []
    real = clf._validate_params
    monkeypatch.setattr(clf, "_validate_params", lambda: (calls.append(1), real())[1])
    if not hasattr(clf, method):
        pytest.skip(f"{type(clf).__name__} has no {method}")
    args = (X, y) if method == "score" else (X,)
    getattr(clf, method)(*args)
    assert len(calls) == 1


def test_an_unfitted_estimator_refuses_a_panel_with_not_fitted_error(
    make_estimator, tiny_task_data
):
    import pandas as pd
    from sklearn.exceptions import NotFittedError

    index = pd.MultiIndex.from_product([["rec0"], range(len(tiny_task_data[0][0]))])
    panel = pd.DataFrame(tiny_task_data[0][0], index=index)
    for method in _prediction_methods(make_estimator()):
        with pytest.raises(NotFittedError):
            getattr(make_estimator(), method)(panel)


def test_lengths_reach_each_module_where_it_declares_it_reads_them(
    make_causal_estimator, tiny_task_data, monkeypatch
):
    # On a CPU-only machine the host is the device, so the test watches the decision: every
    # batch fit and predict run, and every stream update, passes its lengths through the
    # module's place_lengths (the one place that decides), and the recurrent modules, which
    # pack batches from host lengths, declare that they read them there.
    from sk_seqlabel.modules.base import SequenceModule

    X, y = tiny_task_data
    seen = []
    place = SequenceModule.place_lengths

    def spy(module, lengths, device):
        seen.append((type(module).__name__, int(lengths.sum())))
        return place(module, lengths, device)

    monkeypatch.setattr(SequenceModule, "place_lengths", spy)
    clf = make_causal_estimator(max_epochs=1).fit(X, y)
    name = type(clf.net_.module_).__name__
    fitted = sum(n for _, n in seen)
    assert fitted >= sum(len(x) for x in X)
    outputs(clf, X)
    assert sum(n for _, n in seen) - fitted >= sum(len(x) for x in X)
    streamed = sum(n for _, n in seen)
    stream = clf.start_stream(output=clf._stream_output_kinds[-1])
    stream.update({"a": np.concatenate(X)[:7]})
    stream.close()
    assert sum(n for _, n in seen) - streamed >= 7
    assert {module for module, _ in seen} <= {name, "TCN"}  # a multi-stage TCN's stages
    assert clf.net_.module_.lengths_on_host is (name in {"LSTM", "ConvLSTM"})
