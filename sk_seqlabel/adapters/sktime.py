"""Any labeler as an sktime detector: supervised segmentation of series and panels.

sktime's detectors (:class:`sktime.detection.base.BaseDetector`) describe the labels of a
series by its segments: a DataFrame with an ``"ilocs"`` column of left-closed integer
intervals (positions among the rows of ``X``) and a ``"labels"`` column. The adapter turns
those into one label per timestep for the labeler, and the labeler's per-timestep predictions
back into segments. Importing this module imports sktime; ``import sk_seqlabel`` does not.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sktime.detection.base import BaseDetector

from ..formats import is_multiindex_panel, split_panel

__all__ = ["SeqLabelDetector"]


class SeqLabelDetector(BaseDetector):
    """A labeler of this package as an sktime detector: supervised segmentation.

    Learns from one labelled series or from a panel of them (recordings of any lengths), and
    labels every timestep of new series. ``predict`` returns sktime's segments, one row per
    run of one label; ``transform`` (from sktime's base class) returns one label per row of
    ``X``; ``transform_scores`` the probability of each class per row.

    ``X`` is anything sktime accepts as a series (one recording: a DataFrame, Series or 2-D
    array, time along the rows) or as a panel (several: a DataFrame with an ``(instance,
    time)`` row index, a list of DataFrames, a 3-D array). Positions (``"ilocs"``) count the
    rows of ``X``; for a panel, the rows of its ``pd-multiindex`` form, instance after
    instance (what ``X`` already is when it is such a DataFrame). A segment never spans two
    instances.

    ``y`` in :meth:`fit` is either sktime's segments (a DataFrame with ``"ilocs"`` and
    ``"labels"`` columns, the segments together covering every row of ``X`` once), or one
    label per row of ``X`` (a Series, a one-column DataFrame such as what ``transform``
    returns, or a 1-D array), in row order; a Series on ``X``'s own index is matched by its
    index, in any order. Labels are anything the labeler takes (ints, strings, bools) and
    come back as they were given.

    ``fit(X)`` without ``y``: sktime's own test scenarios fit every detector so, but a
    supervised detector has nothing to learn from a series without labels, so it raises a
    ``ValueError``, unless ``labeler`` is a :class:`sklearn.frozen.FrozenEstimator`, which
    ``fit`` uses as it is, with or without ``y``.

    Parameters
    ----------
    labeler : estimator, default=None
        A labeler (for example :class:`~sk_seqlabel.TCNLabeler`) or a pipeline ending in one,
        fitted or not: :meth:`fit` trains a clone, so the object passed is left as it was.
        Wrap a fitted labeler in :class:`sklearn.frozen.FrozenEstimator` to use it without
        training it again. None is ``TCNLabeler()``.

    Attributes
    ----------
    labeler_ : estimator
        The fitted clone of ``labeler`` that ``predict`` uses.

    See Also
    --------
    sk_seqlabel.formats : the ``pd-multiindex`` panels that the labelers take directly.

    Examples
    --------
    Fit on a panel of 20 recordings (an ``(instance, time)`` row index) with one label per
    row, then segment one new series:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from sk_seqlabel import TCNLabeler
    >>> from sk_seqlabel.adapters.sktime import SeqLabelDetector
    >>> from sk_seqlabel.datasets import make_sequence_labeling
    >>> X, y = make_sequence_labeling(n_sequences=21, random_state=0)
    >>> panel = pd.concat({i: pd.DataFrame(x) for i, x in enumerate(X[:20])},
    ...                   names=["recording", "t"])
    >>> labels = pd.Series(np.concatenate(y[:20]), index=panel.index)
    >>> detector = SeqLabelDetector(TCNLabeler(n_filters=16, max_epochs=10, random_state=0))
    >>> detector = detector.fit(panel, labels)
    >>> segments = detector.predict(pd.DataFrame(X[20]))
    >>> segments.columns.tolist()
    ['ilocs', 'labels']
    >>> first, last = segments["ilocs"].iloc[0], segments["ilocs"].iloc[-1]
    >>> int(first.left), int(last.right) == len(X[20])
    (0, True)
    >>> dense = detector.transform(pd.DataFrame(X[20]))
    >>> float((dense["labels"].to_numpy() == y[20]).mean()) > 0.8
    True
    """

    _tags = {
        "authors": ["sk_seqlabel developers"],
        "maintainers": ["sk_seqlabel developers"],
        "task": "segmentation",
        "learning_type": "supervised",
        "capability:multivariate": True,
        "capability:missing_values": False,
        "capability:update": False,
        "capability:variable_identification": False,
        # Series stay DataFrames (the labeler keeps their column names); panels of any sktime
        # form arrive as one (instance, time)-indexed DataFrame.
        "X_inner_mtype": ["pd.DataFrame", "pd-multiindex"],
        "fit_is_empty": False,
        # The labeler's seeds decide (see __dynamic_tags__); the detector has no
        # random_state of its own, which "derandomized" would need.
        "property:randomness": "stochastic",
        "capability:random_state": False,
    }

    def __init__(self, labeler=None):
        self.labeler = labeler
        super().__init__()

    def __dynamic_tags__(self):
        # Two fits agree when every seed of the labeler is fixed and it trains on the CPU
        # (DESIGN.md, invariant 5); sktime then checks that they do.
        labeler = self.labeler
        if isinstance(labeler, FrozenEstimator):  # its get_params does not look inside
            labeler = labeler.estimator
        if labeler is None or not hasattr(labeler, "get_params"):
            return
        params = labeler.get_params(deep=True)
        seeds = [v for k, v in params.items() if k.rsplit("__", 1)[-1] == "random_state"]
        devices = [v for k, v in params.items() if k.rsplit("__", 1)[-1] == "device"]
        on_cpu = all(str(d) == "cpu" for d in devices) or not torch.cuda.is_available()
        if seeds and all(isinstance(s, numbers.Integral) for s in seeds) and on_cpu:
            self.set_tags(**{"property:randomness": "deterministic"})

    def _fit(self, X, y=None):
        """Train a clone of the labeler on the recordings of ``X`` and their labels ``y``.

        Parameters
        ----------
        X : pandas.DataFrame
            One series, or a panel with an ``(instance, time)`` row index.
        y : pandas.DataFrame, pandas.Series or array-like, optional
            Segments or one label per row of ``X`` (see the class docstring).

        Returns
        -------
        self : SeqLabelDetector
        """
        if self.labeler is None:
            from ..labelers import TCNLabeler

            labeler = TCNLabeler()
        else:
            labeler = clone(self.labeler)
        sequences, rows = _recordings(X)
        if y is None:
            if not isinstance(labeler, FrozenEstimator):
                raise ValueError(
                    f"{type(self).__name__} is supervised: fit needs y, the labels of X's "
                    "rows (sktime's segments, or one label per row). To use a labeler "
                    "fitted elsewhere, pass it as sklearn.frozen.FrozenEstimator(labeler)."
                )
            y_list = None
        else:
            labels = _row_labels(y, X.index)
            y_list = [labels[r] for r in rows]
        self.labeler_ = labeler.fit(sequences, y_list)
        return self

    def _predict(self, X):
        """Segments of ``X``: runs of one predicted label within one recording.

        Parameters
        ----------
        X : pandas.DataFrame
            One series, or a panel with an ``(instance, time)`` row index.

        Returns
        -------
        pandas.DataFrame with a RangeIndex
            ``"ilocs"``: left-closed intervals of row positions, in row order, together
            covering every row once; ``"labels"``: the label of each.
        """
        sequences, rows = _recordings(X)
        labels = _in_row_order(self.labeler_.predict(sequences), rows)
        recording = _in_row_order([np.full(len(r), i) for i, r in enumerate(rows)], rows)
        changes = np.flatnonzero((labels[1:] != labels[:-1]) | (recording[1:] != recording[:-1]))
        starts = np.concatenate([[0], changes + 1])
        ends = np.concatenate([changes + 1, [len(labels)]])
        return pd.DataFrame(
            {
                "ilocs": pd.IntervalIndex.from_arrays(starts, ends, closed="left"),
                "labels": labels[starts],
            }
        )

    def transform(self, X):
        """One label per row of ``X``: the segments of :meth:`predict`, row by row.

        sktime's ``BaseDetector.transform`` counts ``len(X)`` rows, which for a panel given
        as a 3-D array or a list of DataFrames is the number of recordings; this counts the
        rows of every recording.

        Parameters
        ----------
        X : pandas.DataFrame, pandas.Series, ndarray or list of pandas.DataFrame
            One series or a panel, in any form sktime accepts.

        Returns
        -------
        pandas.DataFrame with a RangeIndex
            A ``"labels"`` column: the label of each row of ``X`` (for a panel, of each row of
            its ``pd-multiindex`` form).
        """
        self.check_is_fitted()
        n_rows = len(self._check_X(X))
        dense = self.sparse_to_dense(self.predict(X), pd.RangeIndex(n_rows))
        return self._coerce_to_df(dense, columns=["labels"])

    def _transform_scores(self, X):
        """The labeler's probability of each class at every row of ``X``.

        Parameters
        ----------
        X : pandas.DataFrame
            One series, or a panel with an ``(instance, time)`` row index.

        Returns
        -------
        pandas.DataFrame
            On ``X``'s index, one column per class (the labeler's ``classes_``).
        """
        sequences, rows = _recordings(X)
        proba = _in_row_order(self.labeler_.predict_proba(sequences), rows)
        return pd.DataFrame(proba, index=X.index, columns=self.labeler_.classes_)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Parameters of the instances that sktime's ``check_estimator`` runs.

        Tiny labelers fitted on short univariate series and frozen, because sktime's test
        scenarios call ``fit(X)`` without labels (see the class docstring): a TCN, and a
        pipeline of a scaler and an LSTM. The fitting itself is tested with labels in this
        package's own tests.

        Parameters
        ----------
        parameter_set : str, default="default"
            Ignored: there is one set.

        Returns
        -------
        list of dict
        """
        return [{"labeler": FrozenEstimator(fitted)} for fitted in _fitted_test_labelers()]


