"""Recordings that load on access: the same model as from a list, never all in memory."""

import numpy as np
import pytest

from sk_seqlabel import TCNLabeler

from .conftest import ESTIMATOR_FAST, outputs


class _Files:
    """Stands for one file per recording: each access loads (copies) one recording."""

    def __init__(self, X):
        self.X, self.loads, self.held = X, 0, 0

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        self.loads += 1
        return self.X[i].copy()


def test_a_lazy_container_gives_the_model_a_list_gives(estimator_cls, task_data):
    X, y = task_data
    lazy = _Files(X)
    from_disk = estimator_cls(**ESTIMATOR_FAST[estimator_cls]).fit(lazy, y)
    in_memory = estimator_cls(**ESTIMATOR_FAST[estimator_cls]).fit(X, y)
    for a, b in zip(outputs(from_disk, _Files(X)), outputs(in_memory, X), strict=True):
        np.testing.assert_array_equal(a, b)
    assert from_disk.score(_Files(X), y) == in_memory.score(X, y)
    # checked once each, then loaded once per epoch (windows of one recording share a load
    # only within a batch) and once to calibrate the decoder: never held all at once, and
    # not loaded over and over
    epochs = ESTIMATOR_FAST[estimator_cls]["max_epochs"]
    assert lazy.loads <= len(X) * (2 + epochs) + 2


def test_a_bad_recording_behind_a_lazy_container_is_named(make_estimator, task_data):
    X_clean, y = task_data
    X = [x.copy() for x in X_clean]
    X[7][3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\[7\].*(NaN|infinity)"):
        make_estimator().fit(_Files(X), y)
    X[7] = X_clean[7][:, :2]
    with pytest.raises(ValueError, match=r"X\[7\] has 2 features but X\[0\] has 4"):
        make_estimator().fit(_Files(X), y)
    with pytest.raises(ValueError, match=r"y\[3\] has \d+ (labels|timesteps) but X\[3\] has"):
        make_estimator().fit(_Files([x[:, :1] for x in X]), [*y[:3], y[3][:-1], *y[4:]])


class _Changing(_Files):
    """Gives the recordings as checked, then (from the second pass over them) changed ones."""

    def __init__(self, X, change):
        super().__init__(X)
        self.change = change

    def __len__(self):
        changed = self.change == "recordings" and self.loads >= len(self.X)
        return len(self.X) - 2 if changed else len(self.X)

    def __getitem__(self, i):
        x = super().__getitem__(i)
        if self.loads <= len(self.X):  # the check's pass
            return x
        if self.change == "recordings" and i >= len(self):
            raise IndexError("list index out of range")
        if self.change == "timesteps":
            return x[: len(x) // 2]
        return x[:, :-1] if self.change == "features" else x


@pytest.mark.parametrize("call", ["fit", "predict_proba"])
@pytest.mark.parametrize(
    "change, message",
    [
        ("timesteps", r"X\[\d+\] has \d+ timesteps now but had \d+ when X was checked"),
        ("features", r"X\[\d+\] has 3 features now but had 4 when X was checked"),
        ("recordings", r"X has 10 recordings now but had 12 when it was checked"),
    ],
)
def test_a_lazy_container_that_changes_after_its_check_is_named(easy_data, call, change, message):
    X, y = easy_data
    X, y = X[:12], y[:12]
    clf = TCNLabeler(**ESTIMATOR_FAST[TCNLabeler])
    if call == "fit":
        with pytest.raises(ValueError, match=message):
            clf.fit(_Changing(X, change), y)
    else:
        clf.fit(X, y)
        with pytest.raises(ValueError, match=message):
            clf.predict_proba(_Changing(X, change))
