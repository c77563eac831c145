"""SequenceLabelingDisplay: the right data in the right artists, from an estimator or labels."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from sk_seqlabel import TCNLabeler
from sk_seqlabel.plotting import SequenceLabelingDisplay

matplotlib.use("Agg")  # no window, whatever the machine


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted(tiny_data):
    X, y = tiny_data
    clf = TCNLabeler(n_filters=4, n_blocks=1, max_epochs=2, n_threads=1, random_state=0)
    return clf.fit(X, y), X, y


def band(display, name):
    return display.bands_[name].get_array()[0].tolist()


def test_from_predictions_draws_the_channels_bands_and_probabilities_of_the_recording():
    X = [np.zeros((3, 2)), np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])]
    y_true = [np.array(["a", "a", "a"]), np.array(["a", "b", "b", "c"])]
    y_pred = [np.array(["a", "a", "a"]), np.array(["a", "a", "b", "c"])]
    proba = [np.full((3, 3), 1 / 3), np.eye(3)[[0, 0, 1, 2]] * 0.8 + 0.2 / 3]
    display = SequenceLabelingDisplay.from_predictions(
        y_true, y_pred, X=X, y_proba=proba, index=1, name="model", sampling_rate=2.0
    )
    assert [line.get_ydata().tolist() for line in display.lines_] == [
        [1, 2, 3, 4],
        [10, 20, 30, 40],
    ]
    assert display.lines_[0].get_xdata().tolist() == [0, 0.5, 1, 1.5]  # seconds
    assert band(display, "true") == [0, 1, 1, 2]  # positions in classes a, b, c
    assert band(display, "model") == [0, 0, 1, 2]
    assert [line.get_ydata().tolist() for line in display.proba_lines_] == proba[1].T.tolist()
    assert [line.get_color() for line in display.proba_lines_] == ["C0", "C1", "C2"]
    assert display.axes_[2].get_yticklabels()[0].get_text() == "model (75.0%)"
    assert display.axes_[-1].get_xlabel() == "time (s)"
    assert display.ax_ is display.axes_[0] and display.figure_ is display.ax_.figure


def test_panels_follow_what_is_given():
    y = [np.array([0, 1, 1])]
    display = SequenceLabelingDisplay.from_predictions(y, {"one": y, "two": [np.array([1, 1, 1])]})
    assert len(display.axes_) == 3 and display.lines_ == [] and display.proba_lines_ == []
    assert list(display.bands_) == ["true", "one", "two"]
    assert band(display, "two") == [1, 1, 1]
    assert display.axes_[-1].get_xlabel() == "timestep"


def test_plot_draws_on_the_axes_it_is_given():
    figure = Figure()
    axes = figure.subplots(3, 1, sharex=True)
    y = [np.array([0, 1, 1])]
    display = SequenceLabelingDisplay.from_predictions(y, y, X=[np.ones((3, 1))], ax=axes)
    assert display.figure_ is figure
    assert list(display.axes_) == list(axes)
    assert display.lines_[0].axes is axes[0] and display.bands_["predicted"].axes is axes[2]
    assert plt.get_fignums() == []  # no pyplot figure was made


def test_from_estimator_equals_from_predictions_on_the_same_labels(fitted):
    clf, X, y = fitted
    by_estimator = SequenceLabelingDisplay.from_estimator(clf, X, y, index=4)
    by_labels = SequenceLabelingDisplay.from_predictions(
        y,
        clf.predict(X),
        X=X,
        y_proba=clf.predict_proba(X),
        index=4,
        classes=clf.classes_,
        name="TCNLabeler",
    )
    assert list(by_estimator.bands_) == list(by_labels.bands_) == ["true", "TCNLabeler"]
    for name in by_labels.bands_:
        assert band(by_estimator, name) == band(by_labels, name)
    for a, b in [
        *zip(by_estimator.lines_, by_labels.lines_, strict=True),
        *zip(by_estimator.proba_lines_, by_labels.proba_lines_, strict=True),
    ]:
        np.testing.assert_allclose(a.get_ydata(), b.get_ydata(), rtol=1e-6)
    assert len(by_estimator.proba_lines_) == len(clf.classes_)
    assert len(by_estimator.lines_) == X[4].shape[1]


def test_from_estimator_names_a_pipeline_by_its_labeler(fitted):
    from sklearn.pipeline import make_pipeline

    from sk_seqlabel import SequenceScaler

    _, X, y = fitted
    pipe = make_pipeline(SequenceScaler(), TCNLabeler(n_filters=4, n_blocks=1, max_epochs=1))
    display = SequenceLabelingDisplay.from_estimator(pipe.fit(X, y), X, y)
    assert list(display.bands_) == ["true", "TCNLabeler"]


def test_from_estimator_needs_a_fitted_estimator(tiny_data):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SequenceLabelingDisplay.from_estimator(TCNLabeler(), *tiny_data)


def test_inputs_are_not_modified(fitted):
    clf, X, y = fitted
    X_before, y_before = [x.copy() for x in X], [yi.copy() for yi in y]
    SequenceLabelingDisplay.from_estimator(clf, X, y, index=1, sampling_rate=10.0)
    assert all(np.array_equal(a, b) for a, b in zip(X, X_before, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(y, y_before, strict=True))


Y = [np.array([0, 1, 1]), np.array([1, 0])]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"index": 2}, ValueError, r"index=2, but y_true holds 2 sequences"),
        ({"index": 1.0}, TypeError, r"index must be an int"),
        ({"y_true": np.array([0, 1, 1])}, TypeError, r"pass \[y_true\]"),
        (
            {"y_pred": [np.array([0, 1]), np.array([1, 0])]},
            ValueError,
            r"y_pred\['predicted'\] has 2 labels but y_true has 3",
        ),
        ({"X": [np.ones((2, 1)), np.ones((2, 1))]}, ValueError, r"X must have shape \(T, n_f"),
        ({"X": [np.ones((3, 1)), "abc"], "index": 1}, TypeError, r"X\[1\] is a str"),
        ({"y_proba": [np.ones((3, 3)), np.ones((2, 3))]}, ValueError, r"Pass classes="),
        ({"classes": [0]}, ValueError, r"y_true holds label 1, which is not in classes \[0\]"),
        ({"ax": [Figure().subplots()]}, ValueError, r"ax holds 1 Axes, but this display draws 2"),
    ],
)
def test_bad_input_gets_an_error_that_names_it(kwargs, error, message):
    arguments = {"y_true": Y, "y_pred": Y, **kwargs}
    with pytest.raises(error, match=message):
        SequenceLabelingDisplay.from_predictions(arguments.pop("y_true"), **arguments)