def _recordings(X):
    """``(sequences, rows)``: the recordings of ``X`` in time order, and their rows in ``X``.

    ``rows[i]`` holds the positions among ``X``'s rows of ``sequences[i]``'s timesteps.
    """
    if is_multiindex_panel(X):
        sequences, _, order = split_panel(X)
        return sequences, np.split(order, np.cumsum([len(s) for s in sequences])[:-1])
    return [X], [np.arange(len(X))]


def _in_row_order(per_recording, rows):
    """Concatenate per-recording arrays (first axis: time) back into ``X``'s row order."""
    values = np.concatenate(per_recording)
    out = np.empty_like(values)
    out[np.concatenate(rows)] = values
    return out


def _row_labels(y, index):
    """One label per row of ``X`` (whose row index is ``index``) from ``y``: sktime's
    segments, or labels per row, in row order or on ``X``'s index in another order."""
    n_rows = len(index)
    if isinstance(y, pd.DataFrame) and "ilocs" in y.columns:
        return _labels_of_segments(y, n_rows)
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise ValueError(
                "y as a DataFrame is either sktime's segments (an 'ilocs' column) or one "
                f"column of labels, one per row of X; got the columns {list(y.columns)}."
            )
        y = y.iloc[:, 0]
    if (
        isinstance(y, pd.Series)
        and len(y) == n_rows
        and not y.index.equals(index)
        and y.index.sort_values().equals(index.sort_values())
    ):
        y = y.reindex(index)  # the same rows in another order: follow the index, not positions
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(
            f"y must hold one label per row of X; got an array of shape {labels.shape}."
        )
    if len(labels) != n_rows:
        raise ValueError(f"y has {len(labels)} labels but X has {n_rows} rows.")
    return labels


