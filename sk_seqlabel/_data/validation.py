"""Checking and converting user input into the ragged form the rest of the package uses.

Every public entry point goes through here before any tensor is built, so that bad input gets a
``ValueError``/``TypeError`` naming the offending sequence instead of a torch traceback. Nothing
the user passed is modified: conversions copy whenever the dtype or layout changes, and the
arrays handed on are never written to.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence, Set

import numpy as np
import pandas as pd
from sklearn.utils import check_array
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _get_feature_names

__all__ = [
    "check_class_weight",
    "check_feature_names",
    "check_groups",
    "check_label_sequences",
    "check_same_lengths",
    "check_sample_weight",
    "check_sequences",
    "check_targets",
    "sequence_feature_names",
]


def _is_sequence_container(obj) -> bool:
    # A list/tuple of sequences; a pandas DataFrame or Series is *one* sequence, not a container.
    return isinstance(obj, Sequence) and not isinstance(obj, (str, bytes))


def _reject_single_sequence(obj, name: str, kind: str) -> None:
    """Raise the error that tells users how to pass one sequence."""
    try:
        import pandas as pd

        if isinstance(obj, (pd.DataFrame, pd.Series)):
            raise TypeError(
                f"Expected a list of sequences for {name}; got a pandas {type(obj).__name__}. "
                f"To label one sequence, pass [{name}]."
            )
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    # A 1-D object array is a container of sequences; a numeric one is a single sequence.
    if isinstance(obj, np.ndarray) and (obj.ndim == 2 or (obj.ndim == 1 and obj.dtype != object)):
        raise TypeError(
            f"Expected a list of {kind} for {name}; got a {obj.ndim}-D array. "
            f"To pass one sequence, pass [{name}]."
        )


def _is_plain_numeric_matrix(x):
    """A non-empty 2-D numpy array of real numbers (no pandas, no objects, no complex).

    ``np.memmap`` counts: a float32 recording on disk then stays on disk (no copy), and its
    pages are read when batches are built.
    """
    return (
        type(x) in (np.ndarray, np.memmap)
        and x.ndim == 2
        and x.dtype.kind in "fiu"
        and x.shape[0] >= 1
        and x.shape[1] >= 1
    )


def _ragged_rows_message(x, name: str) -> str:
    """Say which row of a nested list has a different length from the first row."""

    def width(row):
        if isinstance(row, (str, bytes)) or np.ndim(row) == 0:
            return None
        return len(row)

    def values(n):
        return "a single value" if n is None else f"{n} value{'s' * (n != 1)}"

    try:
        widths = [width(row) for row in x]
    except (ValueError, TypeError):  # deeper nesting that is itself ragged
        widths = []
    fix = "every row (one timestep) must have the same n_features values."
    for j, w in enumerate(widths):
        if w != widths[0]:
            return (
                f"{name} has rows of different lengths: row {j} has {values(w)} but row 0 has "
                f"{values(widths[0])}; {fix}"
            )
    return f"{name} is a nested list that is not a 2-D table of numbers; {fix}"


def _has_complex_dtype(x) -> bool:
    """Whether an array or DataFrame holds complex numbers, judged by its dtype(s) alone."""
    dtypes = getattr(x, "dtypes", None)  # a DataFrame has one dtype per column
    if dtypes is not None and not isinstance(dtypes, np.dtype):
        return any(getattr(dt, "kind", "") == "c" for dt in dtypes)
    return getattr(getattr(x, "dtype", None), "kind", "") == "c"


def _holds_complex_objects(x) -> bool:
    # Only called on the error path: an object array of Python complex numbers.
    try:
        flat = np.asarray(x, dtype=object).ravel()
    except (ValueError, TypeError):
        return False
    return any(isinstance(v, (complex, np.complexfloating)) for v in flat)


def _complex_message(name: str) -> str:
    return (
        f"{name} has complex values; sequences must hold real numbers. Pass the real and "
        "imaginary parts (or magnitude and phase) as separate features, e.g. "
        "np.column_stack([x.real, x.imag])."
    )


def check_sequences(X, *, n_features: int | None = None, estimator_name: str = "the estimator"):
    """Validate X and return it as a list of float32 arrays of shape (T_i, n_features).

    Parameters
    ----------
    X : list of array-like or ndarray of shape (n_sequences, T, n_features)
        Each element is a 2-D array (T_i, n_features), a 1-D array (T_i,) holding one feature,
        or a pandas DataFrame. A 3-D array is read as equal-length sequences.
    n_features : int, optional
        The number of features the estimator was fitted with; checked when given.
    estimator_name : str
        Used in error messages.

    Returns
    -------
    sequences : list of ndarray of shape (T_i, n_features), dtype float32
        New arrays where a conversion was needed; inputs are never written to.
    was_3d : bool
        True when X was a 3-D array, so results can be returned in the same form.

    Raises
    ------
    ValueError or TypeError
        Naming the sequence and what to change: wrong shapes, empty sequences, rows of a nested
        list of unequal lengths, NaN or infinity, complex or non-numeric values, feature counts
        that differ between sequences or from ``n_features``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel._data.validation import check_sequences
    >>> X_list, was_3d = check_sequences([np.zeros((3, 2)), [[1, 2], [3, 4]]])
    >>> [x.shape for x in X_list], X_list[1].dtype, was_3d
    ([(3, 2), (2, 2)], dtype('float32'), False)
    >>> check_sequences([np.zeros((3, 2)), [[1, 2], [3]]])
    Traceback (most recent call last):
    ...
    ValueError: X[1] has rows of different lengths: row 1 has 1 value but row 0 has 2 values; \
