"""Shared fixtures: small seeded data and quick-to-train configurations of every labeler."""

import numpy as np
import pytest

from sk_seqlabel import ConvLSTMLabeler, LSTMLabeler, TCNLabeler
from sk_seqlabel.datasets import make_sequence_labeling

# Small models that train in well under a second on 2 CPU cores; tests override what they test.
FAST = {
    TCNLabeler: dict(n_filters=16, kernel_size=3, n_blocks=2, max_epochs=2, random_state=0),
    LSTMLabeler: dict(hidden_size=16, num_layers=2, max_epochs=2, random_state=0),
    ConvLSTMLabeler: dict(n_filters=8, hidden_size=16, max_epochs=2, random_state=0),
}
# Configurations that must never look ahead.
CAUSAL = {
    TCNLabeler: dict(causal=True),
    LSTMLabeler: dict(bidirectional=False),
}
# Bidirectional models must be exact both ways; this configuration adds the one direction.
UNIDIRECTIONAL = {
    LSTMLabeler: dict(bidirectional=False),
    ConvLSTMLabeler: dict(bidirectional=False),
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
