"""Column names of DataFrame sequences are recorded at fit and checked afterwards, as in sklearn."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from sk_seqlabel import SequenceScaler
from sk_seqlabel._data.validation import check_feature_names, sequence_feature_names

COLUMNS = ["acc_x", "acc_y", "gyro"]


def _frames(n=4, T=10, columns=COLUMNS, seed=0, index_start=None):
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        values = rng.standard_normal((T + i, len(columns))) * [1, 10, 100][: len(columns)]
        index = None if index_start is None else pd.RangeIndex(index_start, index_start + T + i)
        frames.append(pd.DataFrame(values, columns=columns, index=index))
    return frames


def _labels(X):
    return [np.arange(len(x)) % 2 for x in X]


def _names(*names):
    return np.array(names, dtype=object)


# ---------------------------------------------------------------- sequence_feature_names
def test_names_are_read_from_dataframes_with_string_columns():
    names = sequence_feature_names(_frames())
    assert isinstance(names, np.ndarray) and names.dtype == object
    assert names.tolist() == COLUMNS


@pytest.mark.parametrize(
    "X",
    [
        [np.zeros((3, 2))],
        [[[0.0, 1.0]]],
        np.zeros((2, 3, 2)),
        [pd.DataFrame(np.zeros((3, 2)))],  # default integer columns are not names
        [pd.Series(np.zeros(3), name="acc")],  # a Series is one unnamed feature, as in sklearn
        pd.DataFrame(np.zeros((3, 2)), columns=["a", "b"]),  # not a list: check_sequences refuses
        "not sequences",
    ],
    ids=["arrays", "lists", "3-d", "int-columns", "series", "bare-frame", "str"],
)
def test_no_names_without_string_columns(X):
    assert sequence_feature_names(X) is None


def test_names_in_another_order_in_one_x_are_refused():
    X = _frames()
    X[2] = X[2][COLUMNS[::-1]]
    with pytest.raises(ValueError) as info:
        sequence_feature_names(X)
    assert str(info.value) == (
        "X[2] has columns ['gyro', 'acc_y', 'acc_x'] but X[0] has ['acc_x', 'acc_y', 'gyro']; "
        "every DataFrame in X must have the same columns in the same order. Reorder it with "
        "X[2][X[0].columns]."
    )


def test_other_names_in_one_x_are_refused():
    X = _frames()
    X[1] = X[1].rename(columns={"gyro": "mag"})
    with pytest.raises(ValueError, match=r"^X\[1\] has columns \['acc_x', 'acc_y', 'mag'\] but"):
        sequence_feature_names(X)


@pytest.mark.parametrize("unnamed", ["array", "int-columns"])
def test_named_and_unnamed_sequences_in_one_x_are_refused(unnamed):
    X = _frames()
    X[3] = X[3].to_numpy() if unnamed == "array" else pd.DataFrame(X[3].to_numpy())
    with pytest.raises(ValueError, match=r"^X\[0\] has column names but X\[3\] \(\w+\) has no"):
        sequence_feature_names(X)
    with pytest.raises(ValueError, match=r"^X\[1\] has column names but X\[0\]"):
        sequence_feature_names(X[::-1])


def test_mixed_string_and_other_column_names_are_refused():
    X = [pd.DataFrame(np.zeros((3, 2)), columns=["a", 1])]
    with pytest.raises(TypeError, match=r"X\[0\] has column names of types \['int', 'str'\]"):
        sequence_feature_names(X)


# ---------------------------------------------------------------- check_feature_names
def test_same_names_pass_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_feature_names(_names("a", "b"), _names("a", "b"), "TCNLabeler")
        check_feature_names(None, None, "TCNLabeler")


def test_reordered_names_are_refused():
    with pytest.raises(ValueError) as info:
        check_feature_names(_names("a", "b"), _names("b", "a"), "TCNLabeler")
    assert str(info.value) == (
        "X's columns are ['b', 'a'] but TCNLabeler was fitted with ['a', 'b']; pass the columns "
        "in the fitted order."
    )


def test_other_names_are_refused_with_what_differs():
    with pytest.raises(ValueError) as info:
        check_feature_names(_names("a", "b", "c"), _names("a", "x"), "TCNLabeler")
    assert str(info.value) == (
        "X's columns are ['a', 'x'] but TCNLabeler was fitted with ['a', 'b', 'c'] (not seen in "
        "fit: ['x']; missing: ['b', 'c']); pass the columns TCNLabeler was fitted with, in the "
        "fitted order."
    )


def test_long_name_lists_are_shortened_and_the_first_difference_named():
    fitted = _names(*(f"f{i}" for i in range(50)))
    swapped = fitted.copy()
    swapped[[7, 8]] = swapped[[8, 7]]
    with pytest.raises(ValueError, match=r"column 7 is 'f8' where 'f7' was fitted") as info:
        check_feature_names(fitted, swapped, "TCNLabeler")
    assert "(50 columns)" in str(info.value) and len(str(info.value)) < 400


def test_names_on_one_side_only_warn():
    with pytest.warns(UserWarning, match="X does not have valid feature names, but TCNLabeler"):
        check_feature_names(_names("a"), None, "TCNLabeler")
    with pytest.warns(UserWarning, match="X has feature names, but TCNLabeler was fitted without"):
        check_feature_names(None, _names("a"), "TCNLabeler")


# ---------------------------------------------------------------- SequenceScaler
def test_scaler_records_names_and_gives_them_out():
    scaler = SequenceScaler().fit(_frames())
    assert scaler.feature_names_in_.tolist() == COLUMNS
    assert scaler.get_feature_names_out().tolist() == COLUMNS
    with pytest.raises(ValueError):
        scaler.get_feature_names_out(["a", "b", "c"])


def test_scaler_fitted_on_arrays_has_no_names():
    X = [x.to_numpy() for x in _frames()]
    scaler = SequenceScaler().fit(X)
    assert not hasattr(scaler, "feature_names_in_")
    assert scaler.get_feature_names_out().tolist() == ["x0", "x1", "x2"]
    refitted = SequenceScaler().fit(_frames()).fit(X)
    assert not hasattr(refitted, "feature_names_in_")


@pytest.mark.parametrize("method", ["transform", "inverse_transform"])
def test_scaler_refuses_reordered_columns(method):
    scaler = SequenceScaler().fit(_frames())
    X = [x[COLUMNS[::-1]] for x in _frames(seed=1)]
    with pytest.raises(ValueError, match=r"X's columns are \['gyro', 'acc_y', 'acc_x'\] but "):
        getattr(scaler, method)(X)


def test_scaler_warns_when_names_appear_or_disappear():
    X = _frames()
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        SequenceScaler().fit(X).transform([x.to_numpy() for x in X])
    with pytest.warns(UserWarning, match="X has feature names, but SequenceScaler was fitted"):
        SequenceScaler().fit([x.to_numpy() for x in X]).transform(X)


def test_pandas_output_keeps_names_index_and_values():
    X = _frames(index_start=100)
    X_before = copy.deepcopy(X)
    plain = SequenceScaler().fit(X).transform(X)
    scaler = SequenceScaler().set_output(transform="pandas").fit(X)
    out = scaler.transform(X)
    assert isinstance(out, list) and len(out) == len(X)
    for frame, x, values in zip(out, X, plain, strict=True):
        assert isinstance(frame, pd.DataFrame)
        assert frame.columns.tolist() == COLUMNS
        pd.testing.assert_index_equal(frame.index, x.index)
        np.testing.assert_array_equal(frame.to_numpy(), values)
    for frame in scaler.fit_transform(X):
        assert frame.columns.tolist() == COLUMNS
    back = scaler.inverse_transform(out)
    for x, b in zip(X, back, strict=True):
        np.testing.assert_allclose(b, x.to_numpy(), rtol=1e-5, atol=1e-4)
    for a, b in zip(X_before, X, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_pandas_output_of_arrays_and_3d_input():
    X = np.random.default_rng(0).standard_normal((3, 5, 2))
    out = SequenceScaler().set_output(transform="pandas").fit(X).transform(X)
    assert [f.shape for f in out] == [(5, 2)] * 3
    assert out[0].columns.tolist() == ["x0", "x1"]
    assert out[0].index.tolist() == list(range(5))


def test_global_pandas_output_config_is_followed():
    X = _frames()
    with config_context(transform_output="pandas"):
        out = SequenceScaler().fit(X).transform(X)
    assert isinstance(out[0], pd.DataFrame) and out[0].columns.tolist() == COLUMNS
    expected = SequenceScaler().fit(X).transform(X)
    for frame, values in zip(out, expected, strict=True):
        np.testing.assert_array_equal(frame.to_numpy(), values)


def test_set_output_is_kept_by_clone_and_refuses_other_containers():
    scaler = SequenceScaler().set_output(transform="pandas")
    assert isinstance(clone(scaler).fit(_frames()).transform(_frames())[0], pd.DataFrame)
    with pytest.raises(ValueError, match="can output 'default' or 'pandas'"):
        SequenceScaler().set_output(transform="polars")
    assert SequenceScaler().set_output() is not None  # None leaves the configuration as is


def test_pipeline_passes_names_on_with_pandas_output():
    X = _frames()
    pipe = make_pipeline(SequenceScaler(), SequenceScaler()).set_output(transform="pandas")
    pipe.fit(X)
    assert pipe[1].feature_names_in_.tolist() == COLUMNS
    assert pipe.get_feature_names_out().tolist() == COLUMNS


def test_pipeline_refuses_reordered_columns_at_predict(make_labeler):
    X = _frames()
    pipe = make_pipeline(SequenceScaler(), make_labeler(max_epochs=1)).fit(X, _labels(X))
    with pytest.raises(ValueError, match=r"SequenceScaler was fitted with \['acc_x', 'acc_y'"):
        pipe.predict([x[COLUMNS[::-1]] for x in X])
    assert [len(p) for p in pipe.predict(X)] == [len(x) for x in X]


# ---------------------------------------------------------------- labelers
def test_labeler_records_names_and_refuses_reordered_columns(make_labeler):
    X = _frames()
    clf = make_labeler(max_epochs=1).fit(X, _labels(X))
    assert clf.feature_names_in_.tolist() == COLUMNS
    reordered = [x[COLUMNS[::-1]] for x in X]
    for method in ("predict", "predict_proba"):
        with pytest.raises(ValueError, match=r"X's columns are \['gyro', 'acc_y', 'acc_x'\]"):
            getattr(clf, method)(reordered)


def test_labeler_fitted_on_arrays_has_no_names(make_labeler):
    X = [x.to_numpy() for x in _frames()]
    clf = make_labeler(max_epochs=1).fit(_frames(), _labels(X))
    assert hasattr(clf, "feature_names_in_")
    clf.fit(X, _labels(X))
    assert not hasattr(clf, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but \\w+Labeler was fitted"):
        clf.predict(_frames())


def test_labeler_refuses_mixed_names_in_one_x(make_labeler):
    X = _frames()
    X[1] = X[1][COLUMNS[::-1]]
    with pytest.raises(ValueError, match=r"X\[1\] has columns"):
        make_labeler(max_epochs=1).fit(X, _labels(X))
