"""Tests of sk_seqlabel.metrics: hand-computed values, pooling, label types, errors, scorers."""

import importlib
import importlib.util
import itertools
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as sk_metrics
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import make_scorer
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from sk_seqlabel.metrics import (
    SkippedTimestepsWarning,
    _levenshtein,
    _runs,
    _segments,
    edit_score,
    edit_scorer,
    event_based_error_rate,
    event_based_f1_score,
    event_based_f1_scorer,
    mean_absolute_error,
    mean_squared_error,
    neg_event_based_error_rate_scorer,
    neg_mean_absolute_error_scorer,
    neg_mean_squared_error_scorer,
    neg_segment_based_error_rate_scorer,
    r2_score,
    r2_scorer,
    segment_based_error_rate,
    segment_based_f1_score,
    segment_based_f1_scorer,
    segment_f1_score,
    segment_f1_scorer,
    timestep_accuracy_score,
    timestep_accuracy_scorer,
)

ALL_METRICS = [timestep_accuracy_score, segment_f1_score, edit_score]

# True segments 0:[0,10) 1:[10,20); the prediction flickers twice in each.
OVERSEG_TRUE = [[0] * 10 + [1] * 10]
OVERSEG_PRED = [[0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1]]

# True segments A:[0,10) B:[10,20) C:[20,30). Predicted A, B, C overlap them with IoU 0.9, 0.6
# and 0.3; two segments of a label absent from the truth ("X") are always false positives.
IOU_TRUE = [["A"] * 10 + ["B"] * 10 + ["C"] * 10]
IOU_PRED = [["A"] * 9 + ["X"] * 5 + ["B"] * 6 + ["X"] * 7 + ["C"] * 3]


# --- reference implementations, written plainly for cross-checks ----------------------------


def _plain_segments(labels, background=()):
    """Segments as (label, start, end) triples, by a Python loop; background runs dropped."""
    segs = []
    for t, label in enumerate(labels):
        if segs and segs[-1][0] == label and segs[-1][2] == t:
            segs[-1][2] = t + 1
        else:
            segs.append([label, t, t + 1])
    return [s for s in segs if s[0] not in background]


def _plain_f1_counts(y_true, y_pred, overlap, background=()):
    """(tp, fp, fn) by the quadratic loop of MS-TCN's f_score."""
    true_segs = _plain_segments(y_true, background)
    hits = [False] * len(true_segs)
    tp = fp = 0
    for p_label, p_start, p_end in _plain_segments(y_pred, background):
        ious = [
            (min(p_end, t_end) - max(p_start, t_start))
            / (max(p_end, t_end) - min(p_start, t_start))
            if t_label == p_label
            else 0.0
            for t_label, t_start, t_end in true_segs
        ]
        best = int(np.argmax(ious)) if ious else None
        if best is not None and ious[best] >= overlap and not hits[best]:
            tp += 1
            hits[best] = True
        else:
            fp += 1
    return tp, fp, len(true_segs) - sum(hits)


def _plain_f1(y_true, y_pred, overlap, background=()):
    counts = [
        _plain_f1_counts(t, p, overlap, background) for t, p in zip(y_true, y_pred, strict=True)
    ]
    tp, fp, fn = (sum(c) for c in zip(*counts, strict=True))
    if tp == 0:
        return 0.0
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return 2 * precision * recall / (precision + recall)


