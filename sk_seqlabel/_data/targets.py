"""Checking targets other than one class per step: continuous values, multi-label, missing labels.

Kept apart from ``validation.py`` (the checks of X and of one-class-per-step labels) because
these checks share their own machinery: reading one target sequence as a float table, the
package-wide ``missing_label`` marker, and target names from DataFrame columns.

The marker for "no label at this step" is ``missing_label``, default None: NaN in float labels
and None (or NaN, ``pd.NA``) in object labels are always missing; an integer or string marker
counts only when asked for, e.g. ``missing_label=-1`` (scikit-learn's semi-supervised
convention). The default is not -1 because labels {-1, 1} are a common binary encoding, and
such a default would silently drop one class of those users' data.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _get_feature_names

from .validation import (
    _is_sequence_container,
    _label_kind_of_type,
    _reject_single_sequence,
    check_label_sequences,
    check_same_lengths,
    check_targets,
)

__all__ = [
    "check_continuous_targets",
    "check_missing_label",
    "check_multilabel_targets",
    "check_partial_targets",
    "labelled_masks",
    "target_kind",
]


def check_missing_label(missing_label):
    """Check the ``missing_label`` marker: None, a real number (NaN included) or a string.

    Examples
    --------
    >>> from sk_seqlabel._data.targets import check_missing_label
    >>> check_missing_label(-1)
    -1
    >>> check_missing_label(True)
    Traceback (most recent call last):
    ...
    TypeError: missing_label must be None, a number or a string; got bool True.
    """
    if missing_label is None or isinstance(missing_label, str):
        return missing_label
    if isinstance(missing_label, (bool, np.bool_)) or not isinstance(missing_label, numbers.Real):
        raise TypeError(
            "missing_label must be None, a number or a string; got "
            f"{type(missing_label).__name__} {missing_label!r}."
        )
    return missing_label


def _is_marker(values, missing_label):
    """Elementwise ``values == missing_label``, False where the kinds cannot be equal."""
    if missing_label is None:
        return np.zeros(np.shape(values), dtype=bool)
    if isinstance(missing_label, str):
        if values.dtype.kind not in "OUS":
            return np.zeros(values.shape, dtype=bool)
    elif missing_label != missing_label:  # a NaN marker: what pd.isna finds already
        return np.zeros(values.shape, dtype=bool)
    elif values.dtype.kind in "US":
        return np.zeros(values.shape, dtype=bool)
    return np.asarray(values == missing_label, dtype=bool)


def _missing(values, missing_label):
    """Elementwise: NaN, None, ``pd.NA`` or ``missing_label``."""
    if values.dtype.kind in "fcO":
        absent = np.asarray(pd.isna(values), dtype=bool)
    else:
        absent = np.zeros(values.shape, dtype=bool)
    return absent | _is_marker(values, missing_label)


def labelled_masks(y_list, *, missing_label=None):
    """Which steps carry a label: one boolean mask per sequence.

    Parameters
    ----------
    y_list : list of array-like of shape (T_i,) or (T_i, n_labels)
        Label sequences: ints, bools, strings, objects (None missing) or floats (NaN missing).
    missing_label : None, number or str, default=None
        The marker of a step without a label, besides NaN and None, which are always missing.

    Returns
    -------
    masks : list of ndarray of bool, each of the shape of ``y_list[i]``
        True where a label is given. Elementwise, so a multi-label sequence gets one mask
        entry per label and step.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel._data.targets import labelled_masks
    >>> [m.tolist() for m in labelled_masks([["a", None, "b"], [0.0, np.nan]])]
    [[True, False, True], [True, False]]
    >>> labelled_masks([np.array([-1, 1, -1])], missing_label=-1)[0].tolist()
    [False, True, False]
    >>> labelled_masks([np.array([-1, 1, -1])])[0].tolist()  # -1 is a label by default
    [True, True, True]
    """
    missing_label = check_missing_label(missing_label)
    masks = []
    for yi in y_list:
        values = yi.to_numpy() if isinstance(yi, (pd.DataFrame, pd.Series)) else np.asarray(yi)
        masks.append(~_missing(values, missing_label))
    return masks


def _as_list(y, kind):
    """The sequences of y as a list: a 2-D/3-D array is split along its first axis."""
    if isinstance(y, np.ndarray) and y.ndim in (2, 3):
        return list(y)
    _reject_single_sequence(y, "y", kind)
    if not (_is_sequence_container(y) or (isinstance(y, np.ndarray) and y.ndim == 1)):
        raise TypeError(f"Expected a list of {kind} for y; got {type(y).__name__}.")
    if len(y) == 0:
        raise ValueError("y is an empty list; at least one sequence is required.")
    return list(y)


def _values(yi, where):
    """One target sequence as a 1-D or 2-D numpy array, refusing what is not a table."""
    if isinstance(yi, (pd.DataFrame, pd.Series)):
        return yi.to_numpy()
    if isinstance(yi, (str, bytes)) or np.isscalar(yi) or yi is None:
        raise TypeError(
            f"{where} is a {type(yi).__name__}, not a sequence; pass one array of shape "
            "(T_i,) or (T_i, n_targets) per sequence."
        )
    try:
        values = np.asarray(yi)
    except ValueError:
        raise ValueError(
            f"{where} is a nested list of rows of unequal lengths; every timestep needs the "
            "same number of targets."
        ) from None
    if values.ndim not in (1, 2):
        raise ValueError(
            f"{where} has {values.ndim} dimensions; each target sequence must be 1-D (T_i,) "
            "or 2-D (T_i, n_targets)."
        )
    return values


def _as_float(values, where, missing_label=None):
    """``values`` as float64, with NaN where a value is missing; non-numbers are a TypeError."""
    kind = values.dtype.kind
    if kind == "c":
        raise TypeError(
            f"{where} has complex values; targets must be real numbers. Pass the real and "
            "imaginary parts as separate targets."
        )
    absent = _missing(values, missing_label)
    if kind in "biuf":
        out = values.astype(np.float64)
    elif kind == "O":
        flat = values.ravel()
        for j, v in enumerate(flat):
            if not absent.ravel()[j] and not isinstance(v, numbers.Real):
                raise TypeError(
                    f"{where} holds {v!r} ({type(v).__name__}) at flat position {j}; targets "
                    "must be numbers (None or NaN for a missing one)."
                )
        out = np.where(absent, 0.0, values).astype(np.float64)
    else:
        first = values.ravel()[0] if values.size else None
        raise TypeError(
            f"{where} holds values of dtype {values.dtype} (e.g. {first!r}); targets must be "
            "numbers. Encode categories as numbers first."
        )
    out[absent] = np.nan
    return out


def _target_names(frames, what):
    """String column names shared by the DataFrames (or Series names) of y, or None.

    As :func:`~sk_seqlabel._data.validation.sequence_feature_names` does for X: all named
    sequences must agree, and named ones cannot be mixed with unnamed ones, whose columns could
    not be checked against the names.
    """
    names, named_at, unnamed_at = None, None, None
    for i, yi in enumerate(frames):
        if isinstance(yi, pd.Series):
            got = np.array([yi.name], dtype=object) if isinstance(yi.name, str) else None
        elif isinstance(yi, pd.DataFrame):
            got = _get_feature_names(yi)
        else:
            got = None
        if got is None:
            unnamed_at = i if unnamed_at is None else unnamed_at
        elif names is None:
            names, named_at = got, i
        elif len(got) != len(names) or np.any(got != names):
            raise ValueError(
                f"y[{i}] has columns {list(got)} but y[{named_at}] has {list(names)}; every "
                f"DataFrame in y must have the same {what} in the same order."
            )
        if names is not None and unnamed_at is not None:
            raise ValueError(
                f"y[{named_at}] has column names but y[{unnamed_at}] has none; pass every "
                "sequence as a DataFrame with the same string column names, or none with names."
            )
    return names


def _lengths(X_list):
    """The sequences' lengths, from a list of arrays or a lazy container."""
    return list(X_list.lengths) if hasattr(X_list, "lengths") else [len(x) for x in X_list]


