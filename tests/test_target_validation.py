"""Continuous, multi-label and partly missing targets: what is accepted, what is refused."""

import numpy as np
import pandas as pd
import pytest

from sk_seqlabel._data.targets import (
    check_continuous_targets,
    check_multilabel_targets,
    check_partial_targets,
    labelled_masks,
    target_kind,
)

X2 = [np.zeros((3, 2), dtype=np.float32), np.zeros((2, 2), dtype=np.float32)]


# --- check_continuous_targets --------------------------------------------------------------------


def test_continuous_1d_sequences_become_one_target_columns_and_say_so():
    y_list, outputs_2d, names = check_continuous_targets([[1, 2, 3], np.array([0.5, 1.5])], X2)
    assert [t.shape for t in y_list] == [(3, 1), (2, 1)]
    assert all(t.dtype == np.float32 for t in y_list)
    np.testing.assert_array_equal(y_list[0][:, 0], [1, 2, 3])
    assert outputs_2d is False and names is None


def test_continuous_2d_sequences_keep_their_targets():
    y = [np.arange(6.0).reshape(3, 2), np.ones((2, 2))]
    y_list, outputs_2d, _ = check_continuous_targets(y, X2)
    assert outputs_2d is True
    np.testing.assert_array_equal(y_list[0], y[0])


def test_continuous_one_column_sequences_stay_2d():
    _, outputs_2d, _ = check_continuous_targets([np.ones((3, 1)), np.ones((2, 1))], X2)
    assert outputs_2d is True


def test_continuous_2d_and_3d_arrays_are_one_sequence_per_row():
    X = [np.zeros((4, 1))] * 3
    y_list, outputs_2d, _ = check_continuous_targets(np.arange(12.0).reshape(3, 4), X)
    assert outputs_2d is False and y_list[2][:, 0].tolist() == [8, 9, 10, 11]
    y_list, outputs_2d, _ = check_continuous_targets(np.zeros((3, 4, 2)), X)
    assert outputs_2d is True and y_list[1].shape == (4, 2)


def test_continuous_dataframes_give_target_names_and_series_one_target():
    y = [
        pd.DataFrame({"gx": [1.0, 2, 3], "gy": [0.0, 0, 1]}),
        pd.DataFrame({"gx": [1.0, 2], "gy": [4.0, 5]}),
    ]
    y_list, outputs_2d, names = check_continuous_targets(y, X2)
    assert names.tolist() == ["gx", "gy"] and outputs_2d is True
    np.testing.assert_array_equal(y_list[1][:, 1], [4, 5])
    _, outputs_2d, names = check_continuous_targets(
        [pd.Series([1.0, 2, 3], name="angle"), pd.Series([1.0, 2], name="angle")], X2
    )
    assert outputs_2d is False and names.tolist() == ["angle"]


def test_continuous_dataframes_with_different_columns_are_refused_naming_the_sequence():
    y = [pd.DataFrame({"a": [1.0, 2, 3]}), pd.DataFrame({"b": [1.0, 2]})]
    with pytest.raises(ValueError, match=r"y\[1\] has columns \['b'\] but y\[0\] has \['a'\]"):
        check_continuous_targets(y, X2)


def test_continuous_nan_is_kept_as_a_step_without_target_and_none_becomes_nan():
    y_list, _, _ = check_continuous_targets(
        [[1.0, np.nan, 3.0], np.array([None, 2.0], dtype=object)], X2
    )
    assert np.isnan(y_list[0][1, 0]) and np.isnan(y_list[1][0, 0])
    assert y_list[1][1, 0] == 2.0


def test_continuous_nullable_pandas_na_is_a_missing_target():
    y = [pd.Series([1.0, None, 3.0], dtype="Float64"), pd.Series([1.0, 2.0], dtype="Float64")]
    y_list, _, _ = check_continuous_targets(y, X2)
    assert np.isnan(y_list[0][1, 0]) and y_list[0][2, 0] == 3.0


def test_continuous_length_mismatch_names_the_sequence():
    with pytest.raises(ValueError, match=r"y\[1\] has 3 timesteps but X\[1\] has 2 timesteps"):
        check_continuous_targets([[1, 2, 3], [1, 2, 3]], X2)
    with pytest.raises(ValueError, match="y has 1 sequences but X has 2"):
        check_continuous_targets([[1, 2, 3]], X2)


def test_continuous_different_numbers_of_targets_are_refused():
    with pytest.raises(ValueError, match=r"y\[1\] has 3 targets but y\[0\] has 2"):
        check_continuous_targets([np.ones((3, 2)), np.ones((2, 3))], X2)
    with pytest.raises(ValueError, match=r"y\[1\] is 2-D \(2, 1\) but y\[0\] is 1-D"):
        check_continuous_targets([np.ones(3), np.ones((2, 1))], X2)