def _plain_levenshtein(a, b):
    """Textbook full-matrix dynamic programme."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i, j in itertools.product(range(1, len(a) + 1), range(1, len(b) + 1)):
        d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return d[-1][-1]


def _random_pairs(rng, n_sequences, alphabet, max_len=40, flicker=0.3):
    """Random sequences made of runs, and noisy copies of them as predictions."""
    y_true, y_pred = [], []
    for _ in range(n_sequences):
        n_runs = rng.integers(1, 6)
        truth = np.repeat(rng.choice(alphabet, n_runs), rng.integers(1, max_len // 4, n_runs))
        pred = truth.copy()
        flips = rng.random(truth.size) < flicker
        pred[flips] = rng.choice(alphabet, flips.sum())
        y_true.append(truth)
        y_pred.append(pred)
    return y_true, y_pred


# --- _segments --------------------------------------------------------------------------------


def test_segments_are_maximal_runs_with_half_open_bounds():
    labels, starts, ends = _segments(np.array(["a", "a", "b", "b", "b", "a"]))
    assert labels.tolist() == ["a", "b", "a"]
    assert starts.tolist() == [0, 2, 5]
    assert ends.tolist() == [2, 5, 6]


def test_segments_of_one_timestep_and_of_an_empty_sequence():
    labels, starts, ends = _segments(np.array([7]))
    assert (labels.tolist(), starts.tolist(), ends.tolist()) == ([7], [0], [1])
    labels, starts, ends = _segments(np.array([], dtype=int))
    assert labels.size == starts.size == ends.size == 0


# --- timestep accuracy ------------------------------------------------------------------------


def test_accuracy_hand_computed():
    assert timestep_accuracy_score([[0, 1, 1, 0]], [[0, 1, 0, 0]]) == pytest.approx(0.75)


def test_accuracy_is_pooled_over_timesteps_not_averaged_over_sequences():
    y_true = [[0, 1], [1] * 8]
    y_pred = [[0, 0], [1] * 8]
    # Per-sequence accuracies 0.5 and 1.0 average to 0.75; pooled it is 9 of 10 timesteps.
    assert timestep_accuracy_score(y_true, y_pred) == pytest.approx(0.9)


# --- segment F1 -------------------------------------------------------------------------------


def test_over_segmented_prediction_has_high_accuracy_but_low_edit_and_f1():
    assert timestep_accuracy_score(OVERSEG_TRUE, OVERSEG_PRED) == pytest.approx(0.9)
    # Segments [0, 1] vs [0, 1, 0, 1, 0, 1]: 4 insertions over 6 segments.
    assert edit_score(OVERSEG_TRUE, OVERSEG_PRED) == pytest.approx(1 - 4 / 6)
    # Two of six predicted segments match (IoU 0.5 each): precision 1/3, recall 1.
    assert segment_f1_score(OVERSEG_TRUE, OVERSEG_PRED) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("overlap", "expected"),
    [
        (0.1, 0.75),  # tp 3, fp 2, fn 0
        (0.5, 0.5),  # tp 2, fp 3, fn 1
        (0.6, 0.5),  # an IoU equal to the threshold counts
        (0.61, 0.25),
        (0.75, 0.25),  # tp 1, fp 4, fn 2
        (1.0, 0.0),
    ],
)
def test_iou_threshold_changes_f1(overlap, expected):
    assert segment_f1_score(IOU_TRUE, IOU_PRED, overlap=overlap) == pytest.approx(expected)


def test_f1_counts_each_true_segment_once():
    # Both predicted "a" segments pick the one true segment; the second is a false positive.
    y_true = [["a"] * 10]
    y_pred = [["a"] * 4 + ["b"] + ["a"] * 5]
    # tp 1, fp 2 (second "a", and "b"), fn 0: precision 1/3, recall 1.
    assert segment_f1_score(y_true, y_pred, overlap=0.4) == pytest.approx(0.5)


def test_f1_best_partner_taken_even_when_already_matched():
    # True A:[0,10) B:[10,11) A:[11,12) C:[12,14). The second predicted A, [6,14), overlaps the
    # first true A most (IoU 4/14) and the second less (1/8 >= 0.1). The first true A is
    # already matched, so it is a false positive, as in MS-TCN; it does not fall back to the
    # second true A. tp 1, fp 2, fn 3.
    y_true = [["A"] * 10 + ["B"] + ["A"] + ["C"] * 2]
    y_pred = [["A"] * 5 + ["X"] + ["A"] * 8]
    assert segment_f1_score(y_true, y_pred, overlap=0.1) == pytest.approx(2 / 7)


def test_f1_ties_go_to_the_earliest_true_segment():
    # True A:[0,4) B:[4,6) A:[6,10). The predicted A:[3,7) has IoU 1/7 with both true A's and,
    # as numpy's argmax in MS-TCN, takes the first, which A:[0,2) already matched: tp 1, fp 3
    # (X, A:[3,7), Y), fn 2. Taking the later one would give tp 2 and 4/7.
    y_true = [["A"] * 4 + ["B"] * 2 + ["A"] * 4]
    y_pred = [["A"] * 2 + ["X"] + ["A"] * 4 + ["Y"] * 3]
    assert segment_f1_score(y_true, y_pred, overlap=0.1) == pytest.approx(2 / 7)


def test_f1_pools_counts_over_sequences():
    y_true = [[0, 0, 0, 0], [0, 0, 1, 1, 2, 2]]
    y_pred = [[0, 0, 0, 0], [2, 2, 2, 2, 2, 2]]
    # Sequence F1s are 1 and 0 (mean 0.5); pooled tp 1, fp 1, fn 3 gives 1/3.
    assert segment_f1_score(y_true, y_pred) == pytest.approx(1 / 3)


@pytest.mark.parametrize("overlap", [0.1, 0.25, 0.5, 0.75])
@pytest.mark.parametrize("background", [None, 0])
def test_f1_matches_plain_msctn_loop_on_random_sequences(overlap, background):
    rng = np.random.default_rng(0)
    y_true, y_pred = _random_pairs(rng, n_sequences=30, alphabet=[0, 1, 2])
    bg = () if background is None else (background,)
    expected = _plain_f1(y_true, y_pred, overlap, bg)
    assert 0 < expected < 1  # the data exercise both matches and misses
    got = segment_f1_score(y_true, y_pred, overlap=overlap, background=background)
    assert got == pytest.approx(expected)


def test_f1_and_edit_ignore_background_segments():
    y_true = [["bg", "bg", "A", "A", "bg", "B", "B"]]
    y_pred = [["bg", "A", "A", "A", "bg", "bg", "B"]]
    # Foreground IoUs: A 2/3, B 1/2.
    assert segment_f1_score(y_true, y_pred, overlap=0.6, background="bg") == pytest.approx(0.5)
    assert segment_f1_score(y_true, y_pred, overlap=0.6, background=["bg"]) == pytest.approx(0.5)
    # Counting "bg" segments too: bg IoUs are 1/2 and 1/2, so only A matches at 0.6.
    assert segment_f1_score(y_true, y_pred, overlap=0.6) == pytest.approx(0.25)
    assert edit_score([["A", "bg", "A"]], [["A", "A", "A"]], background="bg") == 0.5
    assert edit_score([["A", "bg", "A"]], [["A", "A", "A"]]) == pytest.approx(1 / 3)


def test_all_background_scores():
    y = [["bg", "bg"]]
    assert edit_score(y, y, background="bg") == 1.0
    # No segment to find and none found: no true positive, so 0 (as MS-TCN's nan_to_num).
    assert segment_f1_score(y, y, background="bg") == 0.0


@pytest.mark.parametrize("overlap", [0, -0.1, 1.5, True, "0.5", None])
def test_f1_rejects_overlap_outside_unit_interval(overlap):
    with pytest.raises(ValueError, match="overlap must be a number in"):
        segment_f1_score([[0, 1]], [[0, 1]], overlap=overlap)


# --- edit score -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("kitten", "sitting", 3), ("sunday", "saturday", 3), ("", "abc", 3), ("flaw", "lawn", 2)],
)
def test_levenshtein_known_values(a, b, distance):
    assert _levenshtein(np.array(list(a)), np.array(list(b))) == distance
    assert _levenshtein(np.array(list(b)), np.array(list(a))) == distance


def test_levenshtein_matches_full_matrix_on_random_label_arrays():
    rng = np.random.default_rng(1)
    for _ in range(200):
        a = rng.integers(0, 4, rng.integers(0, 12))
        b = rng.integers(0, 4, rng.integers(0, 12))
        assert _levenshtein(a, b) == _plain_levenshtein(a.tolist(), b.tolist())


def test_edit_score_over_segment_labels():
    # Segments of "saturday" are its letters; both predictions have the segments of "sunday".
    y_true = [list("saturday")]
    y_pred_a, y_pred_b = [list("ssunnday")], [list("sunddaay")]
    assert edit_score(y_true, y_pred_a) == pytest.approx(1 - 3 / 8)
    # Durations do not matter, though accuracy sees them.
    assert edit_score(y_true, y_pred_b) == pytest.approx(1 - 3 / 8)
    assert timestep_accuracy_score(y_true, y_pred_a) != timestep_accuracy_score(y_true, y_pred_b)


def test_edit_score_is_the_mean_over_sequences():
    y_true = [*OVERSEG_TRUE, [2] * 3]
    y_pred = [*OVERSEG_PRED, [2] * 3]
    assert edit_score(y_true, y_pred) == pytest.approx((1 / 3 + 1) / 2)


# --- label types and input forms --------------------------------------------------------------


def test_bool_labels():
    y_true = [[True, True, False, False]]
    y_pred = [[True, False, False, False]]
    assert timestep_accuracy_score(y_true, y_pred) == pytest.approx(0.75)
    assert edit_score(y_true, y_pred) == 1.0
    assert segment_f1_score(y_true, y_pred, overlap=0.5) == 1.0  # IoUs 1/2 and 2/3
    assert segment_f1_score(y_true, y_pred, overlap=0.7) == 0.0


def test_string_labels_score_like_their_integer_codes():
    y_true, y_pred = _random_pairs(np.random.default_rng(2), 10, alphabet=[0, 1, 2])
    names = np.array(["sit", "stand", "walk"])
    y_true_s = [names[y] for y in y_true]
    y_pred_s = [names[y] for y in y_pred]
    for metric in ALL_METRICS:
        assert metric(y_true_s, y_pred_s) == pytest.approx(metric(y_true, y_pred))


def test_2d_array_input_equals_list_input():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 3, (4, 12))
    y_pred = np.where(rng.random((4, 12)) < 0.3, rng.integers(0, 3, (4, 12)), y_true)
    for metric in ALL_METRICS:
        from_lists = metric([list(r) for r in y_true], [list(r) for r in y_pred])
        assert metric(y_true, y_pred) == pytest.approx(from_lists)
        assert metric(y_true, [list(r) for r in y_pred]) == pytest.approx(from_lists)


@pytest.mark.parametrize(
    "y",
    [[[0, 1, 1], [2]], [["a", "b"], ["b", "b", "c"]], [[True, False]], np.array([[1, 1, 2]])],
)
@pytest.mark.parametrize("metric", ALL_METRICS)
def test_perfect_prediction_scores_one(metric, y):
    assert metric(y, y) == 1.0


def test_inputs_are_not_modified():
    y_true = [np.array([0, 0, 1, 1]), np.array([2, 2])]
    y_pred = [np.array([0, 1, 1, 1]), np.array([2, 0])]
    copies = [a.copy() for a in y_true + y_pred]
    for metric in ALL_METRICS:
        metric(y_true, y_pred)
    assert all(np.array_equal(a, c) for a, c in zip(y_true + y_pred, copies, strict=True))


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_different_numbers_of_sequences_raise(metric):
    with pytest.raises(ValueError, match="y_true has 2 sequences but y_pred has 1"):
        metric([[0, 1], [1]], [[0, 1]])


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_length_mismatch_names_the_sequence(metric):
    with pytest.raises(ValueError, match=r"y_true\[1\] has 3 labels but y_pred\[1\] has 2"):
        metric([[0], [0, 1, 1]], [[0], [0, 1]])


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_empty_list_raises(metric):
    with pytest.raises(ValueError, match="y_true is an empty list"):
        metric([], [])


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_strings_against_numbers_raise(metric):
    with pytest.raises(TypeError, match="y_true holds strings but y_pred holds numbers"):
        metric([["a", "b"]], [[0, 1]])


def test_accuracy_of_only_empty_sequences_raises():
    with pytest.raises(ValueError, match="at least one timestep"):
        timestep_accuracy_score([[]], [[]])


# --- scorers ----------------------------------------------------------------------------------


class ThresholdLabeler(ClassifierMixin, BaseEstimator):
    """Labels a timestep 1 when its single feature exceeds `threshold`; checks it gets lists."""

    def __init__(self, threshold=0.0):
        self.threshold = threshold

    def fit(self, X, y):
        assert isinstance(X, list) and isinstance(y, list)
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, X):
        assert isinstance(X, list)
        return [(np.asarray(x)[:, 0] > self.threshold).astype(int) for x in X]


class FixedPredictor(BaseEstimator):
    """Ignores X: `predict` returns a stored list of label sequences."""

    def __init__(self, y_pred):
        self.y_pred = y_pred

    def fit(self, X, y):
        return self

    def predict(self, X):
        return self.y_pred


def _threshold_data():
    rng = np.random.default_rng(4)
    X, y = [], []
    for length in (12, 7, 20, 9):
        signal = np.repeat(rng.choice([-1.0, 1.0], 4), length // 4 + 1)[:length]
        noisy = signal + rng.normal(0, 0.6, length)
        X.append(noisy[:, None])
        y.append((signal > 0).astype(int))
    return X, y


@pytest.mark.parametrize(
    ("scorer", "metric"),
    [
        (timestep_accuracy_scorer, timestep_accuracy_score),
        (segment_f1_scorer, segment_f1_score),
        (edit_scorer, edit_score),
    ],
)
def test_scorer_calls_predict_and_the_metric(scorer, metric):
    X = [np.zeros((len(y), 1)) for y in OVERSEG_TRUE]
    est = FixedPredictor(OVERSEG_PRED)
    assert scorer(est, X, OVERSEG_TRUE) == pytest.approx(metric(OVERSEG_TRUE, OVERSEG_PRED))
    assert scorer(est, X, OVERSEG_TRUE) < 1


def test_segment_f1_scorer_uses_overlap_half_and_make_scorer_passes_others():
    est = FixedPredictor(IOU_PRED)
    X = [np.zeros((30, 1))]
    assert segment_f1_scorer(est, X, IOU_TRUE) == pytest.approx(0.5)
    f1_at_10 = make_scorer(segment_f1_score, overlap=0.1)
    assert f1_at_10(est, X, IOU_TRUE) == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("scorer", "metric"),
    [
        (timestep_accuracy_scorer, timestep_accuracy_score),
        (segment_f1_scorer, segment_f1_score),
        (edit_scorer, edit_score),
    ],
)
def test_scorers_work_in_cross_val_score_over_lists(scorer, metric):
    X, y = _threshold_data()
    est = ThresholdLabeler(threshold=0.0)
    scores = cross_val_score(est, X, y, scoring=scorer, cv=KFold(2))
    expected = [
        metric(y[:2], est.predict(X[:2])),  # KFold(2) without shuffling: test folds 0-1, 2-3
        metric(y[2:], est.predict(X[2:])),
    ]
    np.testing.assert_allclose(scores, expected)
    assert not np.allclose(scores, 1.0)


def test_grid_search_picks_the_threshold_with_the_best_edit_score():
    X, y = _threshold_data()
    grid = GridSearchCV(
        ThresholdLabeler(), {"threshold": [-5.0, 0.0, 5.0]}, scoring=edit_scorer, cv=KFold(2)
    )
    grid.fit(X, y)
    # Thresholds of +-5 label everything one class: a single segment, far from the truth.
    assert grid.best_params_ == {"threshold": 0.0}


# --- missing labels ---------------------------------------------------------------------------


def _only_labelled(y_true, y_pred, labelled):
    """The sequences cut down to their labelled steps, by hand."""
    return (
        [list(np.asarray(yt)[m]) for yt, m in zip(y_true, labelled, strict=True)],
        [list(np.asarray(yp)[m]) for yp, m in zip(y_pred, labelled, strict=True)],
    )


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_label_metrics_skip_nan_steps_and_say_how_many(metric):
    y_true, y_pred = _random_pairs(np.random.default_rng(5), 8, alphabet=[0, 1, 2])
    rng = np.random.default_rng(6)
    labelled = [rng.random(len(y)) < 0.7 for y in y_true]
    y_true_nan = [np.where(m, y, np.nan) for y, m in zip(y_true, labelled, strict=True)]
    n_missing = sum(int((~m).sum()) for m in labelled)
    n_total = sum(len(y) for y in y_true)
    expected = metric(*_only_labelled(y_true, y_pred, labelled))
    with pytest.warns(
        SkippedTimestepsWarning, match=rf"skipped {n_missing} of {n_total} timesteps"
    ):
        got = metric(y_true_nan, y_pred)
    assert got == pytest.approx(expected)
    assert got != pytest.approx(metric(y_true, y_pred))  # the skipped steps did matter


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_minus_one_is_a_label_unless_named_as_the_missing_marker(metric):
    y_true = [[-1, -1, 1, 1, -1, 1]]
    y_pred = [[1, -1, 1, 1, 1, 1]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        as_labels = metric(y_true, y_pred)
    with pytest.warns(SkippedTimestepsWarning, match="skipped 3 of 6"):
        skipping = metric(y_true, y_pred, missing_label=-1)
    assert as_labels < 1
    assert skipping == 1.0  # only the steps labelled 1 remain, and they are right


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_none_in_string_labels_is_missing(metric):
    y_true = [np.array(["sit", None, "walk", "walk", None], dtype=object)]
    y_pred = [np.array(["sit", "walk", "walk", "walk", "sit"])]
    with pytest.warns(SkippedTimestepsWarning, match="skipped 2 of 5"):
        assert metric(y_true, y_pred) == 1.0


def test_a_gap_in_the_labels_does_not_split_the_segment_around_it():
    # Skipped steps are removed before segments are formed: "a" is one segment on both sides.
    y_true = [[0.0, 0.0, np.nan, 0.0, 1.0, 1.0]]
    y_pred = [[0, 0, 1, 0, 1, 1]]
    with pytest.warns(SkippedTimestepsWarning):
        assert edit_score(y_true, y_pred) == 1.0
    with pytest.warns(SkippedTimestepsWarning):
        assert segment_f1_score(y_true, y_pred, overlap=1.0) == 1.0


def test_a_sequence_without_labels_is_left_out_of_the_edit_mean():
    y_true = [[0, 0, 1, 1], [-1, -1, -1]]
    y_pred = [[0, 1, 0, 1], [0, 1, 0]]
    with pytest.warns(SkippedTimestepsWarning, match="skipped 3 of 7"):
        got = edit_score(y_true, y_pred, missing_label=-1)
    assert got == pytest.approx(edit_score(y_true[:1], y_pred[:1]))


def test_only_missing_labels_raise():
    with pytest.warns(SkippedTimestepsWarning), pytest.raises(ValueError, match="with a label"):
        timestep_accuracy_score([[np.nan, np.nan]], [[0, 1]])
    with pytest.warns(SkippedTimestepsWarning), pytest.raises(ValueError, match="labelled"):
        edit_score([[None, None]], [[0, 1]])


def test_a_string_marker_marks_nothing_among_numbers():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert timestep_accuracy_score([[0, 1]], [[0, 0]], missing_label="none") == 0.5


# --- regression metrics -----------------------------------------------------------------------

REGRESSION_METRICS = [
    (r2_score, sk_metrics.r2_score),
    (mean_squared_error, sk_metrics.mean_squared_error),
    (mean_absolute_error, sk_metrics.mean_absolute_error),
]


def _random_targets(rng, n_targets=None, lengths=(5, 12, 1, 8)):
    shape = () if n_targets is None else (n_targets,)
    y_true = [rng.normal(size=(n, *shape)) for n in lengths]
    y_pred = [y + rng.normal(0, 0.5, y.shape) for y in y_true]
    return y_true, y_pred


@pytest.mark.parametrize(("metric", "sk_metric"), REGRESSION_METRICS)
@pytest.mark.parametrize("n_targets", [None, 3])
@pytest.mark.parametrize("multioutput", ["raw_values", "uniform_average", [0.2, 0.3, 0.5]])
def test_regression_metrics_equal_sklearn_on_the_concatenated_steps(
    metric, sk_metric, n_targets, multioutput
):
    if n_targets is None and not isinstance(multioutput, str):
        pytest.skip("weights of targets need several targets")
    y_true, y_pred = _random_targets(np.random.default_rng(7), n_targets)
    expected = sk_metric(np.concatenate(y_true), np.concatenate(y_pred), multioutput=multioutput)
    np.testing.assert_allclose(metric(y_true, y_pred, multioutput=multioutput), expected)


@pytest.mark.parametrize(("metric", "sk_metric"), REGRESSION_METRICS)
def test_regression_weights_per_sequence_equal_the_same_weights_per_step(metric, sk_metric):
    y_true, y_pred = _random_targets(np.random.default_rng(8), 2)
    per_sequence = [1.0, 3.0, 0.0, 0.5]
    per_step = [np.full(len(y), w) for y, w in zip(y_true, per_sequence, strict=True)]
    expected = sk_metric(
        np.concatenate(y_true), np.concatenate(y_pred), sample_weight=np.concatenate(per_step)
    )
    assert metric(y_true, y_pred, sample_weight=per_sequence) == pytest.approx(expected)
    assert metric(y_true, y_pred, sample_weight=per_step) == pytest.approx(expected)
    assert metric(y_true, y_pred) != pytest.approx(expected)


def test_r2_is_pooled_over_steps_not_averaged_over_sequences():
    # Against the pooled mean 2.5 the total sum of squares is 5 and the squared error 1. The
    # first sequence alone scores 1, and the second (one step) has no R² of its own.
    assert r2_score([[1.0, 2.0, 3.0], [4.0]], [[1.0, 2.0, 3.0], [3.0]]) == pytest.approx(0.8)


@pytest.mark.parametrize(("metric", "sk_metric"), REGRESSION_METRICS)
def test_nan_targets_are_skipped_per_target_and_counted(metric, sk_metric):
    y_true, y_pred = _random_targets(np.random.default_rng(9), 2)
    y_nan = [y.copy() for y in y_true]
    y_nan[0][1, 0] = y_nan[1][4, 0] = y_nan[3][0, 1] = np.nan
    with pytest.warns(SkippedTimestepsWarning, match="skipped 3 of 52 target values"):
        raw = metric(y_nan, y_pred, multioutput="raw_values")
    yt, yp = np.concatenate(y_nan), np.concatenate(y_pred)
    expected = [sk_metric(yt[~np.isnan(yt[:, j]), j], yp[~np.isnan(yt[:, j]), j]) for j in (0, 1)]
    np.testing.assert_allclose(raw, expected)
    with pytest.warns(SkippedTimestepsWarning):
        assert metric(y_nan, y_pred) == pytest.approx(np.mean(expected))


@pytest.mark.parametrize(("metric", "sk_metric"), REGRESSION_METRICS)
@pytest.mark.parametrize("multioutput", ["uniform_average", "variance_weighted", [3.0, 1.0]])
def test_steps_missing_in_every_target_equal_dropping_those_steps(metric, sk_metric, multioutput):
    if multioutput == "variance_weighted" and metric is not r2_score:
        pytest.skip("variance_weighted is an option of r2_score only, as in scikit-learn")
    y_true, y_pred = _random_targets(np.random.default_rng(10), 2)
    y_nan = [y.copy() for y in y_true]
    y_nan[1][2:5] = np.nan
    weights = [1.0, 2.0, 1.0, 0.5]
    keep = ~np.isnan(np.concatenate(y_nan)[:, 0])
    step_weights = np.concatenate(
        [np.full(len(y), w) for y, w in zip(y_true, weights, strict=True)]
    )
    expected = sk_metric(
        np.concatenate(y_true)[keep],
        np.concatenate(y_pred)[keep],
        sample_weight=step_weights[keep],
        multioutput=multioutput,
    )
    with pytest.warns(SkippedTimestepsWarning, match="skipped 6 of 52"):
        got = metric(y_nan, y_pred, sample_weight=weights, multioutput=multioutput)
    assert got == pytest.approx(expected)


def test_one_dimensional_targets_count_skipped_timesteps():
    with pytest.warns(SkippedTimestepsWarning, match="skipped 1 of 5 timesteps whose true"):
        mse = mean_squared_error([[0.0, 0.0], [0.0, np.nan, 0.0]], [[1, 1], [1, 5, 3]])
    assert mse == pytest.approx(3.0)


@pytest.mark.parametrize(("metric", "sk_metric"), REGRESSION_METRICS)
def test_nan_or_inf_in_predictions_names_the_sequence(metric, sk_metric):
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match=r"y_pred\[1\] holds NaN or infinite values"):
            metric([[0.0, 1.0], [2.0, 3.0]], [[0.0, 1.0], [2.0, bad]])
    with pytest.raises(ValueError, match=r"y_true\[0\] holds infinite values"):
        metric([[np.inf, 1.0]], [[0.0, 1.0]])


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([[0.0, 1.0]], [[0.0, 1.0], [2.0]], "y_true has 1 sequences but y_pred has 2"),
        ([[0.0, 1.0]], [[0.0]], r"y_true\[0\] has 2 timesteps but y_pred\[0\] has 1"),
        ([[[0.0, 1.0]], [[0.0]]], [[[0.0, 1.0]], [[0.0]]], r"y_true\[1\] has 1 targets"),
        ([[0.0, 1.0]], [[[0.0, 1.0], [0.0, 1.0]]], "y_true has 1 targets per timestep"),
        ([["a", "b"]], [[0.0, 1.0]], r"y_true\[0\] holds values that are not numbers"),
        ([[[[0.0]]]], [[[[0.0]]]], r"y_true\[0\] has 3 dimensions"),
        ([], [], "y_true is an empty list"),
        ([[np.nan, np.nan], [np.nan]], [[0.0, 1.0], [0.0]], "Target 0 of y_true is NaN at every"),
    ],
)
def test_bad_regression_input_is_named(y_true, y_pred, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedTimestepsWarning)
        for metric, _ in REGRESSION_METRICS:
            with pytest.raises(ValueError, match=message):
                metric(y_true, y_pred)


def test_bad_multioutput_is_refused_by_parameter_validation():
    with pytest.raises(ValueError, match="'multioutput' parameter of mean_squared_error"):
        mean_squared_error([[0.0]], [[0.0]], multioutput="variance_weighted")


def test_regression_inputs_are_not_modified():
    y_true = [np.array([[0.0, np.nan], [1.0, 2.0]]), np.array([[3.0, 4.0]])]
    y_pred = [np.array([[0.5, 0.5], [1.0, 2.5]]), np.array([[3.0, 4.0]])]
    weights = [np.array([1.0, 2.0]), 1.0]
    copies = [a.copy() for a in y_true + y_pred]
    with pytest.warns(SkippedTimestepsWarning):
        for metric, _ in REGRESSION_METRICS:
            metric(y_true, y_pred, sample_weight=weights)
    for a, c in zip(y_true + y_pred, copies, strict=True):
        np.testing.assert_array_equal(a, c)


class ShiftedEchoRegressor(RegressorMixin, BaseEstimator):
    """Predicts each step's first feature plus `shift`; checks it is given lists."""

    def __init__(self, shift=0.0):
        self.shift = shift

    def fit(self, X, y):
        assert isinstance(X, list) and isinstance(y, list)
        return self

    def predict(self, X):
        assert isinstance(X, list)
        return [np.asarray(x)[:, 0] + self.shift for x in X]


