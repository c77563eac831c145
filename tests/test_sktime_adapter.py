"""The sktime detector adapter: sktime's own checks, and supervised segmentation with labels."""

import copy
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.frozen import FrozenEstimator
from sktime.utils.estimator_checks import check_estimator

from sk_seqlabel import TCNLabeler
from sk_seqlabel.adapters.sktime import SeqLabelDetector, _fitted_test_labelers
from sk_seqlabel.datasets import make_sequence_labeling

# Skipped for the instances of get_test_params (frozen, fitted labelers), and why:
SKTIME_SKIPPED = {
    # It deep-copies the parameters and compares their joblib.hash after fit; the hash of a
    # torch tensor differs from its deep copy's (joblib.hash(t) != joblib.hash(deepcopy(t))
    # for t = torch.zeros(3)), so no parameter holding a fitted net can pass it.
    # test_fit_leaves_the_labeler_passed_as_it_was checks the same with labels and weights.
    "test_fit_does_not_overwrite_hyper_params": "joblib.hash of torch tensors",
    # It runs the class docstring's example, which pytest --doctest-modules runs already.
    "test_doctest_examples": "run by this suite's doctests",
}

REFUSAL = "is supervised: fit needs y"


def _tiny_tcn(**params):
    return TCNLabeler(
        **{"n_filters": 4, "kernel_size": 3, "n_blocks": 1, "max_epochs": 1, "n_threads": 1,
           "device": "cpu", "random_state": 0, **params}
    )  # fmt: skip


def _panel(n=4, seed=0, labels=("walk", "run")):
    """A pd-multiindex panel of n recordings of different lengths, its labels per row, and
    its recordings and their labels as lists."""
    X, y = make_sequence_labeling(
        n_sequences=n, min_length=8, max_length=30, n_features=2, n_classes=2, random_state=seed
    )
    names = np.array(labels)
    frames = {f"rec{i}": pd.DataFrame(x, columns=["a", "b"]) for i, x in enumerate(X)}
    panel = pd.concat(frames, names=["recording", "t"])
    labels = [names[v] for v in y]
    return (
        panel,
        pd.Series(np.concatenate(labels), index=panel.index),
        list(frames.values()),
        labels,
    )


def _segments(labels):
    """sktime's segments of one series with these labels per row."""
    labels = np.asarray(labels)
    changes = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts, ends = np.r_[0, changes], np.r_[changes, len(labels)]
    return pd.DataFrame(
        {
            "ilocs": pd.IntervalIndex.from_arrays(starts, ends, closed="left"),
            "labels": labels[starts],
        }
    )


def test_sktime_check_estimator_passes_on_the_test_instances():
    results = check_estimator(
        SeqLabelDetector, tests_to_exclude=list(SKTIME_SKIPPED), raise_exceptions=False, verbose=0
    )
    failed = {k: v for k, v in results.items() if v != "PASSED"}
    assert failed == {}
    ran = {key.split("[")[0] for key in results}
    # the checks that fit, predict and transform ran, on both instances
    for name in ("test_fit_idempotent", "test_persistence_via_pickle", "test_output_type"):
        assert name in ran
    assert any("SeqLabelDetector-1" in key for key in results)


def test_sktime_checks_that_fit_without_y_get_the_supervised_refusal_and_the_others_pass():
    # An unfitted labeler: every sktime scenario calls fit(X) without labels.
    results = check_estimator(
        SeqLabelDetector(_tiny_tcn()), tests_to_exclude=["test_doctest_examples"],  # as above
        raise_exceptions=False, verbose=0,
    )  # fmt: skip
    not_passed = {k: v for k, v in results.items() if v != "PASSED"}
    assert {type(v) for v in not_passed.values()} == {ValueError}
    assert all(REFUSAL in str(v) for v in not_passed.values())
    passed = {k.split("[")[0] for k, v in results.items() if v == "PASSED"}
    assert {"test_clone", "test_constructor", "test_set_params", "test_repr"} <= passed
    assert "test_fit_idempotent" in {k.split("[")[0] for k in not_passed}