def _labels_of_segments(y, n_rows):
    """One label per row of ``X`` from segments that cover every row exactly once."""
    if "labels" not in y.columns:
        raise ValueError(
            "y's segments have no 'labels' column: a supervised detector learns the label of "
            "each segment, so y needs one."
        )
    dtype = y["ilocs"].dtype
    if not (isinstance(dtype, pd.IntervalDtype) and pd.api.types.is_integer_dtype(dtype.subtype)):
        raise TypeError(
            "y['ilocs'] must hold intervals of integer row positions (pd.Interval, as sktime's "
            f"segments); got dtype {dtype}."
        )
    intervals = pd.IntervalIndex(y["ilocs"])
    if intervals.is_overlapping:
        raise ValueError("y's segments overlap; each row of X needs exactly one label.")
    if len(intervals) and (intervals.left.min() < 0 or intervals.right.max() > n_rows):
        raise ValueError(
            f"y's segments reach rows {intervals.left.min()} to {intervals.right.max()}, but X "
            f"has rows 0 to {n_rows - 1}."
        )
    segment = intervals.get_indexer(np.arange(n_rows))
    unlabelled = np.flatnonzero(segment < 0)
    if len(unlabelled):
        raise ValueError(
            f"y's segments leave {len(unlabelled)} of X's {n_rows} rows without a label (the "
            f"first: row {unlabelled[0]}); cover every row, or pass one label per row."
        )
    return y["labels"].to_numpy()[segment]


@functools.cache
def _fitted_test_labelers():
    """The labelers of :meth:`SeqLabelDetector.get_test_params`, fitted once per process."""
    from sklearn.pipeline import make_pipeline

    from ..datasets import make_sequence_labeling
    from ..labelers import LSTMLabeler, TCNLabeler
    from ..preprocessing import SequenceScaler

    X, y = make_sequence_labeling(
        n_sequences=6, min_length=10, max_length=30, n_features=1, n_classes=2, random_state=0
    )
    tiny = {"max_epochs": 1, "n_threads": 1, "device": "cpu", "random_state": 0}
    tcn = TCNLabeler(n_filters=4, kernel_size=3, n_blocks=1, **tiny)
    lstm = make_pipeline(SequenceScaler(), LSTMLabeler(hidden_size=4, num_layers=1, **tiny))
    return tcn.fit(X, y), lstm.fit(X, y)