def test_continuous_infinity_is_refused_naming_sequence_and_step():
    with pytest.raises(ValueError, match=r"y\[1\] has an infinite target at timestep 1"):
        check_continuous_targets([[1, 2, 3], [0.0, -np.inf]], X2)


def test_continuous_values_beyond_float32_are_refused():
    with pytest.raises(ValueError, match=r"y\[0\] has a target too large for float32"):
        check_continuous_targets([[1e39, 2, 3], [0.0, 1.0]], X2)


def test_continuous_y_without_any_finite_value_is_refused():
    with pytest.raises(ValueError, match="y has no finite value"):
        check_continuous_targets([[np.nan] * 3, [np.nan] * 2], X2)
    with pytest.raises(ValueError, match="Target 1 of y is NaN at every timestep"):
        check_continuous_targets(
            [np.c_[[1.0, 2, 3], [np.nan] * 3], np.c_[[1.0, 2], [np.nan] * 2]], X2
        )


@pytest.mark.parametrize(
    "bad",
    [
        [["a", "b", "c"], ["d", "e"]],
        [np.array([1.0, "x", 2.0], dtype=object), [1.0, 2.0]],
        [pd.Series(["a", "b", "c"]), pd.Series([1.0, 2.0])],
        [np.array([1 + 1j, 2, 3]), [1.0, 2.0]],
    ],
    ids=["strings", "object", "series-of-strings", "complex"],
)
def test_continuous_non_numeric_values_are_a_type_error_naming_the_sequence(bad):
    with pytest.raises(TypeError, match=r"y\[0\] (holds|has complex)"):
        check_continuous_targets(bad, X2)


def test_continuous_refuses_a_single_sequence_and_says_how_to_pass_it():
    with pytest.raises(TypeError, match=r"pass \[y\]"):
        check_continuous_targets(np.array([1.0, 2.0, 3.0]), X2[:1])
    with pytest.raises(ValueError, match="3 dimensions"):
        check_continuous_targets([np.zeros((3, 1, 1)), np.zeros((2, 1, 1))], X2)


def test_continuous_check_does_not_modify_the_input():
    y = [np.array([1.0, np.nan, 3.0]), np.array([[2.0], [5.0]])[:, 0]]
    copies = [a.copy() for a in y]
    out, _, _ = check_continuous_targets(y, X2)
    out[0][0] = 99
    for a, b in zip(y, copies, strict=True):
        np.testing.assert_array_equal(a, b)


# --- check_multilabel_targets --------------------------------------------------------------------


def test_multilabel_accepts_bool_int_and_float_tables():
    y = [np.array([[True, False], [False, False], [True, True]]), np.array([[0, 1], [1, 0]])]
    y_list, names = check_multilabel_targets(y, X2)
    assert names is None and all(t.dtype == np.float32 for t in y_list)
    np.testing.assert_array_equal(y_list[0], [[1, 0], [0, 0], [1, 1]])
    y_list, _ = check_multilabel_targets(np.zeros((2, 4, 3)), [np.zeros((4, 1))] * 2)
    assert y_list[1].shape == (4, 3)


def test_multilabel_nan_none_and_the_marker_are_missing_entries():
    y = [np.array([[1.0, np.nan], [0, 1], [1, 0]]), np.array([[None, 1], [0, 0]], dtype=object)]
    y_list, _ = check_multilabel_targets(y, X2)
    assert np.isnan(y_list[0][0, 1]) and np.isnan(y_list[1][0, 0])
    assert np.isfinite(y_list[0]).sum() == 5
    y_list, _ = check_multilabel_targets(
        [[[1, -1], [0, 1], [1, 0]], [[-1, 1], [0, 0]]], X2, missing_label=-1
    )
    assert np.isnan(y_list[0][0, 1]) and np.isnan(y_list[1][0, 0])


def test_multilabel_minus_one_is_refused_unless_it_is_the_marker():
    with pytest.raises(ValueError, match=r"y\[1\] has the value -1 at timestep 0, label 0"):
        check_multilabel_targets([[[1, 0], [0, 1], [1, 0]], [[-1, 1], [0, 0]]], X2)


def test_multilabel_dataframe_columns_are_the_label_names():
    y = [
        pd.DataFrame({"speech": [1, 0, 1], "music": [0, 0, 1]}),
        pd.DataFrame({"speech": [1, 1], "music": [1, 0]}),
    ]
    y_list, names = check_multilabel_targets(y, X2)
    assert names.tolist() == ["speech", "music"]
    np.testing.assert_array_equal(y_list[0][:, 1], [0, 0, 1])