def _check_width(tables, what):
    """All sequences as 2-D with the same number of columns; whether they came 1-D."""
    was_1d = [t.ndim == 1 for t in tables]
    for i, t in enumerate(tables):
        if was_1d[i] != was_1d[0]:
            shape = "1-D" if was_1d[i] else f"2-D {t.shape}"
            first = "1-D" if was_1d[0] else f"2-D {tables[0].shape}"
            raise ValueError(
                f"y[{i}] is {shape} but y[0] is {first}; pass every sequence the same way: "
                f"all (T_i,) for one target, or all (T_i, n_{what})."
            )
    out = [t.reshape(-1, 1) if t.ndim == 1 else t for t in tables]
    for i, t in enumerate(out):
        if t.shape[1] == 0:
            raise ValueError(f"y[{i}] has 0 {what}; at least one is required.")
        if t.shape[1] != out[0].shape[1]:
            raise ValueError(
                f"y[{i}] has {t.shape[1]} {what} but y[0] has {out[0].shape[1]}; all "
                f"sequences must have the same number of {what}."
            )
    return out, was_1d[0]


def check_continuous_targets(y, X_list, *, estimator_name="the estimator"):
    """Validate continuous targets against validated X; return float32 (T_i, n_targets) arrays.

    NaN (or None, ``pd.NA``) marks a step without a target, to be left out of the loss and the
    scores; infinity is refused, and so is a target with no finite value anywhere.

    Parameters
    ----------
    y : list of array-like of shape (T_i,) or (T_i, n_targets), ndarray of shape (n, T) or \
(n, T, n_targets), or list of pandas DataFrame or Series
        One value (or ``n_targets`` values) per timestep of each sequence. A DataFrame has one
        column per target; a Series is one target.
    X_list : list of ndarray of shape (T_i, n_features)
        Output of :func:`~sk_seqlabel._data.validation.check_sequences`.
    estimator_name : str
        Used in error messages.

    Returns
    -------
    y_list : list of ndarray of shape (T_i, n_targets), dtype float32
        New arrays (inputs are never written to), NaN where a target is missing.
    outputs_2d : bool
        False when every sequence was 1-D (one target, ``(T_i,)``; a 2-D ``(n, T)`` array
        too), so predictions can be returned as ``(T_i,)``; True for ``(T_i, n_targets)``.
    target_names : ndarray of shape (n_targets,), dtype object, or None
        The string column names of DataFrames (or the name of Series), else None.

    Raises
    ------
    ValueError or TypeError
        Naming the sequence: lengths that differ from X's, numbers of targets that differ
        between sequences, infinity, no finite value at all, non-numeric values (TypeError).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel._data.targets import check_continuous_targets
    >>> X_list = [np.zeros((3, 2)), np.zeros((2, 2))]
    >>> y_list, outputs_2d, names = check_continuous_targets([[0.5, np.nan, 1], [2, 3]], X_list)
    >>> y_list[0].ravel(), y_list[0].dtype, outputs_2d, names
    (array([0.5, nan, 1. ], dtype=float32), dtype('float32'), False, None)
    >>> check_continuous_targets([[0.5, np.inf, 1], [2, 3]], X_list)
    Traceback (most recent call last):
    ...
    ValueError: y[0] has an infinite target at timestep 1; targets must be finite (NaN marks \
a step without a target).
    """
    frames = _as_list(y, "target sequences")
    tables = [_as_float(_values(yi, f"y[{i}]"), f"y[{i}]") for i, yi in enumerate(frames)]
    check_same_lengths(
        tables, [range(n) for n in _lengths(X_list)], names=("y", "X"), what=("timesteps",) * 2
    )
    tables, was_1d = _check_width(tables, "targets")
    out = []
    for i, t in enumerate(tables):
        if np.isinf(t).any():
            j = int(np.argwhere(np.isinf(t))[0, 0])
            raise ValueError(
                f"y[{i}] has an infinite target at timestep {j}; targets must be finite (NaN "
                "marks a step without a target)."
            )
        big = np.abs(np.nan_to_num(t)) > np.finfo(np.float32).max
        if big.any():
            j = int(np.argwhere(big)[0, 0])
            raise ValueError(
                f"y[{i}] has a target too large for float32 at timestep {j}; rescale y."
            )
        out.append(t.astype(np.float32))
    finite = np.zeros(out[0].shape[1], dtype=np.int64)
    for t in out:
        finite += np.isfinite(t).sum(axis=0)
    if not finite.any():
        raise ValueError(
            f"y has no finite value; {estimator_name} needs at least one timestep with a target."
        )
    if not finite.all():
        k = int(np.argmin(finite))
        raise ValueError(
            f"Target {k} of y is NaN at every timestep of every sequence; {estimator_name} "
            "cannot learn it. Drop that target."
        )
    return out, not was_1d, _target_names(frames, "targets")


