"""What the regressors learn at their defaults: a known causal filter, recovered.

The targets of :func:`~sk_seqlabel.datasets.make_filtered_signals` are a linear causal filter
of the inputs; without noise (``noise=0``) a model that finds the filter explains all of it.
How close each regressor comes to the noise floor with noise is measured in
``benchmarks/regression.py`` (benchmarks/RESULTS.md, section 24), not here: a fit on enough
data to tell 10% of the floor apart takes longer than a test should.
"""

import inspect
import re

import pytest

from sk_seqlabel.datasets import make_filtered_signals
from sk_seqlabel.regressors import (
    ConvLSTMRegressor,
    MultiStageTCNRegressor,
    TCNRegressor,
    all_regressors,
)

# Short of R² 0.99 on this data at their defaults (benchmarks/RESULTS.md, section 24); not run,
# since each fit costs tens of seconds on 2 cores and is not expected to pass as things stand.
SHORT_OF_THE_FILTER = {
    TCNRegressor: "R² 0.984: the layer norm after each convolution removes the amplitude "
    "of the lagged inputs, which a linear filter needs",
    MultiStageTCNRegressor: "not measured on this data (each fit is slow here); its stages are "
    "TCNs with the same layer norm as TCNRegressor's",
    ConvLSTMRegressor: "R² 0.82: max-pooling before the LSTM loses the 5-tap detail",
}


def _marks(cls):
    if cls in SHORT_OF_THE_FILTER:
        return [pytest.mark.xfail(reason=SHORT_OF_THE_FILTER[cls], run=False)]
    return []


@pytest.fixture(scope="module")
def noise_free_filter():
    """80 sequences of 40..120 steps whose targets are a causal 5-tap filter, exactly."""
    X, y = make_filtered_signals(
        n_sequences=80, min_length=40, max_length=120, noise=0.0, random_state=0
    )
    return X[:60], y[:60], X[60:], y[60:]


@pytest.mark.parametrize(
    "cls",
    [pytest.param(cls, id=cls.__name__, marks=_marks(cls)) for cls in all_regressors()],
)
def test_regressor_recovers_a_noise_free_causal_filter_at_defaults(cls, noise_free_filter):
    X_train, y_train, X_test, y_test = noise_free_filter
    reg = cls(random_state=0).fit(X_train, y_train)
    assert reg.score(X_test, y_test) > 0.99


@pytest.mark.parametrize("cls", all_regressors(), ids=lambda cls: cls.__name__)
def test_regressor_docstrings_state_their_own_defaults(cls):
    documented = dict(re.findall(r"^    (\w+) : .*default=([^,\n]+)$", cls.__doc__, re.MULTILINE))
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name in documented and name in ("batch_size", "dropout"):
            assert float(documented[name]) == param.default, name