def _echo_data():
    rng = np.random.default_rng(11)
    X = [rng.normal(size=(n, 2)) for n in (6, 9, 4, 11)]
    y = [x[:, 0] + rng.normal(0, 0.1, len(x)) for x in X]
    return X, y


@pytest.mark.parametrize(
    ("scorer", "metric", "sign"),
    [
        (r2_scorer, r2_score, 1),
        (neg_mean_squared_error_scorer, mean_squared_error, -1),
        (neg_mean_absolute_error_scorer, mean_absolute_error, -1),
    ],
)
def test_regression_scorers_in_cross_val_score_follow_sklearn_signs(scorer, metric, sign):
    X, y = _echo_data()
    est = ShiftedEchoRegressor(shift=0.3)
    scores = cross_val_score(est, X, y, scoring=scorer, cv=KFold(2))
    expected = [
        sign * metric(y[:2], est.predict(X[:2])),
        sign * metric(y[2:], est.predict(X[2:])),
    ]
    np.testing.assert_allclose(scores, expected)
    assert all(abs(s) > 0 for s in scores)


@pytest.mark.parametrize(
    "scorer", [r2_scorer, neg_mean_squared_error_scorer, neg_mean_absolute_error_scorer]
)
def test_grid_search_picks_the_shift_with_the_smallest_error(scorer):
    X, y = _echo_data()
    grid = GridSearchCV(
        ShiftedEchoRegressor(), {"shift": [-1.0, 0.0, 1.0]}, scoring=scorer, cv=KFold(2)
    )
    grid.fit(X, y)
    assert grid.best_params_ == {"shift": 0.0}


