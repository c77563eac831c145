"""Ecosystem forms: sktime's pd-multiindex panels in and out, long tables to sequences."""

import numpy as np
import pandas as pd
import pytest

from sk_seqlabel import TCNLabeler
from sk_seqlabel.formats import from_long

from .conftest import FAST


def _panel(X, y, seed=0):
    """X, y as a pd-multiindex DataFrame / Series, rows shuffled."""
    frames = [
        pd.DataFrame(x, columns=[f"f{j}" for j in range(x.shape[1])]).assign(
            instance=f"rec{i}", time=np.arange(len(x))
        )
        for i, x in enumerate(X)
    ]
    long = pd.concat(frames).assign(label=np.concatenate(y))
    long = long.sample(frac=1.0, random_state=seed)
    panel = long.set_index(["instance", "time"])
    return panel.drop(columns="label"), panel["label"]


def test_a_multiindex_panel_goes_in_and_comes_back_on_its_index(make_labeler, easy_data):
    X, y = easy_data
    X_panel, y_panel = _panel(X[:12], y[:12])
    clf = make_labeler().fit(X_panel, y_panel)
    labels = clf.predict(X_panel)
    assert isinstance(labels, pd.Series) and labels.index.equals(X_panel.index)
    frames = [pd.DataFrame(x, columns=X_panel.columns) for x in X[:12]]
    as_lists = clf.predict(frames)  # the same model on the same recordings, as a list
    expected = pd.concat(
        pd.Series(p, index=pd.MultiIndex.from_product([[f"rec{i}"], range(len(p))]))
        for i, p in enumerate(as_lists)
    )
    np.testing.assert_array_equal(labels.to_numpy(), expected.reindex(X_panel.index).to_numpy())
    proba = clf.predict_proba(X_panel)
    assert list(proba.columns) == list(clf.classes_) and proba.index.equals(X_panel.index)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert clf.score(X_panel, y_panel) == pytest.approx(np.mean(labels == y_panel))
    np.testing.assert_array_equal(clf.feature_names_in_, X_panel.columns)


def test_a_panel_whose_labels_are_on_other_rows_is_refused(make_labeler, easy_data):
    X, y = easy_data
    X_panel, y_panel = _panel(X[:4], y[:4])
    with pytest.raises(ValueError, match="y's index differs from X's"):
        make_labeler().fit(X_panel, y_panel.iloc[:-1])


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_a_long_table_becomes_sequences_in_time_order(library):
    frame = pd.DataFrame(
        {
            "rec": ["b", "a", "b", "a", "b"],
            "t": [2, 1, 0, 0, 1],
            "x1": [2.0, 11.0, 0.0, 10.0, 1.0],
            "x2": [-2.0, -11.0, 0.0, -10.0, -1.0],
            "activity": ["run", "sit", "walk", "sit", "walk"],
        }
    )
    if library == "polars":
        polars = pytest.importorskip("polars", reason="needs polars")
        frame = polars.DataFrame({c: frame[c].tolist() for c in frame.columns})
    X, y = from_long(frame, id="rec", time="t", label="activity")
    assert [x[:, 0].tolist() for x in X] == [[0.0, 1.0, 2.0], [10.0, 11.0]]  # "b" came first
    assert [list(v) for v in y] == [["walk", "walk", "run"], ["sit", "sit"]]
    assert X[0].shape == (3, 2) and X[0].dtype == np.float32
    with pytest.raises(ValueError, match="label='kind' is not a column"):
        from_long(frame, id="rec", time="t", label="kind")


@pytest.mark.parametrize("method", ["fit", "predict", "predict_proba", "score"])
def test_a_panel_with_a_repeated_instance_and_time_is_refused(easy_data, method):
    X, y = easy_data
    X_panel, y_panel = _panel(X[:4], y[:4])
    clf = TCNLabeler(**FAST[TCNLabeler]).fit(X_panel, y_panel)
    twice = pd.concat([X_panel, X_panel.loc[[("rec2", 5)]]])
    y_twice = pd.concat([y_panel, y_panel.loc[[("rec2", 5)]]]).iloc[::-1]  # another row order
    with pytest.raises(ValueError, match=r"more than one row for instance 'rec2' at time 5"):
        if method in ("fit", "score"):
            getattr(clf, method)(twice, y_twice)
        else:
            getattr(clf, method)(twice)