def check_multilabel_targets(y, X_list, *, missing_label=None, estimator_name="the estimator"):
    """Validate multi-label targets (one 0/1 decision per label and step) against validated X.

    Parameters
    ----------
    y : list of array-like of shape (T_i, n_labels), ndarray of shape (n, T, n_labels), or \
list of pandas DataFrame
        0/1 per label and timestep: bools, ints, or floats; NaN, None, and ``missing_label``
        (when given) mark an entry without a label. A DataFrame has one column per label.
    X_list : list of ndarray of shape (T_i, n_features)
        Output of :func:`~sk_seqlabel._data.validation.check_sequences`.
    missing_label : None, number or str, default=None
        The marker of a missing entry besides NaN and None (see the module docstring).
    estimator_name : str
        Used in error messages.

    Returns
    -------
    y_list : list of ndarray of shape (T_i, n_labels), dtype float32
        0.0 and 1.0, NaN where an entry is missing. ``n_labels`` is ``y_list[0].shape[1]``.
    label_names : ndarray of shape (n_labels,), dtype object, or None
        The DataFrames' string column names, else None.

    Raises
    ------
    ValueError or TypeError
        Naming the sequence: lengths that differ from X's, different numbers of labels, a
        value other than 0, 1 or missing, a label with no entry given anywhere.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel._data.targets import check_multilabel_targets
    >>> X_list = [np.zeros((3, 1))]
    >>> y_list, names = check_multilabel_targets([[[1, 0], [1, -1], [0, 1]]], X_list,
    ...                                          missing_label=-1)
    >>> y_list[0]
    array([[ 1.,  0.],
           [ 1., nan],
           [ 0.,  1.]], dtype=float32)
    >>> check_multilabel_targets([[[1, 0], [1, -1], [0, 1]]], X_list)
    Traceback (most recent call last):
    ...
    ValueError: y[0] has the value -1 at timestep 1, label 1; multi-label targets are 0 or 1 \
per label (or missing: NaN, None, or the missing_label marker, here None).
    """
    missing_label = check_missing_label(missing_label)
    frames = _as_list(y, "multi-label target sequences")
    raw = [_values(yi, f"y[{i}]") for i, yi in enumerate(frames)]
    for i, r in enumerate(raw):
        if r.ndim != 2:
            raise ValueError(
                f"y[{i}] is 1-D; multi-label targets are (T_i, n_labels) per sequence. For one "
                "label per timestep, pass 1-D label arrays to a labeler as they are."
            )
    tables = [_as_float(r, f"y[{i}]", missing_label) for i, r in enumerate(raw)]
    check_same_lengths(
        tables, [range(n) for n in _lengths(X_list)], names=("y", "X"), what=("timesteps",) * 2
    )
    tables, _ = _check_width(tables, "labels")
    given = np.zeros(tables[0].shape[1], dtype=np.int64)
    for i, t in enumerate(tables):
        bad = ~np.isnan(t) & (t != 0) & (t != 1)
        if bad.any():
            j, k = (int(v) for v in np.argwhere(bad)[0])
            value = raw[i][j, k]
            value = value.item() if isinstance(value, np.generic) else value
            raise ValueError(
                f"y[{i}] has the value {value!r} at timestep {j}, label {k}; multi-label "
                "targets are 0 or 1 per label (or missing: NaN, None, or the missing_label "
                f"marker, here {missing_label!r})."
            )
        given += (~np.isnan(t)).sum(axis=0)
    if not given.all():
        k = int(np.argmin(given))
        raise ValueError(
            f"Label {k} of y is missing at every timestep of every sequence; {estimator_name} "
            "cannot learn it. Drop that label or give some of its entries."
        )
    names = _target_names(frames, "labels")
    return [t.astype(np.float32) for t in tables], names