# --- multi-label: segment- and event-based metrics --------------------------------------------


def test_segment_based_counts_substitutions_deletions_and_insertions_per_segment():
    # Segment 0: label 0 true, label 1 predicted: one substitution. Segment 1: label 0 true,
    # nothing predicted: a deletion. Segment 3: label 0 predicted beside a correct label 1:
    # an insertion. N_ref 4, so ER 3/4; TP 2 of N_ref 4 and N_sys 4, so F1 1/2.
    y_true = [np.array([[1, 0], [1, 0], [0, 1], [0, 1]])]
    y_pred = [np.array([[0, 1], [0, 0], [0, 1], [1, 1]])]
    assert segment_based_error_rate(y_true, y_pred) == pytest.approx(3 / 4)
    assert segment_based_f1_score(y_true, y_pred) == pytest.approx(1 / 2)
    # Per label no substitutions: label 0 has 2 misses and 1 false alarm over 2 true
    # segments, label 1 one false alarm over 2.
    np.testing.assert_allclose(segment_based_error_rate(y_true, y_pred, average=None), [1.5, 0.5])
    assert segment_based_error_rate(y_true, y_pred, average="macro") == pytest.approx(1.0)
    np.testing.assert_allclose(segment_based_f1_score(y_true, y_pred, average=None), [0, 0.8])