every row (one timestep) must have the same n_features values.
    """
    from .lazy import LazySequences, is_lazy_container  # lazy.py checks with this module

    if is_lazy_container(X):
        return LazySequences(X, n_features=n_features, estimator_name=estimator_name), False
    if isinstance(X, np.ndarray) and X.ndim == 3:
        X_list, was_3d = list(X), True
    else:
        _reject_single_sequence(X, "X", "sequences")
        if isinstance(X, np.ndarray) and X.ndim != 1:
            raise ValueError(
                f"Expected a list of sequences or a 3-D array for X; got a {X.ndim}-D array."
            )
        if not (_is_sequence_container(X) or isinstance(X, np.ndarray)):
            raise TypeError(
                f"Expected a list of sequences for X; got {type(X).__name__}. "
                "Pass a list of arrays of shape (T_i, n_features)."
            )
        X_list, was_3d = list(X), False
    if len(X_list) == 0:
        raise ValueError("X is an empty list; at least one sequence is required.")

    out = []
    for i, x in enumerate(X_list):
        x = _check_sequence(i, x)
        if out and x.shape[1] != out[0].shape[1]:
            raise ValueError(
                f"X[{i}] has {x.shape[1]} features but X[0] has {out[0].shape[1]}; "
                "all sequences must have the same number of features."
            )
        out.append(x)
    if n_features is not None and out[0].shape[1] != n_features:
        raise ValueError(
            f"X[0] has {out[0].shape[1]} features, but {estimator_name} was fitted with "
            f"{n_features}."
        )
    return out, was_3d


def _check_sequence(i, x, *, name=None, allow_empty=False):
    """Sequence ``X[i]`` as a float32 (T_i, n_features) array, or the error naming it.

    ``name`` replaces ``X[i]`` in the messages (a live stream's new samples are checked here
    too, as predict checks a sequence); ``allow_empty`` lets 0 timesteps through.
    """
    name = f"X[{i}]" if name is None else name
    if isinstance(x, (str, bytes)) or np.isscalar(x):
        raise TypeError(
            f"{name} is a {type(x).__name__}, not a sequence. "
            + (
                "X must be a list of arrays of shape (T_i, n_features); to label one "
                "sequence, pass [X]."
                if i is not None
                else "Expected an array of shape (n_new, n_features)."
            )
        )
    if isinstance(x, (list, tuple)):
        # Converted here, not inside np.ndim or check_array, so that nested lists of
        # unequal rows get a message naming the sequence, not numpy's "inhomogeneous shape".
        try:
            x = np.asarray(x)
        except ValueError:
            raise ValueError(_ragged_rows_message(x, name)) from None
    if np.ndim(x) == 1:
        x = np.asarray(x).reshape(-1, 1)
    elif np.ndim(x) != 2:
        raise ValueError(
            f"{name} has {np.ndim(x)} dimensions; each sequence must be 2-D "
            "(T_i, n_features) or 1-D (T_i,)."
        )
    # The common case skips check_array's per-call cost (a large share of
    # predict_proba on short sequences, benchmarks/RESULTS.md section 1) with the same
    # result: a float32 view or copy.
    fast = x.astype(np.float32, copy=False) if _is_plain_numeric_matrix(x) else None
    if fast is not None and np.isfinite(fast).all():
        x = fast
    else:  # anything else, and every error, goes through check_array's wording
        if _has_complex_dtype(x):
            raise ValueError(_complex_message(name))
        try:
            x = check_array(
                x,
                dtype=np.float32,
                ensure_all_finite=True,
                ensure_min_samples=0 if allow_empty else 1,
                ensure_min_features=1,
                input_name=name,
            )
        except (ValueError, TypeError) as exc:
            if np.shape(x)[0] == 0:
                raise ValueError(
                    f"{name} is empty (0 timesteps); every sequence needs at least one."
                ) from None
            if _holds_complex_objects(x):
                raise ValueError(_complex_message(name)) from None
            if isinstance(exc, TypeError) or "could not convert" in str(exc):
                # The class sklearn raised: ValueError for strings, TypeError for objects.
                raise type(exc)(
                    f"{name} holds values that are not numbers ({exc}); every feature must "
                    "be numeric. Encode categories as numbers first (e.g. one-hot)."
                ) from None
            raise ValueError(f"{name}: {exc}") from None
    return x


def check_label_sequences(y, *, name: str = "y"):
    """Return label sequences as a list of 1-D arrays.

    Parameters
    ----------
    y : list of array-like of shape (T_i,) or ndarray of shape (n_sequences, T)
        One label per timestep for each sequence.
    name : str
        The argument's name in error messages.

    Returns
    -------
    list of ndarray of shape (T_i,)

    Examples
    --------
    >>> from sk_seqlabel._data.validation import check_label_sequences
    >>> [s.tolist() for s in check_label_sequences([[0, 1], ["a"]])]
    [[0, 1], ['a']]
    """
    if isinstance(y, np.ndarray) and y.ndim == 2:
        return list(y)
    _reject_single_sequence(y, name, "label sequences")
    if not (_is_sequence_container(y) or (isinstance(y, np.ndarray) and y.ndim == 1)):
        raise TypeError(f"Expected a list of label sequences for {name}; got {type(y).__name__}.")
    if len(y) == 0:
        raise ValueError(f"{name} is an empty list; at least one sequence is required.")
    out = []
    for i, yi in enumerate(y):
        try:
            ndim = np.ndim(yi)
        except ValueError:  # nested lists of unequal lengths
            ndim = None
        if isinstance(yi, (str, bytes)) or ndim != 1:
            got = {0: "a scalar", None: "nested lists of unequal lengths"}.get(
                ndim, f"{ndim} dimensions"
            )
            raise ValueError(
                f"{name}[{i}] must be a 1-D sequence of labels; got {got}. "
                "Pass one label array per sequence."
            )
        out.append(np.asarray(yi))
    return out


def check_same_lengths(a, b, names=("y_true", "y_pred"), what=("labels", "labels")):
    """Check two lists of sequences pair up: same count and same length per sequence.

    Parameters
    ----------
    a, b : list of array-like
        Sequences indexed along their first axis.
    names : tuple of str
        Argument names for error messages.
    what : tuple of str
        What one step of each is called in error messages ("labels", "timesteps").
    """
    if len(a) != len(b):
        raise ValueError(
            f"{names[0]} has {len(a)} sequences but {names[1]} has {len(b)}; "
            "they must pair up one to one."
        )
    for i, (ai, bi) in enumerate(zip(a, b, strict=True)):
        if len(ai) != len(bi):
            raise ValueError(
                f"{names[0]}[{i}] has {len(ai)} {what[0]} but {names[1]}[{i}] has "
                f"{len(bi)} {what[1]}."
            )


#: Label kinds that may share one y: numpy concatenates them into numbers (float64), so
#: ``predict`` still returns numbers. Every other pair would turn into strings (int with str)
#: or silently equate values (True with 1), so it is refused.
_NUMERIC_LABEL_KINDS = frozenset({"int", "float"})
_DTYPE_KIND_NAMES = {"b": "bool", "i": "int", "u": "int", "f": "float", "U": "str", "S": "bytes"}


def _label_kind_of_type(t) -> str:
    """The label kind ("bool", "int", "float", "str", "bytes", or the type's name) of a type."""
    if issubclass(t, (bool, np.bool_)):  # before int: bool is an int subclass
        return "bool"
    if issubclass(t, numbers.Integral):  # numpy registers its integer types here
        return "int"
    if issubclass(t, numbers.Real):
        return "float"
    if issubclass(t, str):
        return "str"
    if issubclass(t, bytes):
        return "bytes"
    return t.__name__


def _compatible_label_kinds(a: str, b: str) -> bool:
    return a == b or (a in _NUMERIC_LABEL_KINDS and b in _NUMERIC_LABEL_KINDS)


def _label_kinds(yi, raw, name: str) -> list[str]:
    """The kinds of label in one sequence, after refusing missing and mixed labels in it.

    ``yi`` is the converted array, an object array or one made from ``raw``, a Python list or
    tuple. Their elements are looked at through the few distinct Python types they hold, as
    ``np.asarray`` on a list may already have turned ``[0, "a"]`` into strings or
    ``[True, 2]`` into ints. Typed arrays never come here (their dtype says it all).
    """
    if yi.dtype.kind == "O":
        elements = yi
        missing = pd.isna(yi)
        if missing.any():
            j = int(np.argmax(missing))
            raise ValueError(
                f"{name} has a missing label ({yi[j]!r}) at position {j}; every timestep needs "
                f"a label. Fill it (for example with a class of its own) or drop that timestep "
                f"from both X and y."
            )
    else:  # a Python list or tuple
        elements = raw
    kinds = list(dict.fromkeys(_label_kind_of_type(t) for t in set(map(type, elements))))
    if all(_compatible_label_kinds(k, kinds[0]) for k in kinds):
        return kinds
    # Error path: find the first element whose kind cannot share a sequence with the first's.
    first = _label_kind_of_type(type(elements[0]))
    for j, v in enumerate(elements):
        kind = _label_kind_of_type(type(v))
        if kind == "float" and v != v:  # np.asarray made a str array of [nan, "a"]
            raise ValueError(
                f"{name} has a missing label (nan) at position {j}; every timestep needs a "
                "label. Fill it (for example with a class of its own) or drop that timestep "
                "from both X and y."
            )
        if not _compatible_label_kinds(kind, first):
            raise TypeError(
                f"{name} mixes {first} labels and {kind} labels (the first {kind} is at "
                f"position {j}); use one label type for all sequences."
            )
    raise AssertionError("unreachable: kinds clash but no element does")  # pragma: no cover


def _check_label_types(y_list, raw_list) -> None:
    """Refuse missing labels and labels of different types, naming the sequences."""
    seen: dict[str, int] = {}  # label kind -> first sequence holding it
    for i, (yi, raw) in enumerate(zip(y_list, raw_list, strict=True)):
        if yi.dtype.kind != "O" and not isinstance(raw, (list, tuple)):
            # The common case, a typed array: its dtype says it all (no per-element work).
            kind = _DTYPE_KIND_NAMES.get(yi.dtype.kind) or yi.dtype.name
            if kind in seen:
                continue
            kinds = [kind]
        else:
            kinds = _label_kinds(yi, raw, f"y[{i}]")
        for kind in kinds:
            if kind in seen:
                continue
            clash = next((k for k in seen if not _compatible_label_kinds(k, kind)), None)
            if clash is not None:
                raise TypeError(
                    f"y[{seen[clash]}] holds {clash} labels but y[{i}] holds {kind} labels; "
                    "use one label type for all sequences."
                )
            seen[kind] = i


def check_targets(y, X_list):
    """Validate y against validated X; return the label sequences and all labels pooled.

    Labels must be of one type across all sequences: ints, floats with integral values, bools,
    strings (or another single type). Ints and floats may be mixed, as numpy keeps them
    numbers (float64); any other mix is a ``TypeError``, because numpy would silently turn
    ``0`` and ``"a"`` into the strings ``"0"`` and ``"a"``, and ``True`` and ``1`` into the
    same class. Bools are their own type: ``[True, False]`` in one sequence and ``[1, 0]`` in
    another are refused, and so are both within one object array or Python list. Missing
    labels (None, NaN, ``pd.NA``) are a ``ValueError`` naming the sequence and position.

    Typed numpy arrays are checked by dtype alone, so the cost does not grow with their
    length; object arrays and Python lists are scanned once (their distinct Python types).

    Parameters
    ----------
    y : list of array-like of shape (T_i,) or ndarray of shape (n_sequences, T)
    X_list : list of ndarray of shape (T_i, n_features)
        Output of :func:`check_sequences`.

    Returns
    -------
    y_list : list of ndarray of shape (T_i,)
    pooled : ndarray of shape (sum T_i,)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel._data.validation import check_targets
    >>> X_list = [np.zeros((2, 1)), np.zeros((3, 1))]
    >>> check_targets([[0, 1], [1, 1, 0]], X_list)[1]
    array([0, 1, 1, 1, 0])
    >>> check_targets([[0, 1], ["a", "b", "a"]], X_list)
    Traceback (most recent call last):
    ...
    TypeError: y[0] holds int labels but y[1] holds str labels; use one label type for all \
sequences.
    """
    y_list = check_label_sequences(y, name="y")
    sized = [range(n) for n in X_list.lengths] if hasattr(X_list, "lengths") else X_list
    check_same_lengths(y_list, sized, names=("y", "X"), what=("labels", "timesteps"))
    # The user's own elements, where np.asarray may have hidden a mix of types.
    raw_list = y_list if isinstance(y, np.ndarray) and y.ndim == 2 else y
    _check_label_types(y_list, raw_list)
    pooled = np.concatenate(y_list)
    if pooled.dtype.kind == "f" and not np.all(np.isfinite(pooled)):
        bad = next(i for i, yi in enumerate(y_list) if not np.all(np.isfinite(yi)))
        j = int(np.argmin(np.isfinite(y_list[bad])))
        raise ValueError(
            f"y[{bad}] contains NaN or infinity (at position {j}); labels must be finite."
        )
    if pooled.dtype.kind == "f" and not np.all(pooled == np.round(pooled)):
        bad = next(i for i, yi in enumerate(y_list) if not np.all(yi == np.round(yi)))
        j = int(np.argmax(y_list[bad] != np.round(y_list[bad])))
        # scikit-learn's words first ("Unknown label type: continuous"), then where.
        raise ValueError(
            f"Unknown label type: continuous. y[{bad}] holds the non-integral label "
            f"{y_list[bad][j].item()!r} at position {j}; a labeler needs discrete classes "
            "(ints, strings, bools, or floats with integral values)."
        )
    check_classification_targets(pooled)
    return y_list, pooled


def _names_repr(names, limit: int = 10) -> str:
    """A list of column names for an error message, shortened when long."""
    names = [str(n) for n in names]
    if len(names) <= limit:
        return repr(names)
    head = ", ".join(map(repr, names[: limit - 2]))
    return f"[{head}, ..., {names[-1]!r}] ({len(names)} columns)"


def sequence_feature_names(X):
    """Column names shared by the sequences of X, as scikit-learn reads them from a DataFrame.

    Read from the raw X, before :func:`check_sequences` converts it, and never converted
    itself. Following scikit-learn (``sklearn.utils.validation._get_feature_names``), a
    DataFrame has feature names when all its column names are strings; one whose names are
    all non-strings (such as the default 0, 1, ...) has none; a mix of both is a ``TypeError``.

    Every sequence of X must then agree: either all have the same names in the same order, or
    none has names. A named DataFrame next to an array (or a DataFrame without string names)
    is a ``ValueError``, because the unnamed sequence's columns could not be checked against
    the names and might be in another order.

    Parameters
    ----------
    X : list of array-like of shape (T_i, n_features), or ndarray of shape \
(n_sequences, T, n_features)
        The sequences as the user passed them. Anything that is not a list of sequences (a 3-D
        array, or input :func:`check_sequences` refuses) has no names.

    Returns
    -------
    feature_names : ndarray of shape (n_features,), dtype object, or None
        The string column names, or None when the sequences have none.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sk_seqlabel._data.validation import sequence_feature_names
    >>> X = [pd.DataFrame({"acc": [0.1, 0.2], "gyro": [1.0, 2.0]}),
    ...      pd.DataFrame({"acc": [0.3], "gyro": [3.0]})]
    >>> sequence_feature_names(X)
    array(['acc', 'gyro'], dtype=object)
    >>> sequence_feature_names([np.zeros((2, 2))]) is None
    True
    >>> sequence_feature_names([X[0], X[1][["gyro", "acc"]]])
    Traceback (most recent call last):
    ...
    ValueError: X[1] has columns ['gyro', 'acc'] but X[0] has ['acc', 'gyro']; every DataFrame \
in X must have the same columns in the same order. Reorder it with X[1][X[0].columns].
    """
    if not (_is_sequence_container(X) or (isinstance(X, np.ndarray) and X.ndim == 1)):
        return None
    names, named_at, unnamed_at = None, None, None
    for i, x in enumerate(X):
        # Plain arrays and lists are by far the common case: skip them without a lookup.
        if type(x) is np.ndarray or isinstance(x, (list, tuple)):
            x_names = None
        else:
            try:
                x_names = _get_feature_names(x)
            except TypeError:
                types = sorted({type(c).__name__ for c in x.columns})
                raise TypeError(
                    f"X[{i}] has column names of types {types}; feature names must all be "
                    f"strings. Convert them with X[{i}].columns = X[{i}].columns.astype(str), "
                    "or make them all non-strings to pass no names."
                ) from None
        if x_names is None:
            unnamed_at = i if unnamed_at is None else unnamed_at
        elif names is None:
            names, named_at = x_names, i
        elif len(x_names) != len(names) or np.any(x_names != names):
            hint = (
                f" Reorder it with X[{i}][X[{named_at}].columns]."
                if sorted(x_names) == sorted(names)
                else ""
            )
            raise ValueError(
                f"X[{i}] has columns {_names_repr(x_names)} but X[{named_at}] has "
                f"{_names_repr(names)}; every DataFrame in X must have the same columns in the "
                f"same order.{hint}"
            )
        if names is not None and unnamed_at is not None:
            raise ValueError(
                f"X[{named_at}] has column names but X[{unnamed_at}] "
                f"({type(X[unnamed_at]).__name__}) has no string column names; pass every "
                "sequence as a DataFrame with the same string column names, or none with names."
            )
    return names


def check_feature_names(fitted_names, names, estimator_name: str = "the estimator") -> None:
    """Check the feature names of X against those seen in ``fit``, as scikit-learn does.

    Different or reordered names are a ``ValueError``: columns in another order would
    otherwise be silently fed to the wrong weights. Names on one side only is a
    ``UserWarning`` (as in scikit-learn), since arrays carry no order that could be checked.

    Parameters
    ----------
    fitted_names : ndarray of shape (n_features,) or None
        ``feature_names_in_`` of the fitted estimator, or None when it was fitted without.
    names : ndarray of shape (n_features,) or None
        :func:`sequence_feature_names` of the X now passed.
    estimator_name : str
        Used in messages.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel._data.validation import check_feature_names
    >>> fitted = np.array(["a", "b"], dtype=object)
    >>> check_feature_names(fitted, np.array(["a", "b"], dtype=object), "TCNLabeler")
    >>> check_feature_names(fitted, np.array(["b", "a"], dtype=object), "TCNLabeler")
    Traceback (most recent call last):
    ...
    ValueError: X's columns are ['b', 'a'] but TCNLabeler was fitted with ['a', 'b']; pass the \
columns in the fitted order.
    """
    if fitted_names is None and names is None:
        return
    if names is None:
        warnings.warn(
            f"X does not have valid feature names, but {estimator_name} was fitted with "
            f"feature names {_names_repr(fitted_names)}; their order cannot be checked.",
            UserWarning,
            stacklevel=4,
        )
        return
    if fitted_names is None:
        warnings.warn(
            f"X has feature names, but {estimator_name} was fitted without feature names.",
            UserWarning,
            stacklevel=4,
        )
        return
    if len(names) == len(fitted_names) and np.all(names == fitted_names):
        return
    message = (
        f"X's columns are {_names_repr(names)} but {estimator_name} was fitted with "
        f"{_names_repr(fitted_names)}"
    )
    fitted_set, names_set = set(fitted_names), set(names)
    unseen = [n for n in names if n not in fitted_set]
    missing = [n for n in fitted_names if n not in names_set]
    if unseen or missing or len(names) != len(fitted_names):
        details = [f"not seen in fit: {_names_repr(unseen)}"] * bool(unseen)
        details += [f"missing: {_names_repr(missing)}"] * bool(missing)
        in_brackets = f" ({'; '.join(details)})" if details else ""
        raise ValueError(
            f"{message}{in_brackets}; pass the columns {estimator_name} was fitted with, in "
            "the fitted order."
        )
    j = int(np.argmax(names != fitted_names))
    first = ""
    if len(names) > 10:  # the lists above are shortened: say where they differ
        first = f", and column {j} is {str(names[j])!r} where {str(fitted_names[j])!r} was fitted"
    raise ValueError(f"{message}{first}; pass the columns in the fitted order.")


def check_class_weight(class_weight, classes, y=None):
    """Check ``class_weight`` against the classes seen in fit; return one weight per class.

    scikit-learn's :func:`~sklearn.utils.class_weight.compute_class_weight` reports a key that
    is not a class as "The classes, [...], are not in class_weight" (naming the classes left
    *out*), and looks string classes that read as integers up by ``int`` keys ("0" by 0).
    Here a key must equal a class (``1`` matches ``1.0`` and ``True``, as in a dict), and a
    key that matches none is named.

    Parameters
    ----------
    class_weight : dict, "balanced" or None
        The estimator's parameter: a weight per class (classes left out weigh 1), "balanced"
        for ``n_samples / (n_classes * np.bincount(y))``, or None for no weighting.
    classes : ndarray of shape (n_classes,)
        The sorted classes seen in fit (``classes_``).
    y : ndarray of shape (n_samples,), optional
        All training labels pooled; needed for "balanced" only.

    Returns
    -------
    weights : ndarray of shape (n_classes,), dtype float64, or None
        The weight of each class in ``classes`` order; None when ``class_weight`` is None.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel._data.validation import check_class_weight
    >>> classes = np.array(["run", "sit", "walk"])
    >>> check_class_weight({"sit": 3.0}, classes)
    array([1., 3., 1.])
    >>> check_class_weight({"sit": 3.0, "jump": 2.0}, classes)
    Traceback (most recent call last):
    ...
    ValueError: class_weight has a key that is not a class: ['jump']; the classes seen in fit \
are ['run', 'sit', 'walk']. Use those labels as keys.
    """
    if class_weight is None:
        return None
    classes = np.asarray(classes)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(
                f"class_weight={class_weight!r} is not supported; use 'balanced', a dict or None."
            )
        if y is None:
            raise ValueError('class_weight="balanced" needs the training labels y.')
        return compute_class_weight("balanced", classes=classes, y=y).astype(np.float64)
    known = classes.tolist()  # Python scalars: equal keys hash alike (1, 1.0, np.int64(1))
    known_set = set(known)
    unknown = [k.item() if isinstance(k, np.generic) else k for k in class_weight]
    unknown = [k for k in unknown if k not in known_set]
    if unknown:
        keys = "a key that is not a class" if len(unknown) == 1 else "keys that are not classes"
        raise ValueError(
            f"class_weight has {keys}: {_names_repr_raw(unknown)}; the classes seen in fit are "
            f"{_names_repr_raw(known)}. Use those labels as keys."
        )
    weights = np.ones(len(known), dtype=np.float64)
    for j, c in enumerate(known):
        if c in class_weight:
            w = class_weight[c]
            if (
                isinstance(w, (bool, np.bool_))
                or not isinstance(w, numbers.Real)
                or not np.isfinite(w)
                or w < 0
            ):
                raise ValueError(
                    f"class_weight[{c!r}] is {w!r}; weights must be finite numbers >= 0."
                )
            weights[j] = w
    return weights


def _names_repr_raw(values, limit: int = 10) -> str:
    """Like :func:`_names_repr`, but keeping each value's repr (0 and '0' stay apart)."""
    values = list(values)
    if len(values) <= limit:
        return repr(values)
    head = ", ".join(map(repr, values[: limit - 2]))
    return f"[{head}, ..., {values[-1]!r}] ({len(values)} classes)"


def check_sample_weight(sample_weight, lengths):
    """Per-timestep loss weights from one weight per sequence or one per timestep.

    Parameters
    ----------
    sample_weight : None, array-like of shape (n_sequences,), or list of array-like of shape \
(T_i,)
        One non-negative weight per sequence (every timestep of it gets it), or one per
        timestep.
    lengths : sequence of int
        The sequences' lengths.

    Returns
    -------
    list of ndarray of shape (T_i,), float32, or None

    Examples
    --------
    >>> from sk_seqlabel._data.validation import check_sample_weight
    >>> [w.tolist() for w in check_sample_weight([2, 0.5], [3, 1])]
    [[2.0, 2.0, 2.0], [0.5]]
    >>> check_sample_weight([1.0], [3, 1])
    Traceback (most recent call last):
    ...
    ValueError: sample_weight has 1 entries but X has 2 sequences; give one weight per ...
    """
    if sample_weight is None:
        return None
    # Iterating a dict (or set) gives its keys: {0: 1.0, 1: 1.0} would weigh sequence i by i.
    if isinstance(sample_weight, (str, bytes, Mapping, Set)) or np.isscalar(sample_weight):
        raise TypeError(
            "sample_weight must be one weight per sequence or one array of weights per "
            f"sequence, in X's order (a list or array); got {type(sample_weight).__name__}."
            + (
                " For weights by sequence index, pass [weights[i] for i in range(len(X))]."
                if isinstance(sample_weight, Mapping)
                else ""
            )
        )
    if len(sample_weight) != len(lengths):
        raise ValueError(
            f"sample_weight has {len(sample_weight)} entries but X has {len(lengths)} "
            "sequences; give one weight per sequence, or one array of weights per sequence."
        )
    out = []
    for i, (w, n) in enumerate(zip(sample_weight, lengths, strict=True)):
        try:
            w = np.asarray(w, dtype=np.float32)
        except (TypeError, ValueError):
            raise ValueError(
                f"sample_weight[{i}] is not a number or an array of numbers."
            ) from None
        if w.ndim == 0:
            w = np.full(n, w, dtype=np.float32)
        elif w.ndim != 1 or len(w) != n:
            raise ValueError(
                f"sample_weight[{i}] has {w.size} weights but X[{i}] has {n} timesteps; give "
                "one weight per sequence or one per timestep."
            )
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError(f"sample_weight[{i}] has negative, NaN or infinite weights.")
        out.append(w)
    if not any(w.any() for w in out):
        raise ValueError("sample_weight is zero everywhere; at least one timestep must count.")
    return out


def check_groups(groups, n_sequences):
    """One group label per sequence, as an array (or None).

    Examples
    --------
    >>> from sk_seqlabel._data.validation import check_groups
    >>> check_groups(["ann", "bob", "ann"], 3).tolist()
    ['ann', 'bob', 'ann']
    """
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.ndim != 1 or len(groups) != n_sequences:
        raise ValueError(
            f"groups must hold one label per sequence: X has {n_sequences} sequences, groups "
            f"has shape {groups.shape}."
        )
    return groups