def test_segments_and_labels_per_row_train_the_same_model_as_the_labeler_itself():
    X, y = make_sequence_labeling(n_sequences=1, min_length=60, max_length=60, random_state=0)
    frame = pd.DataFrame(X[0])
    from_segments = SeqLabelDetector(_tiny_tcn()).fit(frame, _segments(y[0]))
    from_rows = SeqLabelDetector(_tiny_tcn()).fit(frame, pd.Series(y[0]))
    direct = _tiny_tcn().fit([frame], y)
    want = direct.predict_proba([frame])[0]
    for detector in (from_segments, from_rows):
        np.testing.assert_array_equal(detector.labeler_.predict_proba([frame])[0], want)


def test_a_panel_trains_on_every_recording():
    panel, labels, X, _ = _panel()
    order = [f"rec{i}" for i in reversed(range(len(X)))]  # recordings in unsorted order
    detector = SeqLabelDetector(_tiny_tcn()).fit(panel.loc[order], labels.loc[order])
    sequences = [panel.loc[name] for name in order]
    direct = _tiny_tcn().fit(sequences, [labels.loc[name].to_numpy() for name in order])
    got, want = detector.labeler_.predict_proba(sequences), direct.predict_proba(sequences)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


def test_labels_on_the_panels_index_are_matched_by_index_in_any_order():
    panel, labels, X, _ = _panel()
    in_order = SeqLabelDetector(_tiny_tcn()).fit(panel, labels)
    shuffled = labels.sample(frac=1.0, random_state=0)
    assert not np.array_equal(shuffled.to_numpy(), labels.to_numpy())
    by_index = SeqLabelDetector(_tiny_tcn()).fit(panel, shuffled)
    got, want = by_index.labeler_.predict_proba(X), in_order.labeler_.predict_proba(X)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


def test_predict_gives_runs_within_each_recording_and_transform_the_labels_per_row():
    panel, labels, X, _ = _panel()
    detector = SeqLabelDetector(_tiny_tcn(max_epochs=3)).fit(panel, labels)
    segments = detector.predict(panel)
    assert list(segments.columns) == ["ilocs", "labels"]
    assert isinstance(segments.index, pd.RangeIndex)
    per_row = np.concatenate(detector.labeler_.predict(X))  # panel rows: recording by recording
    starts, ends = segments["ilocs"].array.left, segments["ilocs"].array.right
    assert starts[0] == 0 and ends[-1] == len(panel)
    np.testing.assert_array_equal(starts[1:], ends[:-1])  # every row once, in order
    recording = np.asarray(panel.index.get_level_values(0))
    for start, end, label in zip(starts, ends, segments["labels"], strict=True):
        assert len(set(recording[start:end])) == 1  # never across two recordings
        assert set(per_row[start:end]) == {label}
    np.testing.assert_array_equal(detector.transform(panel)["labels"].to_numpy(), per_row)
    assert set(per_row) <= {"walk", "run"}


def test_transform_labels_every_row_of_a_panel_in_each_of_sktimes_forms():
    panel, labels, X, _ = _panel()
    detector = SeqLabelDetector(_tiny_tcn()).fit(panel, labels)
    want = np.concatenate(detector.labeler_.predict(X))
    as_3d = np.stack([x.to_numpy().T[:, :8] for x in X])  # (instances, variables, time)
    forms = {"pd-multiindex": panel, "df-list": X}
    for name, form in forms.items():
        np.testing.assert_array_equal(detector.transform(form)["labels"].to_numpy(), want, name)
    # sktime names the columns of a 3-D array's variables var_0, var_1
    frames = [pd.DataFrame(x.T, columns=["var_0", "var_1"]) for x in as_3d]
    detector.fit(frames, np.concatenate([v[:8] for v in _panel()[3]]))
    want = np.concatenate(detector.labeler_.predict(frames))
    assert len(want) == as_3d.shape[0] * as_3d.shape[2]
    np.testing.assert_array_equal(detector.transform(as_3d)["labels"].to_numpy(), want)