def test_a_label_active_at_one_step_of_a_segment_is_active_in_the_segment():
    y_true = [np.array([[1], [0], [0], [0], [0], [0]])]
    y_pred = [np.array([[0], [0], [1], [0], [0], [0]])]
    assert segment_based_f1_score(y_true, y_pred, segment_length=1) == 0.0
    assert segment_based_f1_score(y_true, y_pred, segment_length=3) == 1.0
    # A last, shorter segment counts like the others.
    assert segment_based_error_rate(y_true, [np.eye(6, 1, -5, dtype=int)], segment_length=4) == 2


def test_event_onset_collar_and_offset_condition():
    truth = np.zeros((20, 1), dtype=int)
    truth[2:10] = 1  # length 8: with offset=True the offset tolerance is max(1, 0.5 * 8) = 4
    inside, outside = truth * 0, truth * 0
    inside[3:6] = 1  # onset 1 late, offset 4 early
    outside[3:5] = 1  # offset 5 early
    for pred in (inside, outside):
        assert event_based_f1_score([truth], [pred], collar=1) == 1.0
        assert event_based_f1_score([truth], [pred], collar=0) == 0.0
    assert event_based_f1_score([truth], [inside], collar=1, offset=True) == 1.0
    assert event_based_f1_score([truth], [outside], collar=1, offset=True) == 0.0
    assert event_based_f1_score([truth], [outside], offset=True, percentage_of_length=1) == 1.0


