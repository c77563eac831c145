"""Bad input gets a ValueError/TypeError naming the sequence, never a torch traceback."""

import copy
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from sk_seqlabel import SequenceScaler
from sk_seqlabel._data.validation import check_class_weight, check_sequences, check_targets


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


def test_labels_are_all_one_per_step_or_all_several_per_step(make_labeler):
    # (T_i, n_labels) 0/1 sequences are multi-label targets (tests/test_multilabel.py); one
    # fit takes one kind or the other.
    X, y = _data()
    y[1] = np.stack([y[1], y[1]], axis=1)
    with pytest.raises(ValueError, match=r"y\[1\] has 2 dimensions but y\[0\] has 1"):
        make_labeler().fit(X, y)


def test_continuous_labels_are_rejected_naming_the_sequence_and_position(make_labeler):
    X, y = _data()
    y = [np.arange(len(yi)) % 2 for yi in y]
    y[2] = y[2] + np.r_[0.0, 0.0, 0.0, 0.25, np.zeros(len(y[2]) - 4)]
    message = r"Unknown label type: continuous. y\[2\] holds the non-integral label 1.25 at "
    with pytest.raises(ValueError, match=message + "position 3"):
        make_labeler().fit(X, y)


@pytest.mark.parametrize("label, shown", [(0.0, "0.0"), (3, "3"), ("sit", "'sit'")])
def test_single_class_is_rejected_showing_the_plain_label(make_labeler, label, shown):
    X, y = _data()
    name = make_labeler().__class__.__name__
    message = f"{name} needs at least 2 classes in y; got only {shown}."
    with pytest.raises(ValueError, match=re.escape(message)):
        make_labeler().fit(X, [np.full(len(yi), label) for yi in y])


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


# ---------------------------------------------------------------- nested lists, complex values
def test_nested_list_with_ragged_rows_names_the_sequence_and_row(make_labeler):
    X, y = _data(F=2)
    X[2] = [[1.0, 2.0], [3.0]] + [[0.0, 0.0]] * (len(y[2]) - 2)
    with pytest.raises(ValueError, match=r"X\[2\] has rows of different lengths") as info:
        make_labeler().fit(X, y)
    message = str(info.value)
    assert "row 1 has 1 value but row 0 has 2 values" in message
    assert "n_features values" in message
    assert "inhomogeneous" not in message


def test_nested_list_with_a_scalar_row():
    with pytest.raises(ValueError, match=r"X\[0\].*row 1 has a single value"):
        check_sequences([[[1.0, 2.0], 3.0]])


def test_nested_lists_of_equal_rows_are_accepted():
    X_list, _ = check_sequences([[[1, 2], [3, 4], [5, 6]]])
    np.testing.assert_array_equal(X_list[0], [[1, 2], [3, 4], [5, 6]])
    assert X_list[0].dtype == np.float32


@pytest.mark.parametrize("form", ["array", "dataframe", "object-array"])
def test_complex_values_get_a_short_message(make_labeler, form):
    X, y = _data()
    z = X[1] + 1j
    X[1] = {
        "array": z,
        "dataframe": pd.DataFrame(z),
        "object-array": z.astype(object),
    }[form]
    with pytest.raises(ValueError, match=r"^X\[1\] has complex values; ") as info:
        make_labeler().fit(X, y)
    assert len(str(info.value)) < 250  # no dump of the array
    assert "\n" not in str(info.value)


def test_non_numeric_features_name_the_sequence():
    X = [np.zeros((3, 2)), np.array([["a", "b"]] * 3, dtype=object)]
    with pytest.raises(ValueError, match=r"X\[1\] holds values that are not numbers"):
        check_sequences(X)
    X[1] = np.array([[{}, 1.0]] * 3, dtype=object)
    with pytest.raises(TypeError, match=r"X\[1\] holds values that are not numbers"):
        check_sequences(X)


# ---------------------------------------------------------------- missing and mixed labels
# A missing label in y is no longer bad input for a labeler: tests/test_partial_labels.py.
# check_targets, for fully labelled targets, still names it.
def test_missing_label_in_a_python_list():
    X_list = [np.zeros((3, 1)), np.zeros((3, 1))]
    with pytest.raises(ValueError, match=r"y\[1\] has a missing label \(None\) at position 2"):
        check_targets([[0, 1, 1], [1, 0, None]], X_list)
    with pytest.raises(ValueError, match=r"y\[0\] has a missing label \(nan\) at position 1"):
        check_targets([["a", np.nan, "b"], ["a", "b", "a"]], X_list)


@pytest.mark.parametrize(
    "first, second, names",
    [
        ([0, 1], ["a", "b"], ("int", "str")),
        (np.array([0, 1]), np.array(["0", "1"]), ("int", "str")),
        (np.array([True, False]), np.array([1, 0]), ("bool", "int")),
        ([1, 0], [True, False], ("int", "bool")),
        (np.array([0.0, 1.0]), np.array(["a", "b"]), ("float", "str")),
        (np.array(["a", "b"], dtype=object), np.array([0, 1], dtype=object), ("str", "int")),
    ],
    ids=["int-str", "int-numeric-str", "bool-int", "int-bool-lists", "float-str", "objects"],
)
def test_labels_of_different_types_are_refused(first, second, names):
    X_list = [np.zeros((2, 1))] * 4
    y = [first, first, second, first]
    with pytest.raises(TypeError) as info:
        check_targets(y, X_list)
    assert str(info.value) == (
        f"y[0] holds {names[0]} labels but y[2] holds {names[1]} labels; "
        "use one label type for all sequences."
    )