def test_transform_scores_are_the_labelers_probabilities_per_row():
    panel, labels, X, _ = _panel()
    detector = SeqLabelDetector(_tiny_tcn()).fit(panel, labels)
    scores = detector.transform_scores(panel)
    assert list(scores.columns) == ["run", "walk"]
    assert scores.index.equals(panel.index)
    np.testing.assert_allclose(
        scores.to_numpy(), np.concatenate(detector.labeler_.predict_proba(X))
    )


def test_fit_leaves_the_labeler_passed_as_it_was():
    panel, labels, *_ = _panel()
    unfitted = _tiny_tcn()
    before = joblib.hash(unfitted)
    detector = SeqLabelDetector(unfitted).fit(panel, labels)
    assert joblib.hash(unfitted) == before and not hasattr(unfitted, "net_")
    assert detector.labeler_ is not unfitted
    fitted = detector.labeler_
    weights = copy.deepcopy(fitted.net_.module_.state_dict())
    refitted = SeqLabelDetector(fitted).fit(*_panel(seed=1)[:2])  # a fitted one is trained anew
    assert refitted.labeler_ is not fitted
    for name, tensor in fitted.net_.module_.state_dict().items():
        torch.testing.assert_close(tensor, weights[name], rtol=0, atol=0)


def test_fit_without_y_refuses_unless_the_labeler_is_frozen():
    panel, _, X, _ = _panel()
    with pytest.raises(ValueError, match="FrozenEstimator"):
        SeqLabelDetector(_tiny_tcn()).fit(panel)
    fitted = _tiny_tcn().fit(*_panel(seed=1)[2:])  # on other recordings
    detector = SeqLabelDetector(FrozenEstimator(fitted)).fit(panel)
    assert detector.labeler_.estimator is fitted  # used as it is, not trained again
    np.testing.assert_array_equal(
        detector.transform(panel)["labels"].to_numpy(), np.concatenate(fitted.predict(X))
    )


def _gap(y):
    return y.iloc[1:]


def _overlap(y):
    out = y.copy()
    out.loc[0, "ilocs"] = pd.Interval(0, int(out["ilocs"].iloc[0].right) + 1, closed="left")
    return out


def _beyond(y):
    out = y.copy()
    last = out["ilocs"].iloc[-1]
    out.loc[len(out) - 1, "ilocs"] = pd.Interval(int(last.left), int(last.right) + 5, "left")
    return out


@pytest.mark.parametrize(
    "spoil, error, message",
    [
        (_gap, ValueError, r"leave \d+ of X's 40 rows without a label \(the first: row 0\)"),
        (_overlap, ValueError, "segments overlap"),
        (_beyond, ValueError, "reach rows 0 to 45, but X has rows 0 to 39"),
        (lambda y: y.drop(columns="labels"), ValueError, "no 'labels' column"),
        (lambda y: y.assign(ilocs=np.arange(len(y))), TypeError, "intervals of integer"),
        (lambda y: pd.Series(np.zeros(39)), ValueError, "y has 39 labels but X has 40 rows"),
        (lambda y: pd.DataFrame({"x": [0] * 40, "z": [1] * 40}), ValueError, "one column"),
    ],
    ids=["gap", "overlap", "beyond", "no_labels", "not_intervals", "short", "two_columns"],
)
def test_bad_labels_get_a_message_that_says_what_is_wrong(spoil, error, message):
    X, y = make_sequence_labeling(n_sequences=1, min_length=40, max_length=40, random_state=0)
    segments = _segments(y[0])
    before = segments.copy()
    with pytest.raises(error, match=message):
        SeqLabelDetector(_tiny_tcn()).fit(pd.DataFrame(X[0]), spoil(segments))
    pd.testing.assert_frame_equal(segments, before)


def test_seeded_labelers_make_a_deterministic_detector_for_sktime():
    assert SeqLabelDetector().get_tag("property:randomness") == "stochastic"
    assert SeqLabelDetector(_tiny_tcn()).get_tag("property:randomness") == "deterministic"
    frozen = FrozenEstimator(_fitted_test_labelers()[1])  # a pipeline inside
    assert SeqLabelDetector(frozen).get_tag("property:randomness") == "deterministic"


def test_importing_the_package_does_not_import_sktime():
    code = "import sys, sk_seqlabel; print('sktime' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