def test_each_true_event_is_matched_once():
    truth = np.zeros((12, 1), dtype=int)
    truth[2:8] = 1
    pred = truth * 0
    pred[2:4] = pred[5:8] = 1  # a broken prediction: two events, one onset within the collar
    assert event_based_f1_score([truth], [pred], collar=1) == pytest.approx(2 / 3)
    assert event_based_error_rate([truth], [pred], collar=1) == pytest.approx(1.0)  # 1 insertion


def test_multilabel_missing_entries_are_skipped():
    nan = np.nan
    y_true = [np.array([[1, 0], [nan, 0], [0, 1]])]
    y_pred = [np.array([[1, 0], [1, 0], [0, 1]])]
    with pytest.warns(SkippedTimestepsWarning, match=r"skipped 1 of 6 \(timestep, label\)"):
        assert segment_based_f1_score(y_true, y_pred) == 1.0
    with pytest.warns(SkippedTimestepsWarning):
        assert segment_based_error_rate(y_true, y_pred) == 0.0
    # Event-based: the step leaves both labels, so [1, 1] vs [1, ?] is one step long on both
    # sides and its offset matches; scored fully, the predicted offset is one step late.
    assert event_based_f1_score([np.nan_to_num(y_true[0])], y_pred, collar=0, offset=True) == 0.5
    with pytest.warns(SkippedTimestepsWarning, match="skipped 1 of 3 timesteps"):
        assert event_based_f1_score(y_true, y_pred, collar=0, offset=True) == 1.0