def test_labeler_refuses_int_and_str_labels_instead_of_returning_strings(make_labeler):
    X, y = _data()
    y[3] = np.where(y[3] == 1, "one", "zero")
    with pytest.raises(TypeError, match=r"y\[0\] holds int labels but y\[3\] holds str labels"):
        make_labeler().fit(X, y)


@pytest.mark.parametrize(
    "labels, kinds, position",
    [([0, 1, "a"], ("int", "str"), 2), ([True, False, 2], ("bool", "int"), 2)],
    ids=["int-str", "bool-int"],
)
def test_labels_of_different_types_within_one_list_are_refused(labels, kinds, position):
    with pytest.raises(TypeError) as info:
        check_targets([labels], [np.zeros((3, 1))])
    assert str(info.value).startswith(
        f"y[0] mixes {kinds[0]} labels and {kinds[1]} labels (the first {kinds[1]} is at "
        f"position {position})"
    )


def test_ints_and_floats_stay_numbers():
    X_list = [np.zeros((2, 1))] * 3
    y = [np.array([0, 1], np.int8), np.array([1.0, 0.0]), [0, 1]]
    _, pooled = check_targets(y, X_list)
    assert pooled.dtype.kind == "f"
    np.testing.assert_array_equal(pooled, [0, 1, 1, 0, 0, 1])


def test_label_type_check_reads_typed_arrays_by_dtype_only(monkeypatch):
    # Typed arrays must not be scanned element by element (y may hold 10 million labels).
    from sk_seqlabel._data import validation as _validation

    def fail(*args, **kwargs):
        raise AssertionError("typed arrays were scanned element by element")

    monkeypatch.setattr(_validation, "_label_kinds", fail)
    X_list = [np.zeros((1000, 1))] * 3
    check_targets([np.arange(1000) % 3] * 3, X_list)
    check_targets(np.array([np.arange(1000) % 3] * 3), X_list)


# ---------------------------------------------------------------- class_weight
def test_class_weight_with_an_unknown_key_names_it_and_the_classes():
    classes = np.array(["run", "sit", "walk"])
    with pytest.raises(ValueError) as info:
        check_class_weight({"sit": 2.0, "jump": 3.0}, classes)
    assert str(info.value) == (
        "class_weight has a key that is not a class: ['jump']; the classes seen in fit are "
        "['run', 'sit', 'walk']. Use those labels as keys."
    )


def test_class_weight_keys_of_the_wrong_type_show_their_type():
    with pytest.raises(
        ValueError,
        match=r"not classes: \[0, 1\]; the classes seen in fit are "
        r"\['0', '1'\]",
    ):
        check_class_weight({0: 2.0, 1: 1.0}, np.array(["0", "1"]))


def test_class_weight_returns_one_weight_per_class():
    np.testing.assert_array_equal(
        check_class_weight({"1": 4.0}, np.array(["0", "1"])), [1.0, 4.0]
    )  # scikit-learn would look "1" up as the int 1 and refuse
    np.testing.assert_array_equal(check_class_weight({1: 2.0}, np.array([0.0, 1.0])), [1, 2])
    np.testing.assert_array_equal(
        check_class_weight({np.int64(2): 3.0}, np.array([0, 1, 2])), [1, 1, 3]
    )
    assert check_class_weight(None, np.array([0, 1])) is None
    np.testing.assert_allclose(
        check_class_weight("balanced", np.array([0, 1]), y=np.array([0, 1, 1, 1])),
        [2.0, 2 / 3],
    )


@pytest.mark.parametrize("weight", [-1.0, np.inf, "heavy", None])
def test_class_weight_values_must_be_non_negative_numbers(weight):
    with pytest.raises(ValueError, match=r"class_weight\['b'\] is .*; weights must be finite"):
        check_class_weight({"b": weight}, np.array(["a", "b"]))


def test_labeler_names_an_unknown_class_weight_key(make_labeler):
    X, y = _data()
    with pytest.raises(ValueError, match=r"class_weight has a key that is not a class: \[5\]"):
        make_labeler(class_weight={0: 1.0, 5: 2.0}).fit(X, y)


@pytest.mark.parametrize(
    ("param", "value"),
    [("max_batch_timesteps", "huge"), ("precision", "fp8"), ("n_threads", 0), ("device", 3)],
)
def test_settings_changed_after_fit_are_checked_again_at_predict(make_labeler, param, value):
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = _data()
    clf = make_labeler(max_epochs=1).fit(X, y).set_params(**{param: value})
    for method in (clf.predict, clf.predict_proba):
        with pytest.raises(InvalidParameterError, match=f"'{param}' parameter"):
            method(X)


def test_memmapped_recordings_are_not_copied(tmp_path):
    from sk_seqlabel._data.validation import check_sequences

    path = tmp_path / "recording.f32"
    data = np.random.default_rng(0).standard_normal((500, 3)).astype(np.float32)
    data.tofile(path)
    recording = np.memmap(path, dtype=np.float32, mode="r", shape=(500, 3))
    (checked,), _ = check_sequences([recording])
    assert np.shares_memory(checked, recording)  # still on disk, read batch by batch
