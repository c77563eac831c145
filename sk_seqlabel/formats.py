"""Data in the forms of the ecosystem: sktime/aeon panels and long data frames.

- A pandas DataFrame with a two-level row index ``(instance, time)`` (sktime's
  ``pd-multiindex``) is accepted as ``X`` by every labeler, with ``y`` a Series (or array) on
  the same rows; ``predict`` then returns a Series and ``predict_proba`` a DataFrame on ``X``'s
  index, in ``X``'s row order.
- :func:`from_long` turns a long table (one row per timestep: an id column, a time column,
  feature columns and optionally a label column; pandas or polars) into the lists of arrays
  the labelers take, each sequence in time order.
- sktime/aeon's 3-D numpy panels are (instances, channels, timepoints), where the labelers'
  3-D arrays are (sequences, timesteps, features): pass ``panel.transpose(0, 2, 1)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["from_long", "is_multiindex_panel", "split_panel"]


def is_multiindex_panel(X) -> bool:
    """Whether ``X`` is a pandas DataFrame with a two-level (instance, time) row index."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        return False
    return isinstance(X, pd.DataFrame) and X.index.nlevels == 2


def split_panel(X, y=None):
    """Split a ``pd-multiindex`` panel into sequences in time order, and remember the rows.

    Parameters
    ----------
    X : pandas.DataFrame with a two-level (instance, time) index
    y : pandas.Series on the same index, or array-like of ``len(X)``, optional

    Returns
    -------
    sequences : list of pandas.DataFrame
        One per instance, in order of first appearance, rows sorted by time.
    labels : list of ndarray or None
        ``y`` split the same way.
    order : ndarray of int
        For the concatenated sequences' rows, their positions in ``X``: outputs concatenated
        in sequence order go back to ``X``'s row order with ``out[order] = concatenated``.

    Raises
    ------
    ValueError
        When two rows of ``X`` have the same (instance, time), naming the first such pair, or
        when ``y`` is not on ``X``'s rows.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_seqlabel.formats import split_panel
    >>> index = pd.MultiIndex.from_tuples([("b", 1), ("a", 0), ("b", 0)], names=["id", "t"])
    >>> X = pd.DataFrame({"acc": [3.0, 1.0, 2.0]}, index=index)
    >>> seqs, _, order = split_panel(X)
    >>> [s["acc"].tolist() for s in seqs], order.tolist()
    ([[2.0, 3.0], [1.0]], [2, 0, 1])
    """
    import pandas as pd

    duplicated = X.index.duplicated()
    if duplicated.any():
        instance, time = (
            v.item() if isinstance(v, np.generic) else v
            for v in X.index[int(np.argmax(duplicated))]
        )
        raise ValueError(
            f"X has more than one row for instance {instance!r} at time {time!r}; each "
            "(instance, time) pair must be one timestep. Drop or aggregate the duplicates, "
            "e.g. X[~X.index.duplicated()]."
        )
    instances = X.index.get_level_values(0)
    times = X.index.get_level_values(1)
    codes, _ = pd.factorize(instances)  # order of first appearance
    order = np.lexsort((np.asarray(times), codes))
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    pieces = np.split(order, bounds)
    sequences = [X.iloc[rows] for rows in pieces]
    labels = None
    if y is not None:
        if isinstance(y, pd.Series):
            if not y.index.equals(X.index):
                if not y.index.sort_values().equals(X.index.sort_values()):
                    raise ValueError(
                        "y's index differs from X's; pass y as a Series on X's (instance, "
                        "time) rows (in any row order)."
                    )
                y = y.reindex(X.index)
            y = y.to_numpy()
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"y has {len(y)} labels but X has {len(X)} rows.")
        labels = [y[rows] for rows in pieces]
    return sequences, labels, order


def from_long(frame, *, id, time, label=None, features=None):
    """Sequences from a long table: one row per timestep, an id and a time column.

    Parameters
    ----------
    frame : pandas.DataFrame or polars.DataFrame
    id : str
        Column naming each row's sequence (recording).
    time : str
        Column ordering the rows of a sequence.
    label : str, optional
        Column of per-timestep labels.
    features : list of str, optional
        Feature columns; default all columns but ``id``, ``time`` and ``label``.

    Returns
    -------
    X : list of ndarray of shape (T_i, n_features)
        One per id, in order of first appearance, rows in time order.
    y : list of ndarray of shape (T_i,)
        Only when ``label`` is given.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_seqlabel.formats import from_long
    >>> frame = pd.DataFrame({"rec": [1, 1, 2], "t": [1, 0, 0], "acc": [0.5, 0.1, 0.9],
    ...                       "activity": ["run", "walk", "sit"]})
    >>> X, y = from_long(frame, id="rec", time="t", label="activity")
    >>> [x.ravel().tolist() for x in X], [list(v) for v in y]
    ([[0.1, 0.5], [0.9]], [['walk', 'run'], ['sit']])
    """
    columns = list(frame.columns)
    for name, value in (("id", id), ("time", time), ("label", label)):
        if value is not None and value not in columns:
            raise ValueError(f"{name}={value!r} is not a column; the columns are {columns}.")
    if features is None:
        features = [c for c in columns if c not in {id, time, label}]
    missing = [c for c in features if c not in columns]
    if missing:
        raise ValueError(f"features {missing} are not columns; the columns are {columns}.")
    ids = np.asarray(frame[id].to_numpy())
    times = np.asarray(frame[time].to_numpy())
    values = np.column_stack([np.asarray(frame[c].to_numpy(), dtype=np.float32) for c in features])
    _, first = np.unique(ids, return_index=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))  # ids in order of first appearance
    codes = rank[np.unique(ids, return_inverse=True)[1]]
    order = np.lexsort((times, codes))
    pieces = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
    X = [values[rows] for rows in pieces]
    if label is None:
        return X
    labels = np.asarray(frame[label].to_numpy())
    return X, [labels[rows] for rows in pieces]