def target_kind(y, *, missing_label=None):
    """What kind of target y is, as :func:`sklearn.utils.multiclass.type_of_target` says.

    The answer is ``type_of_target`` of all labelled steps pooled: sequences of shape (T_i,)
    give "binary", "multiclass" or "continuous"; sequences of shape (T_i, k) with ``k > 1``
    give "multilabel-indicator" (0/1 values), "multiclass-multioutput" or
    "continuous-multioutput". Missing entries (NaN, None, ``missing_label``) are left out:
    they are replaced by a value the sequence already holds, which leaves the set of distinct
    values, all that ``type_of_target`` looks at, unchanged.

    Parameters
    ----------
    y : list of array-like of shape (T_i,) or (T_i, k), ndarray of shape (n, T) or \
(n, T, k), or list of pandas DataFrame or Series
        The targets as the user passed them.
    missing_label : None, number or str, default=None
        The marker of a step without a label, besides NaN and None.

    Returns
    -------
    kind : str
        One of ``type_of_target``'s answers.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel._data.targets import target_kind
    >>> target_kind([np.array([0, 1, 1]), np.array([2, 0])])
    'multiclass'
    >>> target_kind([np.array([[0, 1], [1, 1]]), np.array([[0, 0]])])
    'multilabel-indicator'
    >>> target_kind([np.array([0.5, np.nan, 1.2])])
    'continuous'
    >>> target_kind([np.array([-1, 0, 1])], missing_label=-1)
    'binary'
    """
    missing_label = check_missing_label(missing_label)
    frames = _as_list(y, "target sequences")
    pooled = []
    for i, yi in enumerate(frames):
        values = _values(yi, f"y[{i}]")
        if pooled and values.ndim != pooled[0].ndim:
            raise ValueError(
                f"y[{i}] has {values.ndim} dimensions but y[0] has {pooled[0].ndim}; pass "
                "every sequence the same way: all (T_i,) or all (T_i, k)."
            )
        if pooled and values.ndim == 2 and values.shape[1] != pooled[0].shape[1]:
            raise ValueError(
                f"y[{i}] has {values.shape[1]} columns but y[0] has {pooled[0].shape[1]}."
            )
        pooled.append(values)
    values = np.concatenate(pooled)
    absent = _missing(values, missing_label)
    if absent.all():
        raise ValueError("y has no labelled step; every target is missing.")
    present = values[~absent]
    if values.dtype.kind == "O":
        # type_of_target calls object arrays of numbers "unknown"; their own dtype says more.
        present = np.asarray(present.tolist())
        values = np.where(absent, present[0], values).astype(present.dtype)
    else:
        values = np.where(absent, present[0], values)
    return type_of_target(values, input_name="y")


