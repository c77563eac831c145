"""Bad input gets a ValueError/TypeError naming the sequence, never a torch traceback."""

import copy

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from sk_seqlabel import SequenceScaler


def _data(n=4, T=12, F=3, seed=0):
    rng = np.random.default_rng(seed)
    X = [rng.standard_normal((T + i, F)).astype(np.float32) for i in range(n)]
    y = [np.arange(T + i) % 2 for i in range(n)]
    return X, y


def test_different_number_of_sequences(make_labeler):
    X, y = _data()
    with pytest.raises(ValueError, match=r"y has 3 sequences but X has 4"):
        make_labeler().fit(X, y[:3])


def test_label_count_differs_from_timesteps(make_labeler):
    X, y = _data()
    y[2] = y[2][:-1]
    with pytest.raises(ValueError, match=r"y\[2\] has 13 labels but X\[2\] has 14 timesteps"):
        make_labeler().fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values(make_labeler, bad):
    X, y = _data()
    X[1] = X[1].copy()
    X[1][3, 0] = bad
    with pytest.raises(ValueError, match=r"X\[1\].*(NaN|infinity)"):
        make_labeler().fit(X, y)
    clf = make_labeler(max_epochs=1).fit(*_data())
    with pytest.raises(ValueError, match=r"X\[1\]"):
        clf.predict(X)


def test_wrong_number_of_features_at_predict(make_labeler):
    clf = make_labeler(max_epochs=1).fit(*_data(F=3))
    X5, _ = _data(F=5)
    with pytest.raises(ValueError, match=r"has 5 features, but \w+Labeler was fitted with 3"):
        clf.predict(X5)
    with pytest.raises(ValueError, match=r"has 5 features, but \w+Labeler was fitted with 3"):
        clf.predict_proba(X5)


def test_ragged_feature_counts(make_labeler):
    X, y = _data()
    X[3] = X[3][:, :2]
    with pytest.raises(ValueError, match=r"X\[3\] has 2 features but X\[0\] has 3"):
        make_labeler().fit(X, y)


def test_empty_list(make_labeler):
    with pytest.raises(ValueError, match="X is an empty list"):
        make_labeler().fit([], [])


def test_zero_length_sequence(make_labeler):
    X, y = _data()
    X[2], y[2] = X[2][:0], y[2][:0]
    with pytest.raises(ValueError, match=r"X\[2\] is empty"):
        make_labeler().fit(X, y)


@pytest.mark.parametrize("form", ["2d-array", "dataframe", "1d-array"])
def test_single_sequence_instead_of_list(make_labeler, form):
    x = np.zeros((10, 3), np.float32)
    X = {"2d-array": x, "dataframe": pd.DataFrame(x), "1d-array": x[:, 0]}[form]
    with pytest.raises(TypeError, match=r"Expected a list of sequences.*pass \[X\]"):
        make_labeler().fit(X, [np.zeros(10)])


def test_labels_must_be_one_dimensional(make_labeler):
    X, y = _data()
    y[1] = np.stack([y[1], y[1]], axis=1)
    with pytest.raises(ValueError, match=r"y\[1\] must be a 1-D sequence"):
        make_labeler().fit(X, y)


def test_continuous_labels_are_rejected(make_labeler):
    X, y = _data()
    y = [np.linspace(0, 1, len(yi)) for yi in y]
    with pytest.raises(ValueError, match="Unknown label type"):
        make_labeler().fit(X, y)


def test_single_class_is_rejected(make_labeler):
    X, y = _data()
    with pytest.raises(ValueError, match="at least 2 classes"):
        make_labeler().fit(X, [np.zeros(len(yi)) for yi in y])


def test_invalid_hyperparameter_is_rejected_at_fit(make_labeler):
    X, y = _data()
    clf = make_labeler(max_epochs=0)  # stored as given; checked in fit
    assert clf.max_epochs == 0
    with pytest.raises(ValueError, match="max_epochs"):
        clf.fit(X, y)


def test_unavailable_device_is_a_clear_error(make_labeler):
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    with pytest.raises(ValueError, match="CUDA is not available"):
        make_labeler(device="cuda").fit(*_data())


def test_not_fitted(make_labeler):
    X, _ = _data()
    for method in ("predict", "predict_proba"):
        with pytest.raises(NotFittedError):
            getattr(make_labeler(), method)(X)
    with pytest.raises(NotFittedError):
        SequenceScaler().transform(X)


def test_nothing_passed_is_modified(make_labeler):
    X, y = _data()
    X_df = [pd.DataFrame(x) for x in X]
    before = (copy.deepcopy(X), copy.deepcopy(y), [d.copy() for d in X_df])
    callbacks = []
    clf = make_labeler(callbacks=callbacks, class_weight="balanced").fit(X, y)
    clf.predict(X)
    clf.predict_proba(X_df)
    clf.score(X, y)
    for a, b in zip(before[0], X, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(before[1], y, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(before[2], X_df, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert callbacks == []