def test_multilabel_refuses_1d_sequences_and_other_values():
    with pytest.raises(ValueError, match=r"y\[0\] is 1-D; multi-label targets are"):
        check_multilabel_targets([[0, 1, 1], [1, 0]], X2)
    with pytest.raises(ValueError, match=r"y\[0\] has the value 0.5 at timestep 2, label 1"):
        check_multilabel_targets([[[1, 0], [0, 1], [1, 0.5]], [[0, 1], [0, 0]]], X2)
    with pytest.raises(TypeError, match=r"y\[0\] holds values of dtype"):
        check_multilabel_targets([np.array([["a", "b"]] * 3), np.zeros((2, 2))], X2)


def test_multilabel_label_missing_everywhere_is_refused():
    y = [np.array([[1, np.nan]] * 3), np.array([[0, np.nan]] * 2)]
    with pytest.raises(ValueError, match="Label 1 of y is missing at every timestep"):
        check_multilabel_targets(y, X2)


def test_multilabel_label_that_is_always_zero_is_accepted():
    y_list, _ = check_multilabel_targets([np.c_[[1, 0, 1], [0, 0, 0]], np.zeros((2, 2))], X2)
    assert y_list[0][:, 1].tolist() == [0, 0, 0]


def test_multilabel_lengths_and_widths_must_match():
    with pytest.raises(ValueError, match=r"y\[1\] has 3 timesteps but X\[1\] has 2"):
        check_multilabel_targets([np.zeros((3, 2)), np.zeros((3, 2))], X2)
    with pytest.raises(ValueError, match=r"y\[1\] has 3 labels but y\[0\] has 2"):
        check_multilabel_targets([np.zeros((3, 2)), np.zeros((2, 3))], X2)


def test_multilabel_check_does_not_modify_the_input():
    y = [np.array([[1, -1], [0, 1], [1, 0]]), np.array([[0, 1], [1, 0]])]
    copies = [a.copy() for a in y]
    check_multilabel_targets(y, X2, missing_label=-1)
    for a, b in zip(y, copies, strict=True):
        np.testing.assert_array_equal(a, b)


# --- labelled_masks ------------------------------------------------------------------------------


def test_labelled_masks_find_none_nan_and_the_marker():
    masks = labelled_masks(
        [
            np.array(["run", None, "sit"], dtype=object),
            np.array([1.0, np.nan]),
            np.array([0, -1, 2]),
            ["a", "?", "b"],
        ],
        missing_label="?",
    )
    assert [m.tolist() for m in masks] == [
        [True, False, True],
        [True, False],
        [True, True, True],  # an int array cannot hold the string marker
        [True, False, True],
    ]
    assert labelled_masks([np.array([0, -1, 2])], missing_label=-1)[0].tolist() == [
        True,
        False,
        True,
    ]


def test_labelled_masks_keep_minus_one_as_a_label_by_default():
    # Labels {-1, 1} are a common binary encoding; a default marker of -1 would drop a class.
    assert labelled_masks([np.array([-1, 1, 1, -1])])[0].all()


def test_labelled_masks_are_elementwise_for_multilabel_sequences():
    mask = labelled_masks([np.array([[1.0, np.nan], [0.0, 1.0]])])[0]
    assert mask.tolist() == [[True, False], [True, True]]


def test_labelled_masks_refuse_a_boolean_marker():
    with pytest.raises(TypeError, match="missing_label must be None, a number or a string"):
        labelled_masks([[0, 1]], missing_label=False)


# --- target_kind ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("y", "kwargs", "expected"),
    [
        ([np.array([0, 1]), np.array([1, 1, 0])], {}, "binary"),
        ([np.array(["a", "b"]), np.array(["c"])], {}, "multiclass"),
        (np.array([[0, 1, 2], [2, 1, 0]]), {}, "multiclass"),
        ([np.array([0.5, 1.0]), np.array([2.0])], {}, "continuous"),
        ([np.array([0.0, np.nan, 1.0])], {}, "binary"),
        ([np.array(["a", None, "b"], dtype=object)], {}, "binary"),
        ([np.array([1, None, 2, 3], dtype=object)], {}, "multiclass"),
        ([np.array([-1, 0, 1])], {"missing_label": -1}, "binary"),
        ([np.array([-1, 0, 1])], {}, "multiclass"),
        ([np.array([[0, 1], [1, 1]])], {}, "multilabel-indicator"),
        ([np.array([[0, np.nan], [1, 1.0]])], {}, "multilabel-indicator"),
        (np.zeros((2, 5, 3), dtype=bool), {}, "multilabel-indicator"),
        ([np.array([[0.5, 1.0], [1.5, 2.0]])], {}, "continuous-multioutput"),
        ([np.array([[0, 2], [1, 3]])], {}, "multiclass-multioutput"),
        ([pd.DataFrame({"a": [0, 1], "b": [1, 1]})], {}, "multilabel-indicator"),
    ],
)
def test_target_kind_agrees_with_type_of_target_on_the_labelled_steps(y, kwargs, expected):
    assert target_kind(y, **kwargs) == expected