def check_partial_targets(y, X_list, *, missing_label=None):
    """Validate one-class-per-step labels of which some steps are missing.

    Missing steps (NaN, None, ``pd.NA``, or ``missing_label`` when given) are filled with a
    label the data holds, then every sequence goes through
    :func:`~sk_seqlabel._data.validation.check_targets` as a fully labelled one would: the
    same checks and messages, with positions that are the sequence's own. The masks say
    which steps are real. Integer labels marked missing by NaN arrive as floats and stay
    floats (their classes are then 0.0, 1.0, ...).

    Parameters
    ----------
    y : list of array-like of shape (T_i,) or ndarray of shape (n_sequences, T)
        One label (or the missing marker) per timestep.
    X_list : list of ndarray of shape (T_i, n_features)
        Output of :func:`~sk_seqlabel._data.validation.check_sequences`.
    missing_label : None, number or str, default=None
        The marker of a step without a label, besides NaN and None.

    Returns
    -------
    y_list : list of ndarray of shape (T_i,)
        The labels, with each missing step holding some label of the data, so that encoders
        see one type; use only where ``masks`` is True.
    masks : list of ndarray of shape (T_i,), dtype bool
        True where a step is labelled.
    pooled : ndarray of shape (n_labelled,)
        The labelled steps' labels, pooled (for ``classes_`` and class weights).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel._data.targets import check_partial_targets
    >>> X_list = [np.zeros((3, 1)), np.zeros((2, 1))]
    >>> y_list, masks, pooled = check_partial_targets([["a", None, "b"], [None, "a"]], X_list)
    >>> [m.tolist() for m in masks], pooled
    ([[True, False, True], [False, True]], array(['a', 'b', 'a'], dtype='<U1'))
    >>> check_partial_targets([[0, 1, 0.5], [1, -1]], X_list, missing_label=-1)
    Traceback (most recent call last):
    ...
    ValueError: Unknown label type: continuous. y[0] holds the non-integral label 0.5 at \
position 2; a labeler needs discrete classes (ints, strings, bools, or floats with integral \
values).
    """
    y_list = check_label_sequences(y, name="y")
    masks = labelled_masks(y_list, missing_label=missing_label)
    check_same_lengths(
        y_list, [range(n) for n in _lengths(X_list)], names=("y", "X"), what=("labels", "timesteps")
    )
    first = next((i for i, m in enumerate(masks) if m.any()), None)
    if first is None:
        raise ValueError(
            "y has no labelled step: every label is missing (NaN, None or "
            f"missing_label={missing_label!r}); label at least one timestep."
        )
    filler = y_list[first][masks[first]][0]
    filled = []
    for yi, mask in zip(y_list, masks, strict=True):
        if not mask.all():
            own = yi[mask]
            yi = yi.copy()
            yi[~mask] = own[0] if own.size else filler
        if yi.dtype == object and len({_label_kind_of_type(type(v)) for v in yi}) == 1:
            # An object array of one kind (None removed) gets its own dtype, as a list would;
            # a mix stays object so that check_targets names it.
            yi = np.asarray(yi.tolist())
        filled.append(yi)
    y_list, _ = check_targets(filled, filled)
    pooled = np.concatenate([yi[m] for yi, m in zip(y_list, masks, strict=True)])
    return y_list, masks, pooled
