"""A fit either succeeds whole or leaves the estimator as it was; an interrupted fit says so."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback

from .conftest import outputs


def _fitted_attributes(estimator):
    """Every fitted attribute an estimator of this kind may have."""
    task = tuple(f"{name}_" for name in estimator._fitted_attributes)
    return ("n_features_in_", "net_", "feature_names_in_", *task)


class _Raise(Callback):
    """Raise ``error`` at the given batch of the given epoch (both from 1)."""

    def __init__(self, error, epoch=1, batch=1):
        self.error, self.epoch, self.batch = error, epoch, batch

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        history = net.history
        if len(history) == self.epoch and len(history[-1]["batches"]) == self.batch:
            raise self.error


@pytest.mark.parametrize(
    "params",
    [
        {"device": "cuda:7"},  # no such device (or no CUDA)
        {"device": "npu"},  # not a device
        {"callbacks": [_Raise(RuntimeError("boom"))]},
    ],
    ids=["missing-cuda", "unknown-device", "callback-raises"],
)
def test_a_failed_first_fit_leaves_the_estimator_unfitted(make_estimator, tiny_task_data, params):
    clf = make_estimator(**params)
    with pytest.raises((ValueError, RuntimeError)):
        clf.fit(*tiny_task_data)
    assert not [a for a in _fitted_attributes(clf) if hasattr(clf, a)]
    with pytest.raises(NotFittedError):
        clf.predict(tiny_task_data[0])


def test_a_failed_refit_leaves_the_previous_model_complete(
    make_estimator, tiny_task_data, task_data
):
    X, y = tiny_task_data
    clf = make_estimator().fit(X, y)
    before = outputs(clf, X)
    learnt = {a: getattr(clf, a) for a in _fitted_attributes(clf) if hasattr(clf, a)}
    net = clf.net_
    X2, y2 = task_data  # 4 features (not 3); integer classes (not strings), or 2 targets (not 1)
    clf.set_params(callbacks=[_Raise(RuntimeError("boom"))])
    with pytest.raises(RuntimeError, match="boom"):
        clf.fit(X2, y2)
    assert clf.net_ is net and clf.n_features_in_ == 3
    for attr, value in learnt.items():
        np.testing.assert_array_equal(getattr(clf, attr), value)
    for a, b in zip(before, outputs(clf, X), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="fitted with 3"):
        clf.predict(X2)


def test_an_interrupted_fit_keeps_the_last_whole_epoch_and_warns(make_estimator, task_data):
    X, y = task_data
    two_epochs = make_estimator(max_epochs=2).fit(X, y)
    interrupted = make_estimator(max_epochs=5, callbacks=[_Raise(KeyboardInterrupt(), epoch=3)])
    with pytest.warns(UserWarning, match=r"interrupted after 2 whole epoch\(s\) of 5"):
        interrupted.fit(X, y)
    history = interrupted.net_.history
    assert len(history) == 2 and history[-1, "interrupted"] is True
    assert interrupted.net_.interrupted_
    assert all(type(b["train_loss"]) is float for e in history for b in e["batches"])
    # the weights after epoch 2, not those of a partial epoch 3
    for a, b in zip(outputs(two_epochs, X[:5]), outputs(interrupted, X[:5]), strict=True):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_is_not_reported_as_an_interruption(make_estimator, task_data):
    clf = make_estimator(early_stopping=True, n_iter_no_change=1, max_epochs=40, lr=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        clf.fit(*task_data)
    assert len(clf.net_.history) < 40 and not clf.net_.interrupted_
    assert "interrupted" not in clf.net_.history[-1]
