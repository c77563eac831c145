"""Labelers drop into scikit-learn: pipelines, model selection, cloning, pickling.

scikit-learn's own estimator checks run in test_sklearn_checks.py.
"""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sk_seqlabel import SequenceScaler
from sk_seqlabel.metrics import edit_scorer, segment_f1_scorer, timestep_accuracy_scorer


def test_pipeline_with_scaler(make_labeler, tiny_data):
    X, y = tiny_data
    pipe = make_pipeline(SequenceScaler(), make_labeler()).fit(X, y)
    pred = pipe.predict(X)
    assert [len(p) for p in pred] == [len(x) for x in X]
    assert set(np.concatenate(pred)) <= {"walk", "run", "sit"}
    assert 0 <= pipe.score(X, y) <= 1


@pytest.mark.parametrize(
    "scoring", [None, timestep_accuracy_scorer, segment_f1_scorer, edit_scorer]
)
def test_grid_search(make_labeler, tiny_data, scoring):
    X, y = tiny_data
    search = GridSearchCV(
        make_labeler(max_epochs=1), {"lr": [1e-3, 1e-2]}, cv=KFold(2), scoring=scoring
    ).fit(X, y)
    assert search.best_params_["lr"] in (1e-3, 1e-2)
    scores = search.cv_results_["mean_test_score"]
    assert np.all((scores >= 0) & (scores <= 1))
    assert len(search.predict(X[:2])[1]) == len(X[1])


def test_cross_val_score_splits_whole_sequences(make_labeler, tiny_data):
    X, y = tiny_data
    scores = cross_val_score(make_labeler(max_epochs=1), X, y, cv=3)
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))


def test_clone_and_params_round_trip(make_labeler):
    clf = make_labeler(lr=0.05, class_weight={"a": 2.0})
    params = clf.get_params()
    twin = clone(clf)
    assert twin is not clf and twin.get_params() == params
    twin.set_params(lr=0.5, max_epochs=7)
    assert (twin.lr, twin.max_epochs) == (0.5, 7) and clf.lr == 0.05
    assert type(clf)(**params).get_params() == params


def test_clone_of_fitted_is_unfitted(make_labeler, tiny_data):
    clf = make_labeler().fit(*tiny_data)
    assert not hasattr(clone(clf), "net_")


@pytest.mark.parametrize("dump_load", ["pickle", "joblib"])
def test_round_trip_predicts_identically(make_labeler, tiny_data, tmp_path, dump_load):
    X, y = tiny_data
    pipe = make_pipeline(SequenceScaler(), make_labeler()).fit(X, y)
    path = tmp_path / "model"
    if dump_load == "pickle":
        path.write_bytes(pickle.dumps(pipe))
        loaded = pickle.loads(path.read_bytes())
    else:
        joblib.dump(pipe, path)
        loaded = joblib.load(path)
    for a, b in zip(pipe.predict_proba(X), loaded.predict_proba(X), strict=True):
        np.testing.assert_array_equal(a, b)
    assert list(loaded.classes_) == list(pipe.classes_)


def test_three_dimensional_input_gives_arrays(make_labeler):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 20, 2)).astype(np.float32)
    y = (X[..., 0] > 0).astype(int)
    clf = make_labeler().fit(X, y)
    assert clf.predict(X).shape == (6, 20)
    proba = clf.predict_proba(X)
    assert proba.shape == (6, 20, 2)
    np.testing.assert_allclose(proba.sum(-1), 1, rtol=1e-5)
    assert 0 <= clf.score(X, y) <= 1