def test_multilabel_missing_label_marker():
    y_true = [np.array([[1, -1], [0, 1]])]
    y_pred = [np.array([[1, 1], [0, 1]])]
    with pytest.warns(SkippedTimestepsWarning):
        assert segment_based_f1_score(y_true, y_pred, missing_label=-1) == 1.0
    with pytest.raises(ValueError, match=r"y_true\[0\] holds values other than 0 and 1"):
        segment_based_f1_score(y_true, y_pred)
    with pytest.warns(SkippedTimestepsWarning, match="skipped 1 of 4"):
        unknown_as_none = [np.array([[1, None], [0, 1]], dtype=object)]
        assert segment_based_f1_score(unknown_as_none, y_pred) == 1.0


def test_per_label_scores_and_undefined_labels():
    # Label 1 is never active nor predicted: its F1 and ER are NaN and left out of "macro".
    y_true = [np.array([[1, 0], [1, 0], [0, 0]])]
    y_pred = [np.array([[1, 0], [0, 0], [0, 0]])]
    f1 = segment_based_f1_score(y_true, y_pred, average=None)
    assert f1[0] == pytest.approx(2 / 3) and np.isnan(f1[1])
    assert segment_based_f1_score(y_true, y_pred, average="macro") == pytest.approx(2 / 3)
    assert np.isnan(event_based_error_rate(y_true, y_pred, average=None)[1])


@pytest.mark.parametrize(
    "metric",
    [
        segment_based_f1_score,
        segment_based_error_rate,
        event_based_f1_score,
        event_based_error_rate,
    ],
)
@pytest.mark.parametrize(
    ("y_true", "y_pred", "error", "message"),
    [
        ([np.ones((3, 2))], [np.ones((3, 2)) * 2], ValueError, r"y_pred\[0\] holds values other"),
        ([np.ones(3)], [np.ones(3)], ValueError, r"y_true\[0\] must be a \(T_i, n_labels\)"),
        ([np.ones((3, 2))], [np.full((3, 2), np.nan)], ValueError, r"y_pred\[0\] holds NaN"),
        ([np.ones((3, 2))], [np.ones((3, 3))], ValueError, "y_true has 2 labels per timestep"),
        ([np.ones((3, 2))], [np.ones((2, 2))], ValueError, r"y_true\[0\] has 3 timesteps"),
        (
            [np.ones((3, 2)), np.ones((1, 1))],
            [np.ones((3, 2))] * 2,
            ValueError,
            r"y_true\[1\] has 1",
        ),
        ("ab", "ab", TypeError, "y_true. parameter of .* must be an array-like"),
    ],
)
def test_bad_multilabel_input_is_named(metric, y_true, y_pred, error, message):
    with pytest.raises(error, match=message):
        metric(y_true, y_pred)


def test_multilabel_inputs_are_not_modified():
    y_true = [np.array([[1.0, np.nan], [0.0, 1.0]])]
    y_pred = [np.array([[1, 1], [0, 1]])]
    copies = [a.copy() for a in y_true + y_pred]
    with pytest.warns(SkippedTimestepsWarning):
        segment_based_f1_score(y_true, y_pred)
        event_based_error_rate(y_true, y_pred)
    for a, c in zip(y_true + y_pred, copies, strict=True):
        np.testing.assert_array_equal(a, c)


def test_3d_array_input_equals_list_input():
    rng = np.random.default_rng(12)
    y_true = (rng.random((3, 15, 2)) < 0.4).astype(int)
    y_pred = (rng.random((3, 15, 2)) < 0.4).astype(int)
    for metric in (segment_based_f1_score, event_based_error_rate):
        assert metric(y_true, y_pred) == pytest.approx(metric(list(y_true), list(y_pred)))


# --- agreement with sed_eval --------------------------------------------------------------------


# Where `make` installs sed_eval (see the Makefile): a folder of its own, not site-packages.
SED_EVAL_DIR = Path(sys.prefix) / "sed_eval"
# What dcase_util imports at its top for audio, files and plots, which the event metrics never
# call; stood in for by empty modules where they are not installed (the Makefile installs
# sed_eval without them: with them, librosa and its dependencies come too).
DCASE_UTIL_UNUSED_IMPORTS = ("soundfile", "librosa", "magic", "validators", "pydot_ng")


