"""Recordings that load on access: checked one at a time as a list would be, read per batch.

What makes memory bounded by the batch cap rather than by the data set (the guide's data
page): :func:`~sk_seqlabel._data.validation.check_sequences` wraps any sized, indexable
container that is not a list, array or frame in a :class:`LazySequences`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .validation import _check_sequence

__all__ = ["LazySequences", "is_lazy_container"]


def is_lazy_container(X):
    """Recordings that load on access: indexable and sized, but no list, array or frame."""
    if isinstance(X, (list, tuple, np.ndarray, str, bytes, Mapping)):
        return False
    try:
        import pandas as pd

        if isinstance(X, (pd.DataFrame, pd.Series)):
            return False
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return hasattr(X, "__len__") and hasattr(X, "__getitem__")


class LazySequences:
    """Recordings that load on access (one file each, say), checked as a list would be.

    ``source[i]`` is loaded, checked and converted to float32 each time sequence ``i`` is
    needed, and dropped after; at construction every recording is loaded once, one at a time,
    to check it and learn its length. So memory holds one recording (and the batches built
    from it), never all of them.

    Parameters
    ----------
    source : object with ``__len__`` and ``__getitem__``
        ``source[i]`` returns sequence ``i`` as anything :func:`check_sequences` takes for
        one sequence.
    n_features : int, optional
        Checked as in :func:`check_sequences`.
    estimator_name : str

    Attributes
    ----------
    lengths : ndarray of int64
        Each sequence's number of timesteps.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel._data.validation import check_sequences
    >>> class Files:  # stands for one file per recording
    ...     def __len__(self):
    ...         return 2
    ...     def __getitem__(self, i):
    ...         return np.ones((3 + i, 2))
    >>> X, _ = check_sequences(Files())
    >>> X.lengths.tolist(), X[1].dtype
    ([3, 4], dtype('float32'))
    """

    def __init__(self, source, *, n_features=None, estimator_name="the estimator"):
        if len(source) == 0:
            raise ValueError("X is empty; at least one sequence is required.")
        self.source = source
        lengths, first = [], None
        for i in range(len(source)):
            x = _check_sequence(i, source[i])
            if first is None:  # the first recording sets the feature count
                first = x.shape[1]
            elif x.shape[1] != first:
                raise ValueError(
                    f"X[{i}] has {x.shape[1]} features but X[0] has {first}; "
                    "all sequences must have the same number of features."
                )
            lengths.append(len(x))
        if n_features is not None and first != n_features:
            raise ValueError(
                f"X[0] has {first} features, but {estimator_name} was fitted with {n_features}."
            )
        self.n_features = first
        self.lengths = np.asarray(lengths, dtype=np.int64)

    def __len__(self):
        return len(self.lengths)

    def __getitem__(self, i):
        # Batches, windows and outputs were planned on the shapes seen at the check: a
        # recording that changed since would be silently cut, padded or misread.
        fix = (
            "a container that loads on access must give the same recordings every time it "
            "is read while fit or predict runs (each epoch reads them again)."
        )
        if len(self.source) != len(self.lengths):
            raise ValueError(
                f"X has {len(self.source)} recordings now but had {len(self.lengths)} when it "
                f"was checked; {fix}"
            )
        x = _check_sequence(i, self.source[i])
        for what, now, checked in (
            ("timesteps", len(x), self.lengths[i]),
            ("features", x.shape[1], self.n_features),
        ):
            if now != checked:
                raise ValueError(
                    f"X[{i}] has {now} {what} now but had {checked} when X was checked; {fix}"
                )
        return x

    def __iter__(self):
        return (self[i] for i in range(len(self)))