@pytest.mark.parametrize("seed", range(20))
def test_target_kind_matches_sklearn_on_random_pooled_steps(seed):
    from sklearn.utils.multiclass import type_of_target

    rng = np.random.RandomState(seed)
    n_cols = [(), (2,), (3,)][seed % 3]
    draw = [
        lambda size: rng.randint(0, 2, size=size),
        lambda size: rng.randint(0, 4, size=size),
        lambda size: rng.uniform(size=size),
    ][(seed // 3) % 3]
    y = [draw((rng.randint(1, 6), *n_cols)) for _ in range(3)]
    assert target_kind(y) == type_of_target(np.concatenate(y))


def test_target_kind_refuses_mixed_dimensions_and_all_missing():
    with pytest.raises(ValueError, match=r"y\[1\] has 2 dimensions but y\[0\] has 1"):
        target_kind([np.array([0, 1]), np.array([[0, 1]])])
    with pytest.raises(ValueError, match="y has no labelled step"):
        target_kind([np.array([np.nan, np.nan])])


# --- check_partial_targets -----------------------------------------------------------------------


def test_partial_targets_mask_missing_steps_and_pool_only_labelled_ones():
    y = [np.array([0, -1, 2]), np.array([-1, 2])]
    y_list, masks, pooled = check_partial_targets(y, X2, missing_label=-1)
    assert [m.tolist() for m in masks] == [[True, False, True], [False, True]]
    assert pooled.tolist() == [0, 2, 2] and pooled.dtype.kind == "i"
    # Every step holds a real class, so an encoder fitted on the pooled labels takes them all.
    assert set(np.concatenate(y_list).tolist()) <= {0, 2}


def test_partial_targets_read_none_in_strings_and_nan_in_floats():
    _, masks, pooled = check_partial_targets([["run", None, "sit"], ["sit", None]], X2)
    assert pooled.tolist() == ["run", "sit", "sit"] and masks[1].tolist() == [True, False]
    _, masks, pooled = check_partial_targets(
        [np.array([1.0, np.nan, 0.0]), np.array([np.nan, 1.0])], X2
    )
    assert pooled.tolist() == [1.0, 0.0, 1.0] and masks[0].tolist() == [True, False, True]


def test_partial_targets_a_sequence_without_any_label_is_allowed():
    _, masks, pooled = check_partial_targets([[0, 1, 1], [None, None]], X2)
    assert not masks[1].any() and pooled.tolist() == [0, 1, 1]


def test_partial_targets_without_any_label_are_refused():
    with pytest.raises(ValueError, match="y has no labelled step"):
        check_partial_targets([[None] * 3, [None] * 2], X2)


def test_partial_targets_keep_check_targets_errors_and_positions():
    with pytest.raises(TypeError, match=r"y\[0\] holds str labels but y\[1\] holds int labels"):
        check_partial_targets([["a", None, "b"], [0, 1]], X2)
    with pytest.raises(ValueError, match=r"non-integral label 0.5 at position 2"):
        check_partial_targets([[np.nan, 1, 0.5], [1.0, 0.0]], X2)
    with pytest.raises(ValueError, match=r"y\[1\] has 3 labels but X\[1\] has 2 timesteps"):
        check_partial_targets([[0, 1, 1], [0, 1, 1]], X2)


def test_partial_targets_keep_minus_one_a_label_by_default():
    _, masks, pooled = check_partial_targets([[-1, 1, 1], [1, -1]], X2)
    assert all(m.all() for m in masks) and sorted(set(pooled.tolist())) == [-1, 1]


def test_partial_targets_do_not_modify_y():
    y = [np.array([0.0, np.nan, 1.0]), np.array([np.nan, 1.0])]
    copies = [a.copy() for a in y]
    check_partial_targets(y, X2)
    for a, b in zip(y, copies, strict=True):
        np.testing.assert_array_equal(a, b)
