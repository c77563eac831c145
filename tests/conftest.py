"""Shared fixtures: small seeded data and quick-to-train configurations of every labeler."""

import numpy as np
import pytest
from sklearn.base import is_classifier

from sk_seqlabel import all_estimators
from sk_seqlabel._labeling import BaseSequenceLabeler
from sk_seqlabel.datasets import make_sequence_labeling
from sk_seqlabel.labelers import all_labelers

# Every registered labeler, with the keyword sets it declares for tests (_test_params).
# Small models that train in well under a second on 2 CPU cores; tests override what they test.
FAST = {cls: {**cls._test_params()["quick"], "random_state": 0} for cls in all_labelers()}
# Enough capacity and epochs to pass the >= 0.9 bar on the easy task in a few seconds.
LEARNS = {cls: cls._test_params()["learns"] for cls in all_labelers()}
# Configurations that must never look ahead.
CAUSAL = {cls: p["causal"] for cls in all_labelers() if "causal" in (p := cls._test_params())}
# Bidirectional models must be exact both ways; this configuration adds the one direction.
UNIDIRECTIONAL = {
    cls: p["one_way"] for cls in all_labelers() if "one_way" in (p := cls._test_params())
}


def labeler_id(cls):
    return cls.__name__


@pytest.fixture(params=list(FAST), ids=labeler_id)
def labeler_cls(request):
    """Each labeler class in turn."""
    return request.param


@pytest.fixture
def make_labeler(labeler_cls):
    """Build the current labeler with fast defaults; keywords override them."""

    def make(**params):
        return labeler_cls(**{**FAST[labeler_cls], **params})

    return make


@pytest.fixture(scope="session")
def easy_data():
    """An easy task: 60 sequences of 30..150 steps, 4 features, 3 classes."""
    return make_sequence_labeling(n_sequences=60, min_length=30, max_length=150, random_state=0)


@pytest.fixture(scope="session")
def tiny_data():
    """12 short sequences with string labels, for API tests where learning does not matter."""
    X, y = make_sequence_labeling(
        n_sequences=12, min_length=5, max_length=40, n_features=3, random_state=1
    )
    names = np.array(["walk", "run", "sit"])
    return X, [names[yi] for yi in y]


@pytest.fixture
def make_causal_labeler(labeler_cls):
    """Build the current labeler in its causal configuration (skip if it has none)."""
    if labeler_cls not in CAUSAL:
        pytest.skip(f"{labeler_cls.__name__} has no causal configuration")

    def make(**params):
        return labeler_cls(**{**FAST[labeler_cls], **CAUSAL[labeler_cls], **params})

    return make


@pytest.fixture
def unidirectional_params(labeler_cls):
    """Keywords that make the current (recurrent) labeler one-directional, or skip."""
    if labeler_cls not in UNIDIRECTIONAL:
        pytest.skip(f"{labeler_cls.__name__} has no direction to choose")
    return UNIDIRECTIONAL[labeler_cls]


# ---------------------------------------------------------------- every estimator, every task
# The shared properties (batch invariance, causality, chunking, pickle, model files, streams,
# transactional fit, no global state) hold for every registered estimator, labelers and
# regressors alike: tests of those properties take `estimator_cls` and its task's data.
ESTIMATOR_FAST = {
    cls: {**cls._test_params()["quick"], "random_state": 0} for cls in all_estimators()
}
ESTIMATOR_CAUSAL = {
    cls: p["causal"] for cls in all_estimators() if "causal" in (p := cls._test_params())
}
ESTIMATOR_ONE_WAY = {
    cls: p["one_way"] for cls in all_estimators() if "one_way" in (p := cls._test_params())
}


def outputs(estimator, X):
    """What a fitted estimator gives per step, as (T_i, n_outputs) arrays: a labeler's
    probabilities, a regressor's values."""
    if is_classifier(estimator):
        return estimator.predict_proba(X)
    return [np.asarray(v).reshape(len(v), -1) for v in estimator.predict(X)]


@pytest.fixture(params=list(ESTIMATOR_FAST), ids=labeler_id)
def estimator_cls(request):
    """Each estimator class in turn, labelers then regressors."""
    return request.param


@pytest.fixture
def make_estimator(estimator_cls):
    """Build the current estimator with fast defaults; keywords override them."""

    def make(**params):
        return estimator_cls(**{**ESTIMATOR_FAST[estimator_cls], **params})

    return make


@pytest.fixture
def make_causal_estimator(estimator_cls):
    """Build the current estimator in its causal configuration (skip if it has none)."""
    if estimator_cls not in ESTIMATOR_CAUSAL:
        pytest.skip(f"{estimator_cls.__name__} has no causal configuration")

    def make(**params):
        return estimator_cls(
            **{**ESTIMATOR_FAST[estimator_cls], **ESTIMATOR_CAUSAL[estimator_cls], **params}
        )

    return make


@pytest.fixture
def one_way_params(estimator_cls):
    """Keywords that make the current (recurrent) estimator one-directional, or skip."""
    if estimator_cls not in ESTIMATOR_ONE_WAY:
        pytest.skip(f"{estimator_cls.__name__} has no direction to choose")
    return ESTIMATOR_ONE_WAY[estimator_cls]


@pytest.fixture(scope="session")
def easy_values(easy_data):
    """easy_data's sequences with two continuous targets per step: a causal filter of the
    inputs and a class-dependent level, so that the targets depend on the past and on
    the segment."""
    X, y = easy_data
    values = []
    for x, labels in zip(X, y, strict=True):
        smooth = np.convolve(x[:, 0], [0.5, 0.3, 0.2])[: len(x)]
        values.append(np.stack([smooth, labels * 1.5 + x[:, 1]], axis=1).astype(np.float32))
    return X, values


@pytest.fixture
def task_data(estimator_cls, easy_data, easy_values):
    """The easy task in the current estimator's kind of target."""
    return easy_data if issubclass(estimator_cls, BaseSequenceLabeler) else easy_values


@pytest.fixture
def tiny_task_data(estimator_cls, tiny_data):
    """tiny_data in the current estimator's kind of target (a regressor's: one value per
    step, 1-D)."""
    if issubclass(estimator_cls, BaseSequenceLabeler):
        return tiny_data
    X, _ = tiny_data
    return X, [np.cumsum(x[:, 0]) / 4 for x in X]
