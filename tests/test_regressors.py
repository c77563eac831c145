"""What a regressor adds to the shared properties: targets in their units, NaN targets, the
scikit-learn and deployment paths with values instead of probabilities.

The shared properties (batch invariance, causality, chunking, pickles, transactional fit, no
global state, scikit-learn's checks) run for the regressors through the registry fixtures of
conftest.py; what quality a regressor reaches is in test_regressors_quality.py and
benchmarks/RESULTS.md.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sk_seqlabel import SequenceScaler
from sk_seqlabel.metrics import (
    SkippedTimestepsWarning,
    neg_mean_squared_error_scorer,
    r2_scorer,
)
from sk_seqlabel.persistence import load, save
from sk_seqlabel.regressors import all_regressors

from .conftest import ESTIMATOR_CAUSAL, ESTIMATOR_FAST


@pytest.fixture(params=all_regressors(), ids=lambda cls: cls.__name__)
def make_regressor(request):
    cls = request.param
    return lambda **params: cls(**{**ESTIMATOR_FAST[cls], **params})


@pytest.fixture
def tiny_values(tiny_data):
    """tiny_data's sequences with one value per step."""
    X, _ = tiny_data
    return X, [np.cumsum(x[:, 0]) / 4 for x in X]


def test_targets_are_standardised_inside_and_predicted_in_their_units(make_regressor, easy_values):
    X, y = easy_values
    plain = make_regressor().fit(X, y)
    # the same targets in other units: the network sees the same standardised targets
    scaled = make_regressor().fit(X, [v * 1000.0 - 7.0 for v in y])
    np.testing.assert_allclose(scaled.target_scale_, plain.target_scale_ * 1000, rtol=1e-5)
    for a, b in zip(plain.predict(X[:4]), scaled.predict(X[:4]), strict=True):
        np.testing.assert_allclose(b, a * 1000.0 - 7.0, rtol=1e-4, atol=1e-2)
    pooled = np.concatenate(y)
    np.testing.assert_allclose(plain.target_mean_, pooled.mean(0), rtol=1e-5, atol=1e-6)


def test_predictions_have_the_shape_of_the_targets(make_regressor, easy_values):
    X, y = easy_values
    two_d = make_regressor().fit(X, y)
    assert two_d.outputs_2d_ and two_d.n_outputs_ == 2
    assert [p.shape for p in two_d.predict(X[:3])] == [v.shape for v in y[:3]]
    one_d = make_regressor().fit(X, [v[:, 0] for v in y])
    assert not one_d.outputs_2d_ and one_d.n_outputs_ == 1
    assert [p.shape for p in one_d.predict(X[:3])] == [(len(x),) for x in X[:3]]
    column = make_regressor().fit(X, [v[:, :1] for v in y])  # (T_i, 1) stays 2-D
    assert [p.shape for p in column.predict(X[:2])] == [(len(x), 1) for x in X[:2]]
    X_3d = np.stack([x[:20] for x in X[:6]])
    y_3d = np.stack([v[:20] for v in y[:6]])
    assert make_regressor().fit(X_3d, y_3d).predict(X_3d).shape == y_3d.shape


def test_nan_targets_never_reach_the_loss(make_regressor, easy_values):
    X, y = easy_values
    y = [v.copy() for v in y]
    for v in y[::3]:
        v[::4, 0] = np.nan  # one target missing at some steps
        v[1::5] = np.nan  # both targets missing at others
    reg = make_regressor().fit(X, y)
    losses = [b["train_loss"] for epoch in reg.net_.history for b in epoch["batches"]]
    assert np.isfinite(losses).all()
    # the loss of a batch is that of its steps with a value: other values at NaN steps of
    # the prediction change nothing, and the gradient at those outputs is 0
    logits = torch.randn(2, 5, 2, requires_grad=True)
    target = torch.tensor(np.random.default_rng(0).standard_normal((2, 5, 2)), dtype=torch.float32)
    target[0, 1, 0] = target[1, 3] = float("nan")
    loss = reg.net_.get_loss(logits, target)
    loss.backward()
    assert torch.isfinite(loss) and logits.grad[0, 1, 0] == 0 and (logits.grad[1, 3] == 0).all()
    real = ~torch.isnan(target)
    expected = ((logits - torch.nan_to_num(target)) ** 2)[real].mean()
    torch.testing.assert_close(loss, expected)
    with pytest.warns(SkippedTimestepsWarning, match="skipped"):
        assert np.isfinite(reg.score(X, y))  # scored on the steps with a value, and said so


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber"])
def test_each_loss_is_the_mean_over_entries_with_a_value(make_regressor, tiny_values, loss):
    reg = make_regressor(loss=loss, epsilon=0.5).fit(*tiny_values)
    z = torch.tensor([[[0.0], [2.0], [0.1]]])
    t = torch.tensor([[[1.0], [float("nan")], [0.0]]])
    per_entry = {
        "squared_error": [1.0, 0.01],
        "absolute_error": [1.0, 0.1],
        "huber": [0.5 * (1.0 - 0.25), 0.5 * 0.01],  # linear beyond 0.5, squared within
    }[loss]
    expected = torch.tensor(np.mean(per_entry), dtype=torch.float32)
    torch.testing.assert_close(reg.net_.get_loss(z, t), expected)


def test_a_regressor_fits_in_scikit_learns_model_selection(make_regressor, tiny_values):
    X, y = tiny_values
    pipe = make_pipeline(SequenceScaler(), make_regressor(max_epochs=1))
    scores = cross_val_score(pipe, X, y, cv=3, scoring=neg_mean_squared_error_scorer)
    assert scores.shape == (3,) and (scores <= 0).all()
    search = GridSearchCV(
        make_regressor(max_epochs=1), {"lr": [1e-3, 1e-2]}, cv=KFold(2), scoring=r2_scorer
    ).fit(X, y)
    assert search.best_params_["lr"] in (1e-3, 1e-2)
    default = cross_val_score(make_regressor(max_epochs=1), X, y, cv=2)  # score: R²
    assert np.isfinite(default).all() and (default <= 1).all()
    twin = clone(make_regressor(loss="huber"))
    assert twin.get_params()["loss"] == "huber" and not hasattr(twin, "net_")


