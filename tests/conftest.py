"""Shared fixtures: small seeded data and quick-to-train configurations of every labeler."""

import numpy as np
import pytest

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