@pytest.fixture(scope="module")
def sed_eval():
    """sed_eval, the reference implementation of the DCASE metrics."""
    if SED_EVAL_DIR.is_dir() and str(SED_EVAL_DIR) not in sys.path:
        sys.path.append(str(SED_EVAL_DIR))
    stand_ins = [
        name for name in DCASE_UTIL_UNUSED_IMPORTS if importlib.util.find_spec(name) is None
    ]
    for name in stand_ins:
        sys.modules[name] = types.ModuleType(name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pkg_resources' deprecation, dcase_util's syntax
            return importlib.import_module("sed_eval")
    except ImportError as error:
        pytest.skip(f"sed_eval is not installed ({error}); `make test` installs it")
    finally:
        for name in stand_ins:
            sys.modules.pop(name, None)


def _random_multilabel(rng, n_sequences, n_labels):
    """Random events per label, and predictions shifted by up to 2 steps with 5% flips."""
    y_true, y_pred = [], []
    for _ in range(n_sequences):
        length = int(rng.integers(20, 60))
        truth = np.zeros((length, n_labels), dtype=int)
        for c in range(n_labels):
            for _ in range(rng.integers(1, 4)):
                start = rng.integers(0, length - 2)
                truth[start : start + rng.integers(1, 12), c] = 1
        pred = np.stack([np.roll(truth[:, c], rng.integers(-2, 3)) for c in range(n_labels)], 1)
        flips = rng.random(pred.shape) < 0.05
        pred[flips] = 1 - pred[flips]
        y_true.append(truth)
        y_pred.append(pred)
    return y_true, y_pred


def _event_list(y, index):
    """sed_eval's event list of one (T, n_labels) array, at one second per timestep."""
    events = []
    for c in range(y.shape[1]):
        onsets, offsets = _runs(y[:, c].astype(bool))
        events += [(int(on), c, int(off)) for on, off in zip(onsets, offsets, strict=True)]
    return [
        {
            "filename": f"seq{index}",
            "event_label": f"l{c}",
            "onset": float(on),
            "offset": float(off),
        }
        for on, c, off in sorted(events)  # by onset, as our substitutions are taken
    ]


@pytest.mark.parametrize("seed", range(12))
def test_segment_based_metrics_agree_with_sed_eval(sed_eval, seed):
    y_true, y_pred = _random_multilabel(np.random.default_rng(seed), n_sequences=5, n_labels=3)
    labels = ["l0", "l1", "l2"]
    for segment_length in (1, 3, 7):
        reference = sed_eval.sound_event.SegmentBasedMetrics(
            event_label_list=labels, time_resolution=float(segment_length)
        )
        for i, (truth, pred) in enumerate(zip(y_true, y_pred, strict=True)):
            reference.evaluate(
                _event_list(truth, i), _event_list(pred, i), evaluated_length_seconds=len(truth)
            )
        overall = reference.results_overall_metrics()
        class_wise = reference.results_class_wise_metrics()
        average = reference.results_class_wise_average_metrics()
        kw = {"segment_length": segment_length}
        assert segment_based_f1_score(y_true, y_pred, **kw) == pytest.approx(
            overall["f_measure"]["f_measure"]
        )
        assert segment_based_error_rate(y_true, y_pred, **kw) == pytest.approx(
            overall["error_rate"]["error_rate"]
        )
        assert segment_based_f1_score(y_true, y_pred, average="macro", **kw) == pytest.approx(
            average["f_measure"]["f_measure"]
        )
        assert segment_based_error_rate(y_true, y_pred, average="macro", **kw) == pytest.approx(
            average["error_rate"]["error_rate"]
        )
        np.testing.assert_allclose(
            segment_based_f1_score(y_true, y_pred, average=None, **kw),
            [class_wise[label]["f_measure"]["f_measure"] for label in labels],
        )
        assert 0 < overall["f_measure"]["f_measure"] < 1  # the data exercise hits and misses


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(("collar", "offset"), [(1, False), (3, False), (1, True), (2, True)])
def test_event_based_metrics_agree_with_sed_eval(sed_eval, seed, collar, offset):
    y_true, y_pred = _random_multilabel(np.random.default_rng(seed), n_sequences=5, n_labels=3)
    labels = ["l0", "l1", "l2"]
    reference = sed_eval.sound_event.EventBasedMetrics(
        event_label_list=labels,
        t_collar=float(collar),
        evaluate_offset=offset,
        percentage_of_length=0.5,
        event_matching_type="optimal",
    )
    for i, (truth, pred) in enumerate(zip(y_true, y_pred, strict=True)):
        reference.evaluate(_event_list(truth, i), _event_list(pred, i))
    overall = reference.results_overall_metrics()
    class_wise = reference.results_class_wise_metrics()
    average = reference.results_class_wise_average_metrics()
    kw = {"collar": collar, "offset": offset}
    assert event_based_f1_score(y_true, y_pred, **kw) == pytest.approx(
        overall["f_measure"]["f_measure"]
    )
    assert event_based_error_rate(y_true, y_pred, **kw) == pytest.approx(
        overall["error_rate"]["error_rate"]
    )
    assert event_based_f1_score(y_true, y_pred, average="macro", **kw) == pytest.approx(
        average["f_measure"]["f_measure"]
    )
    assert event_based_error_rate(y_true, y_pred, average="macro", **kw) == pytest.approx(
        average["error_rate"]["error_rate"]
    )
    np.testing.assert_allclose(
        event_based_error_rate(y_true, y_pred, average=None, **kw),
        [class_wise[label]["error_rate"]["error_rate"] for label in labels],
    )


# --- multi-label scorers ----------------------------------------------------------------------


class ThresholdMultiLabeler(BaseEstimator):
    """Label c is active at a step when feature c exceeds `threshold`; checks it gets lists."""

    def __init__(self, threshold=0.0):
        self.threshold = threshold

    def fit(self, X, y):
        assert isinstance(X, list) and isinstance(y, list)
        return self

    def predict(self, X):
        assert isinstance(X, list)
        return [(np.asarray(x) > self.threshold).astype(int) for x in X]


def _multilabel_threshold_data():
    rng = np.random.default_rng(13)
    y, _ = _random_multilabel(rng, n_sequences=6, n_labels=2)
    X = [np.where(yi == 1, 1.0, -1.0) + rng.normal(0, 0.5, yi.shape) for yi in y]
    return X, y


@pytest.mark.parametrize(
    ("scorer", "metric", "sign"),
    [
        (segment_based_f1_scorer, segment_based_f1_score, 1),
        (neg_segment_based_error_rate_scorer, segment_based_error_rate, -1),
        (event_based_f1_scorer, event_based_f1_score, 1),
        (neg_event_based_error_rate_scorer, event_based_error_rate, -1),
    ],
)
def test_multilabel_scorers_in_cross_val_score(scorer, metric, sign):
    X, y = _multilabel_threshold_data()
    est = ThresholdMultiLabeler()
    scores = cross_val_score(est, X, y, scoring=scorer, cv=KFold(2))
    expected = [sign * metric(y[:3], est.predict(X[:3])), sign * metric(y[3:], est.predict(X[3:]))]
    np.testing.assert_allclose(scores, expected)
    assert all(0 < abs(s) for s in scores)


def test_grid_search_picks_the_threshold_with_the_best_event_f1():
    X, y = _multilabel_threshold_data()
    grid = GridSearchCV(
        ThresholdMultiLabeler(),
        {"threshold": [-2.0, 0.0, 2.0]},
        scoring=event_based_f1_scorer,
        cv=KFold(2),
    )
    grid.fit(X, y)
    assert grid.best_params_ == {"threshold": 0.0}