def test_pickles_and_model_files_predict_the_same_values(make_regressor, easy_values, tmp_path):
    X, y = easy_values
    pipe = make_pipeline(SequenceScaler(), make_regressor()).fit(X, y)
    expected = pipe.predict(X[:4])
    save(pipe, tmp_path / "model.safetensors")
    for loaded in (pickle.loads(pickle.dumps(pipe)), load(tmp_path / "model.safetensors")):
        for a, b in zip(expected, loaded.predict(X[:4]), strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "edit_model, edit_tensors, problem",
    [
        (None, lambda t: {**t, "target_scale_": -t["target_scale_"]}, "target_scale_"),
        (None, lambda t: {**t, "target_mean_": t["target_mean_"] * np.nan}, "target_mean_"),
        (lambda m: m["fitted"].update(n_outputs_=3, outputs_2d_=True), None, "weight"),
        (lambda m: m["fitted"].update(outputs_2d_=False, n_outputs_=2), None, "outputs_2d_"),
        (lambda m: m.update({"class": "TCNLabeler"}), None, "as a regressor"),
    ],
    ids=["negative-scale", "nan-mean", "more-outputs", "2-outputs-as-1-d", "labeler-class"],
)
def test_a_forged_regressor_file_is_refused(
    tiny_values, tmp_path, edit_model, edit_tensors, problem
):
    from sk_seqlabel.regressors import TCNRegressor

    from .test_persistence import _forge

    reg = TCNRegressor(**ESTIMATOR_FAST[TCNRegressor]).fit(*tiny_values)
    path = tmp_path / "model.safetensors"
    save(reg, path)
    _forge(path, edit_model, edit_tensors)
    with pytest.raises(ValueError, match=problem):
        load(path)


def test_causal_regressors_stream_their_values_as_they_predict(easy_values):
    from .test_streaming import _recordings, _stream_in_random_pieces

    X, y = easy_values
    for cls, causal in ESTIMATOR_CAUSAL.items():
        if cls not in all_regressors():
            continue
        reg = cls(**{**ESTIMATOR_FAST[cls], **causal, "precision": "fp32"}).fit(X, y)
        recordings = _recordings()
        streamed = _stream_in_random_pieces(reg.start_stream(), recordings)
        offline = reg.predict(list(recordings.values()))
        for (sid, got), expected in zip(streamed.items(), offline, strict=True):
            assert got.shape == expected.shape, sid
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4, err_msg=sid)
        with pytest.raises(ValueError, match="must be one of \\('values',\\)"):
            reg.start_stream(output="proba")


def test_the_onnx_graph_gives_the_predicted_values(make_regressor, easy_values, tmp_path):
    import onnxruntime

    from sk_seqlabel.export import to_onnx

    X, y = easy_values
    reg = make_regressor(precision="fp32").fit(X, y)
    if not reg.net_.module_.exports_onnx:
        pytest.skip(f"{type(reg).__name__}'s module does not export")
    to_onnx(reg, tmp_path / "m.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    assert [o.name for o in session.get_outputs()] == ["values"]
    lengths = np.array([40, 25])
    x = np.stack([X[0][:40], np.pad(X[1][:25], ((0, 15), (0, 0)))])
    values = session.run(None, {"x": x, "lengths": lengths})[0]
    for row, n in enumerate(lengths):
        expected = reg.predict([x[row, :n]])[0]
        np.testing.assert_allclose(values[row, :n], expected, rtol=0, atol=1e-4)
        np.testing.assert_array_equal(values[row, n:], 0.0)


def test_a_panel_gets_its_values_on_its_index(make_regressor, easy_values):
    X, y = easy_values
    reg = make_regressor().fit(X, y)
    index = pd.MultiIndex.from_tuples(
        [(r, t) for r in ("b", "a") for t in range(len(X[0 if r == "b" else 1]))]
    )
    panel = pd.DataFrame(np.concatenate([X[0], X[1]]), index=index)
    out = reg.predict(panel)
    assert isinstance(out, pd.DataFrame) and out.index.equals(panel.index)
    np.testing.assert_allclose(out.loc["b"].to_numpy(), reg.predict([X[0]])[0], atol=1e-6)


def test_labels_given_to_a_regressor_or_values_to_a_labeler_are_named(make_regressor, tiny_data):
    X, labels = tiny_data  # string labels
    with pytest.raises(TypeError, match=r"y\[0\]"):
        make_regressor().fit(X, labels)
    from sk_seqlabel import TCNLabeler

    with pytest.raises(ValueError, match="continuous"):
        TCNLabeler(max_epochs=1).fit(X, [np.linspace(0, 1, len(x)) + 0.01 for x in X])


def test_a_regressor_records_feature_names_and_refuses_reordered_columns(
    make_regressor, tiny_values
):
    X, y = tiny_values
    columns = ["acc_x", "acc_y", "gyro"]
    frames = [pd.DataFrame(x, columns=columns) for x in X]
    reg = make_regressor().fit(frames, y)
    assert reg.feature_names_in_.tolist() == columns
    with pytest.raises(ValueError, match=r"X's columns are \['gyro', 'acc_y', 'acc_x'\]"):
        reg.predict([f[columns[::-1]] for f in frames])
    assert not hasattr(make_regressor().fit(X, y), "feature_names_in_")
