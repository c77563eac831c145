"""Metrics over lists of per-timestep sequences, and scorers for model selection.

Every metric takes ``y_true`` and ``y_pred`` as lists of per-timestep arrays, one per
recording (variable lengths), or as one array with the recordings along the first axis.

**One label per step** (1-D label arrays), each on the scale 0..1 (higher is better):

- :func:`timestep_accuracy_score`: the fraction of correctly labelled timesteps, pooled over all
  sequences. Blind to *how* errors are spread: a few flickering timesteps cost little.
- :func:`segment_f1_score`: F1@k of action segmentation (Lea et al. 2017; Farha & Gall 2019,
  MS-TCN): predicted segments matched to ground-truth segments by intersection over union.
- :func:`edit_score`: segmental edit score, one minus the normalised Levenshtein distance between
  the orders of segment labels. Punishes over-segmentation, ignores segment durations.

A segment is a maximal run of equal labels.

**Values per step** ((T_i,) or (T_i, n_targets) float arrays): :func:`r2_score`,
:func:`mean_squared_error` and :func:`mean_absolute_error`, scikit-learn's functions on the
steps of all sequences concatenated.

**Several binary labels per step** ((T_i, n_labels) 0/1 arrays, as in sound event detection):
:func:`segment_based_f1_score`, :func:`segment_based_error_rate`, :func:`event_based_f1_score`
and :func:`event_based_error_rate`, as DCASE defines them (Mesaros, Heittola & Virtanen 2016)
and ``sed_eval`` computes them, with lengths and collars in timesteps.

**Steps without a label** are skipped: NaN (and None in object labels) always, and the value
given as ``missing_label=`` (e.g. ``-1``, scikit-learn's semi-supervised marker) when one is
given; NaN in regression targets. A :class:`SkippedTimestepsWarning` says how many were skipped.

The scorers call the estimator's ``predict`` and can be passed as ``scoring=`` to
``GridSearchCV`` or ``cross_val_score``: ``timestep_accuracy_scorer``, ``segment_f1_scorer``
(``overlap=0.5``), ``edit_scorer``, ``r2_scorer``, ``neg_mean_squared_error_scorer``,
``neg_mean_absolute_error_scorer``, ``segment_based_f1_scorer``, ``event_based_f1_scorer``,
``neg_segment_based_error_rate_scorer`` and ``neg_event_based_error_rate_scorer`` (losses
negated, scikit-learn's convention). For other settings, build a scorer the usual way:
``make_scorer(segment_f1_score, overlap=0.25)``.

Examples
--------
>>> from sk_seqlabel.metrics import edit_scorer, segment_f1_scorer
>>> segment_f1_scorer
make_scorer(segment_f1_score, response_method='predict', overlap=0.5)
>>> edit_scorer
make_scorer(edit_score, response_method='predict')
>>> from sklearn.metrics import make_scorer
>>> from sk_seqlabel.metrics import event_based_f1_score
>>> make_scorer(event_based_f1_score, collar=5, offset=True)  # 5 steps, offsets too
make_scorer(event_based_f1_score, response_method='predict', collar=5, offset=True)
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching
from sklearn import metrics as _sk_metrics
from sklearn.metrics import make_scorer
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._data.validation import check_label_sequences, check_same_lengths, check_sample_weight

__all__ = [
    "SkippedTimestepsWarning",
    "edit_score",
    "edit_scorer",
    "event_based_error_rate",
    "event_based_f1_score",
    "event_based_f1_scorer",
    "mean_absolute_error",
    "mean_squared_error",
    "neg_event_based_error_rate_scorer",
    "neg_mean_absolute_error_scorer",
    "neg_mean_squared_error_scorer",
    "neg_segment_based_error_rate_scorer",
    "r2_score",
    "r2_scorer",
    "segment_based_error_rate",
    "segment_based_f1_score",
    "segment_based_f1_scorer",
    "segment_f1_score",
    "segment_f1_scorer",
    "timestep_accuracy_score",
    "timestep_accuracy_scorer",
]

_TEXT_KINDS = frozenset("US")
_NUMBER_KINDS = frozenset("biuf")


class SkippedTimestepsWarning(UserWarning):
    """Warned once per metric call that left out timesteps without a true label or target.

    The message says how many steps (or, for multi-label and multi-target ``y``, entries) were
    skipped and of how many. Filter it like any warning:
    ``warnings.filterwarnings("ignore", category=SkippedTimestepsWarning)``.

    Examples
    --------
    >>> import warnings
    >>> from sk_seqlabel.metrics import SkippedTimestepsWarning, timestep_accuracy_score
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     score = timestep_accuracy_score([[0.0, float("nan"), 1.0]], [[0, 1, 1]])
    >>> score, caught[0].category is SkippedTimestepsWarning
    (1.0, True)
    >>> print(caught[0].message)
    timestep_accuracy_score skipped 1 of 3 timesteps whose true label is missing.
    """


def _warn_skipped(
    metric, n_skipped, n_total, *, what="timesteps", why="true label is missing", stacklevel=4
):
    """Warn that ``metric`` skipped ``n_skipped`` of ``n_total``; ``stacklevel`` is counted
    from here to the metric's caller (5 through ``validate_params``)."""
    if n_skipped:
        warnings.warn(
            f"{metric} skipped {n_skipped} of {n_total} {what} whose {why}.",
            SkippedTimestepsWarning,
            stacklevel=stacklevel,
        )


def _is_nan_scalar(value):
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _labelled_mask(y, missing_label=None):
    """Mask of the entries of ``y`` that hold a label (True) rather than the missing marker.

    NaN (in float arrays) and None or NaN (in object arrays) are always missing; so are the
    entries equal to ``missing_label`` when one is given. A marker of another kind than the
    labels (a string among numbers) marks nothing.
    """
    y = np.asarray(y)
    if y.dtype.kind == "f":
        mask = ~np.isnan(y)
    elif y.dtype.kind == "O":
        flat = y.ravel().tolist()
        mask = np.fromiter(
            (not (v is None or _is_nan_scalar(v)) for v in flat), dtype=bool, count=len(flat)
        ).reshape(y.shape)
    else:
        mask = np.ones(y.shape, dtype=bool)
    if missing_label is None or _is_nan_scalar(missing_label):
        return mask
    if y.dtype.kind == "O":
        flat = y.ravel().tolist()
        return mask & np.fromiter(
            (v != missing_label for v in flat), dtype=bool, count=len(flat)
        ).reshape(y.shape)
    marker_is_text = isinstance(missing_label, (str, bytes))
    if marker_is_text != (y.dtype.kind in _TEXT_KINDS):
        return mask
    return mask & (y != missing_label)


# --- regression: values per timestep ---------------------------------------------------------


def _target_sequences(y, name):
    """``y`` as a list of float64 (T_i, n_targets) arrays (a (T_i,) sequence has 1 target)."""
    if isinstance(y, np.ndarray) and y.ndim in (2, 3):
        y = list(y)
    if isinstance(y, (str, bytes)) or not isinstance(y, (list, tuple, np.ndarray)):
        raise TypeError(
            f"Expected a list of target sequences for {name}; got {type(y).__name__}. "
            "Pass one array of shape (T_i,) or (T_i, n_targets) per sequence."
        )
    if len(y) == 0:
        raise ValueError(f"{name} is an empty list; at least one sequence is required.")
    out = []
    for i, yi in enumerate(y):
        try:
            yi = np.asarray(yi, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name}[{i}] holds values that are not numbers (or rows of unequal lengths); "
                "targets must be numeric arrays of shape (T_i,) or (T_i, n_targets)."
            ) from None
        if yi.ndim not in (1, 2):
            raise ValueError(
                f"{name}[{i}] has {yi.ndim} dimensions; each sequence of targets must be "
                "(T_i,) or (T_i, n_targets)."
            )
        out.append(yi.reshape(len(yi), -1))
        if out[i].shape[1] != out[0].shape[1]:
            raise ValueError(
                f"{name}[{i}] has {out[i].shape[1]} targets but {name}[0] has "
                f"{out[0].shape[1]}; every sequence needs the same targets."
            )
    return out


def _check_target_pairs(y_true, y_pred, sample_weight):
    """Validate targets, predictions and weights; return them pooled over all timesteps.

    Returns ``(y_true, y_pred, weights)``: (n_steps, n_targets) float64 arrays, NaN where
    ``y_true`` has no target, and (n_steps,) weights or None.
    """
    y_true = _target_sequences(y_true, "y_true")
    y_pred = _target_sequences(y_pred, "y_pred")
    check_same_lengths(y_true, y_pred, what=("timesteps", "timesteps"))
    if y_true[0].shape[1] != y_pred[0].shape[1]:
        raise ValueError(
            f"y_true has {y_true[0].shape[1]} targets per timestep but y_pred has "
            f"{y_pred[0].shape[1]}."
        )
    for i, (yt, yp) in enumerate(zip(y_true, y_pred, strict=True)):
        if np.isinf(yt).any():
            raise ValueError(f"y_true[{i}] holds infinite values; a step without a target is NaN.")
        if not np.isfinite(yp).all():
            raise ValueError(
                f"y_pred[{i}] holds NaN or infinite values; every prediction must be finite."
            )
    lengths = [len(yt) for yt in y_true]
    if sum(lengths) == 0:
        raise ValueError("All sequences are empty; the metric needs at least one timestep.")
    weights = check_sample_weight(sample_weight, lengths)
    if weights is not None:
        weights = np.concatenate(weights).astype(np.float64)
    return np.concatenate(y_true), np.concatenate(y_pred), weights


def _pooled_regression_metric(metric, name, y_true, y_pred, sample_weight, multioutput):
    """Call scikit-learn's ``metric`` on the pooled steps, each target on its labelled steps.

    Without a missing target this is one call of ``metric`` on all steps. With missing
    targets, each target column is scored on its own labelled steps (``raw_values``) and the
    columns are combined as ``multioutput`` asks, as scikit-learn combines them.
    """
    y_true, y_pred, weights = _check_target_pairs(y_true, y_pred, sample_weight)
    labelled = ~np.isnan(y_true)
    _warn_skipped(
        name,
        int(labelled.size - labelled.sum()),
        labelled.size,
        what="target values" if y_true.shape[1] > 1 else "timesteps",
        why="true target is NaN",
        stacklevel=5,
    )
    if labelled.all():
        return metric(y_true, y_pred, sample_weight=weights, multioutput=multioutput)
    empty = np.flatnonzero(~labelled.any(axis=0))
    if empty.size:
        raise ValueError(
            f"Target {int(empty[0])} of y_true is NaN at every timestep; it has nothing to score."
        )
    raw = np.array(
        [
            metric(
                y_true[rows, j],
                y_pred[rows, j],
                sample_weight=None if weights is None else weights[rows],
            )
            for j, rows in enumerate(labelled.T)
        ]
    )
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return raw
        if multioutput == "uniform_average":
            return float(raw.mean())
        # variance_weighted: each column weighs by its (weighted) total sum of squares, the
        # denominator of its R², as scikit-learn weighs complete columns.
        column_weights = []
        for j, rows in enumerate(labelled.T):
            w = np.ones(rows.sum()) if weights is None else weights[rows]
            values = y_true[rows, j]
            column_weights.append(np.sum(w * (values - np.average(values, weights=w)) ** 2))
        return float(np.average(raw, weights=column_weights))
    multioutput = np.asarray(multioutput, dtype=np.float64)
    if multioutput.shape != raw.shape:
        raise ValueError(
            f"multioutput has {multioutput.size} weights but y_true has {raw.size} targets."
        )
    return float(np.average(raw, weights=multioutput))


def _check_label_pairs(y_true, y_pred, missing_label=None, metric=None):
    """Validate both label lists; return them as lists of 1-D arrays that pair up.

    With ``metric`` (its name, for the warning), the steps whose true label is missing are
    removed from both sides, and a :class:`SkippedTimestepsWarning` says how many; sequences
    that had steps but none labelled are dropped from both lists.
    """
    y_true = check_label_sequences(y_true, name="y_true")
    y_pred = check_label_sequences(y_pred, name="y_pred")
    check_same_lengths(y_true, y_pred, names=("y_true", "y_pred"))
    if metric is not None:
        labelled = [_labelled_mask(yt, missing_label) for yt in y_true]
        n_total = sum(mask.size for mask in labelled)
        n_skipped = n_total - sum(int(mask.sum()) for mask in labelled)
        _warn_skipped(metric, n_skipped, n_total)
        if n_skipped:
            kept = [i for i, mask in enumerate(labelled) if mask.any() or mask.size == 0]
            y_true = [y_true[i][labelled[i]] for i in kept]
            y_pred = [y_pred[i][labelled[i]] for i in kept]
    # Comparing strings with numbers is silently all-False in numpy; say so instead.
    kinds_true = {yi.dtype.kind for yi in y_true}
    kinds_pred = {yi.dtype.kind for yi in y_pred}
    if (kinds_true and kinds_pred) and (
        (kinds_true <= _TEXT_KINDS and kinds_pred <= _NUMBER_KINDS)
        or (kinds_true <= _NUMBER_KINDS and kinds_pred <= _TEXT_KINDS)
    ):
        true_kind = "strings" if kinds_true <= _TEXT_KINDS else "numbers"
        pred_kind = "strings" if kinds_pred <= _TEXT_KINDS else "numbers"
        raise TypeError(
            f"y_true holds {true_kind} but y_pred holds {pred_kind}; labels must be of the "
            "same type. Pass predictions in the original labels (as `predict` returns them)."
        )
    return y_true, y_pred


def _segments(labels):
    """Split one label sequence into maximal runs of equal labels.

    Parameters
    ----------
    labels : ndarray of shape (T,)

    Returns
    -------
    seg_labels : ndarray of shape (n_segments,)
        The label of each run, with the dtype of ``labels``.
    starts, ends : ndarray of shape (n_segments,), dtype int
        Run ``k`` covers timesteps ``starts[k]`` to ``ends[k] - 1``. Empty for ``T == 0``.
    """
    labels = np.asarray(labels)
    # `!=` rather than np.diff, which is undefined for strings.
    changes = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    if labels.size == 0:
        starts = np.zeros(0, dtype=np.intp)
    else:
        starts = np.concatenate(([0], changes))
    ends = np.concatenate((changes, [labels.size])) if labels.size else starts.copy()
    return labels[starts], starts, ends


def _background_set(background):
    """Return the background labels as a set; one label or a collection of labels."""
    if background is None:
        return frozenset()
    if isinstance(background, np.ndarray):
        return frozenset(background.tolist())
    if isinstance(background, (list, tuple, set, frozenset)):
        return frozenset(background)
    return frozenset([background])


def _is_background(seg_labels, background):
    """Mask of the segments whose label is a background label."""
    if not background:
        return np.zeros(len(seg_labels), dtype=bool)
    return np.fromiter(
        (label in background for label in seg_labels.tolist()), dtype=bool, count=len(seg_labels)
    )


def _segment_matches(y_true, y_pred, overlap, background):
    """Return (tp, fp, fn) of segment matching for one pair of sequences, as MS-TCN counts them.

    Each foreground predicted segment takes the ground-truth segment of the same label with the
    highest IoU (the earliest on ties); it is a true positive if that IoU is >= ``overlap`` and
    no earlier predicted segment took the same ground-truth segment. Since a match needs a
    positive IoU, only overlapping pairs of segments are compared, which keeps the cost linear
    in the number of segments instead of their product.
    """
    t_lab, t_start, t_end = _segments(y_true)
    p_lab, p_start, p_end = _segments(y_pred)
    p_fg = ~_is_background(p_lab, background)
    n_true = int(np.count_nonzero(~_is_background(t_lab, background)))
    n_pred = int(np.count_nonzero(p_fg))

    # Cut the time axis at every segment start of either sequence: each piece lies in exactly
    # one predicted and one true segment, and each overlapping pair owns exactly one piece.
    cuts = np.union1d(t_start, p_start)
    ti = np.searchsorted(t_start, cuts, side="right") - 1
    pi = np.searchsorted(p_start, cuts, side="right") - 1
    same = (p_lab[pi] == t_lab[ti]) & p_fg[pi]
    ti, pi = ti[same], pi[same]
    if pi.size == 0:
        return 0, n_pred, n_true
    inter = np.minimum(p_end[pi], t_end[ti]) - np.maximum(p_start[pi], t_start[ti])
    union = np.maximum(p_end[pi], t_end[ti]) - np.minimum(p_start[pi], t_start[ti])
    iou = inter / union

    # Best partner of each predicted segment: highest IoU, then the earliest true segment.
    order = np.lexsort((ti, -iou, pi))
    pi, ti, iou = pi[order], ti[order], iou[order]
    first = np.ones(pi.size, dtype=bool)
    first[1:] = pi[1:] != pi[:-1]
    best_t, best_iou = ti[first], iou[first]
    # Several predicted segments may pick the same true segment; only one of them counts.
    tp = np.unique(best_t[best_iou >= overlap]).size
    return tp, n_pred - tp, n_true - tp


def _levenshtein(a, b):
    """Levenshtein distance between two 1-D label arrays (unit insert/delete/substitute costs).

    Written here because none of our dependencies computes it over arbitrary label arrays (the
    maintained packages work on strings). One row of the dynamic programme at a time, vectorised:
    ``D[i, j] = min(D[i-1, j] + 1, D[i-1, j-1] + cost, D[i, j-1] + 1)``; the last term chains
    along the row, and ``min_k (tmp[k] + j - k)`` resolves that chain with a cumulative minimum.
    """
    if len(a) > len(b):  # the distance is symmetric; keep the Python loop the short one
        a, b = b, a
    offsets = np.arange(len(b) + 1)
    row = offsets.copy()
    for i, label in enumerate(a.tolist(), start=1):
        tmp = np.empty(len(b) + 1, dtype=np.intp)
        tmp[0] = i
        np.minimum(row[1:] + 1, row[:-1] + (b != label), out=tmp[1:])
        row = np.minimum.accumulate(tmp - offsets) + offsets
    return int(row[-1])


def timestep_accuracy_score(y_true, y_pred, *, missing_label=None):
    """Fraction of correctly labelled timesteps, pooled over all sequences.

    Every timestep counts once, so long sequences weigh more than short ones: this is *not*
    the mean of per-sequence accuracies. Equals ``score`` of the labelers.

    Parameters
    ----------
    y_true : list of array-like of shape (T_i,) or ndarray of shape (n_sequences, T)
        Ground-truth labels, one per timestep (ints, strings, bools, ...).
    y_pred : list of array-like of shape (T_i,) or ndarray of shape (n_sequences, T)
        Predicted labels, same number of sequences and same lengths as ``y_true``.
    missing_label : scalar, default=None
        Marks the steps of ``y_true`` without a label, besides NaN and None (which always
        do): for example ``-1``, scikit-learn's semi-supervised marker. Such steps are
        skipped (neither right nor wrong), and a :class:`SkippedTimestepsWarning` says how many.

    Returns
    -------
    score : float
        Between 0 and 1; 1 means every labelled timestep is labelled correctly.

    Raises
    ------
    ValueError
        If the sequences do not pair up (naming the first sequence that does not), or if
        there are no timesteps at all.

    See Also
    --------
    segment_f1_score : Compares segments rather than timesteps.
    edit_score : Compares the order of segments.

    Examples
    --------
    >>> from sk_seqlabel.metrics import timestep_accuracy_score
    >>> y_true = [[0, 0, 1, 1], [2, 2]]
    >>> y_pred = [[0, 1, 1, 1], [2, 2]]
    >>> timestep_accuracy_score(y_true, y_pred)  # 5 of 6 timesteps
    0.833
    """
    y_true, y_pred = _check_label_pairs(
        y_true, y_pred, missing_label, metric="timestep_accuracy_score"
    )
    n_timesteps = sum(len(yt) for yt in y_true)
    if n_timesteps == 0:
        raise ValueError(
            "All sequences are empty or unlabelled; accuracy needs at least one timestep "
            "with a label."
        )
    n_correct = sum(int(np.count_nonzero(yt == yp)) for yt, yp in zip(y_true, y_pred, strict=True))
    return n_correct / n_timesteps


def segment_f1_score(y_true, y_pred, *, overlap=0.5, background=None, missing_label=None):
    """Segmental F1 score at an IoU threshold (F1@k of action segmentation).

    A segment is a maximal run of equal labels. Each predicted segment is compared with the
    ground-truth segment of the same label that it overlaps most (intersection over union,
    IoU): it is a true positive if that IoU is at least ``overlap`` and that ground-truth
    segment has not been matched by an earlier predicted segment, otherwise a false positive.
    Unmatched ground-truth segments are false negatives. True/false positives and false
    negatives are summed over all sequences before precision and recall are computed, as in
    the evaluation code of MS-TCN (Farha & Gall, CVPR 2019), which reports ``100 * F1``.

    Parameters
    ----------
    y_true : list of array-like of shape (T_i,) or ndarray of shape (n_sequences, T)
        Ground-truth labels, one per timestep (ints, strings, bools, ...).
    y_pred : list of array-like of shape (T_i,) or ndarray of shape (n_sequences, T)
        Predicted labels, same number of sequences and same lengths as ``y_true``.
    overlap : float, default=0.5
        The IoU threshold ``k`` in ``(0, 1]``; common choices are 0.1, 0.25 and 0.5.
    background : label or list of labels, default=None
        Labels that do not form segments (MS-TCN's ``bg_class``): segments of these labels are
        neither predicted nor missed. A background run splits the runs around it.
    missing_label : scalar, default=None
        Marks the steps of ``y_true`` without a label, besides NaN and None (which always
        do): for example ``-1``, scikit-learn's semi-supervised marker. Such steps are
        skipped: removed from both sequences before segments are formed, so a gap in the
        labels does not split the segment around it. A :class:`SkippedTimestepsWarning`
        says how many.

    Returns
    -------
    score : float
        Between 0 and 1; ``2 * precision * recall / (precision + recall)``, and 0 when there
        is no true positive.

    Raises
    ------
    ValueError
        If ``overlap`` is outside ``(0, 1]`` or the sequences do not pair up.

    See Also
    --------
    edit_score : Compares the order of segments, ignoring their durations.
    timestep_accuracy_score : Compares timesteps.

    Examples
    --------
    >>> from sk_seqlabel.metrics import segment_f1_score
    >>> y_true = [[0, 0, 0, 0, 1, 1, 1, 1]]
    >>> y_pred = [[0, 0, 0, 1, 1, 1, 1, 1]]
    >>> segment_f1_score(y_true, y_pred)  # IoUs 3/4 and 4/5: both match
    1.0
    >>> segment_f1_score(y_true, y_pred, overlap=0.8)  # only the second one does
    0.5

    The overlap reaches ``make_scorer`` unchanged, so a scorer for F1@0.25 is:

    >>> from sklearn.metrics import make_scorer
    >>> make_scorer(segment_f1_score, overlap=0.25)
    make_scorer(segment_f1_score, response_method='predict', overlap=0.25)
    """
    if isinstance(overlap, bool) or not (
        isinstance(overlap, (int, float, np.number)) and 0 < overlap <= 1
    ):
        raise ValueError(
            f"overlap must be a number in (0, 1], the IoU a segment needs to count as "
            f"found; got {overlap!r}."
        )
    y_true, y_pred = _check_label_pairs(y_true, y_pred, missing_label, metric="segment_f1_score")
    background = _background_set(background)
    tp = fp = fn = 0
    for yt, yp in zip(y_true, y_pred, strict=True):
        tp_i, fp_i, fn_i = _segment_matches(yt, yp, overlap, background)
        tp, fp, fn = tp + tp_i, fp + fp_i, fn + fn_i
    if tp == 0:
        return 0.0
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    return float(2 * precision * recall / (precision + recall))


def edit_score(y_true, y_pred, *, background=None, missing_label=None):
    """Segmental edit score: how well the order of predicted segments matches the truth.

    For each sequence, both label sequences are reduced to the labels of their segments
    (maximal runs of equal labels); the score is
    ``1 - levenshtein(pred_segments, true_segments) / max(n_pred_segments, n_true_segments)``,
    averaged over sequences (each sequence counts once, whatever its length). Segment
    durations do not matter; over-segmentation (a flickering prediction) is punished. MS-TCN
    (Farha & Gall, CVPR 2019) reports the same number times 100.

    Parameters
    ----------
    y_true : list of array-like of shape (T_i,) or ndarray of shape (n_sequences, T)
        Ground-truth labels, one per timestep (ints, strings, bools, ...).
    y_pred : list of array-like of shape (T_i,) or ndarray of shape (n_sequences, T)
        Predicted labels, same number of sequences and same lengths as ``y_true``.
    background : label or list of labels, default=None
        Labels whose segments are left out of both segment sequences (MS-TCN's ``bg_class``).
        A sequence where neither side has a segment left scores 1.
    missing_label : scalar, default=None
        Marks the steps of ``y_true`` without a label, besides NaN and None (which always
        do): for example ``-1``, scikit-learn's semi-supervised marker. Such steps are
        skipped: removed from both sequences before segments are formed; a sequence without
        any labelled step is left out of the mean. A :class:`SkippedTimestepsWarning` says
        how many.

    Returns
    -------
    score : float
        Between 0 and 1; 1 means the segment labels come in the same order.

    See Also
    --------
    segment_f1_score : Matches segments by their overlap in time.
    timestep_accuracy_score : Compares timesteps.

    Examples
    --------
    >>> from sk_seqlabel.metrics import edit_score
    >>> y_true = [["walk", "walk", "walk", "run", "run", "run"]]
    >>> y_pred = [["walk", "run", "walk", "run", "run", "run"]]  # 5 of 6 timesteps right
    >>> edit_score(y_true, y_pred)  # segments [walk, run] vs [walk, run, walk, run]
    0.5
    """
    y_true, y_pred = _check_label_pairs(y_true, y_pred, missing_label, metric="edit_score")
    if not y_true:
        raise ValueError("No sequence has a labelled timestep; the edit score needs one.")
    background = _background_set(background)
    scores = []
    for yt, yp in zip(y_true, y_pred, strict=True):
        t_lab = _segments(yt)[0]
        p_lab = _segments(yp)[0]
        t_lab = t_lab[~_is_background(t_lab, background)]
        p_lab = p_lab[~_is_background(p_lab, background)]
        longest = max(len(t_lab), len(p_lab))
        scores.append(1.0 if longest == 0 else 1.0 - _levenshtein(p_lab, t_lab) / longest)
    return float(np.mean(scores))


_REGRESSION_CONSTRAINTS = {
    "y_true": ["array-like"],
    "y_pred": ["array-like"],
    "sample_weight": ["array-like", None],
}


@validate_params(
    {
        **_REGRESSION_CONSTRAINTS,
        "multioutput": [
            StrOptions({"raw_values", "uniform_average", "variance_weighted"}),
            "array-like",
        ],
    },
    prefer_skip_nested_validation=True,
)
def r2_score(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """R² (coefficient of determination) pooled over all timesteps of all sequences.

    The steps of every sequence are concatenated and scored by scikit-learn's
    :func:`sklearn.metrics.r2_score`, so long sequences weigh more and the mean that R²
    compares with is the mean over all steps, not per sequence. Steps whose true value is NaN
    have no target: each target is scored on its own labelled steps, and a
    :class:`SkippedTimestepsWarning` says how many values were skipped.

    Parameters
    ----------
    y_true : list of array-like of shape (T_i,) or (T_i, n_targets), or ndarray
        True values per timestep; NaN marks a step (of one target) without a target.
    y_pred : list of array-like of the same shapes as ``y_true``
        Predicted values, finite everywhere.
    sample_weight : array-like of shape (n_sequences,), or list of array-like of shape \
(T_i,), default=None
        One weight per sequence (each of its steps gets it) or one per timestep, as in
        the estimators' ``score``.
    multioutput : {"raw_values", "uniform_average", "variance_weighted"} or array-like of \\
shape (n_targets,), default="uniform_average"
        How the scores of several targets combine, as in scikit-learn.

    Returns
    -------
    score : float or ndarray of shape (n_targets,)
        1 is perfect; 0 is what predicting the pooled mean scores; it can be negative.

    Raises
    ------
    ValueError
        If the sequences do not pair up, ``y_pred`` holds NaN or inf (naming the sequence),
        or a target has no labelled step.

    See Also
    --------
    mean_squared_error, mean_absolute_error
    sklearn.metrics.r2_score : The function this one pools for.

    Examples
    --------
    >>> from sk_seqlabel.metrics import r2_score
    >>> y_true = [[1.0, 2.0, 3.0], [4.0]]
    >>> y_pred = [[1.0, 2.0, 3.0], [3.0]]
    >>> r2_score(y_true, y_pred)  # 1 - 1 / 5: the pooled mean is 2.5
    0.8
    """
    return _pooled_regression_metric(
        _sk_metrics.r2_score, "r2_score", y_true, y_pred, sample_weight, multioutput
    )


@validate_params(
    {
        **_REGRESSION_CONSTRAINTS,
        "multioutput": [StrOptions({"raw_values", "uniform_average"}), "array-like"],
    },
    prefer_skip_nested_validation=True,
)
def mean_squared_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """Mean squared error pooled over all timesteps of all sequences.

    The steps of every sequence are concatenated and scored by scikit-learn's
    :func:`sklearn.metrics.mean_squared_error`: every step counts once. Steps whose true value
    is NaN have no target and are skipped (per target), said by a
    :class:`SkippedTimestepsWarning`.

    Parameters
    ----------
    y_true : list of array-like of shape (T_i,) or (T_i, n_targets), or ndarray
        True values per timestep; NaN marks a step (of one target) without a target.
    y_pred : list of array-like of the same shapes as ``y_true``
        Predicted values, finite everywhere.
    sample_weight : array-like of shape (n_sequences,), or list of array-like of shape \
(T_i,), default=None
        One weight per sequence (each of its steps gets it) or one per timestep, as in
        the estimators' ``score``.
    multioutput : {"raw_values", "uniform_average"} or array-like of shape (n_targets,), \\
default="uniform_average"
        How the errors of several targets combine, as in scikit-learn.

    Returns
    -------
    loss : float or ndarray of shape (n_targets,)
        0 is perfect.

    See Also
    --------
    r2_score, mean_absolute_error
    sklearn.metrics.mean_squared_error : The function this one pools for.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel.metrics import mean_squared_error
    >>> y_true = [[0.0, 0.0], [0.0, np.nan, 0.0]]  # one step without a target
    >>> y_pred = [[1.0, 1.0], [1.0, 5.0, 3.0]]
    >>> mean_squared_error(y_true, y_pred)  # (1 + 1 + 1 + 9) / 4: the NaN step is skipped
    3.0
    """
    return _pooled_regression_metric(
        _sk_metrics.mean_squared_error,
        "mean_squared_error",
        y_true,
        y_pred,
        sample_weight,
        multioutput,
    )


@validate_params(
    {
        **_REGRESSION_CONSTRAINTS,
        "multioutput": [StrOptions({"raw_values", "uniform_average"}), "array-like"],
    },
    prefer_skip_nested_validation=True,
)
def mean_absolute_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """Mean absolute error pooled over all timesteps of all sequences.

    The steps of every sequence are concatenated and scored by scikit-learn's
    :func:`sklearn.metrics.mean_absolute_error`. Steps whose true value is NaN have no target
    and are skipped (per target), said by a :class:`SkippedTimestepsWarning`.

    Parameters
    ----------
    y_true : list of array-like of shape (T_i,) or (T_i, n_targets), or ndarray
        True values per timestep; NaN marks a step (of one target) without a target.
    y_pred : list of array-like of the same shapes as ``y_true``
        Predicted values, finite everywhere.
    sample_weight : array-like of shape (n_sequences,), or list of array-like of shape \
(T_i,), default=None
        One weight per sequence (each of its steps gets it) or one per timestep, as in
        the estimators' ``score``.
    multioutput : {"raw_values", "uniform_average"} or array-like of shape (n_targets,), \\
default="uniform_average"
        How the errors of several targets combine, as in scikit-learn.

    Returns
    -------
    loss : float or ndarray of shape (n_targets,)
        0 is perfect.

    See Also
    --------
    r2_score, mean_squared_error
    sklearn.metrics.mean_absolute_error : The function this one pools for.

    Examples
    --------
    >>> from sk_seqlabel.metrics import mean_absolute_error
    >>> y_true = [[[0.0, 10.0], [0.0, 10.0]], [[0.0, 10.0]]]  # two targets per step
    >>> y_pred = [[[1.0, 10.0], [1.0, 10.0]], [[1.0, 13.0]]]
    >>> mean_absolute_error(y_true, y_pred, multioutput="raw_values")
    array([1., 1.])
    """
    return _pooled_regression_metric(
        _sk_metrics.mean_absolute_error,
        "mean_absolute_error",
        y_true,
        y_pred,
        sample_weight,
        multioutput,
    )


# --- multi-label: several binary decisions per timestep (sound event detection) --------------


def _multilabel_sequences(y, name, missing_label=None, allow_missing=False):
    """``y`` as lists of boolean (T_i, n_labels) activity arrays and of labelled masks."""
    if isinstance(y, np.ndarray) and y.ndim == 3:
        y = list(y)
    if isinstance(y, (str, bytes)) or not isinstance(y, (list, tuple)):
        raise TypeError(
            f"Expected a list of (T_i, n_labels) 0/1 arrays for {name}; got {type(y).__name__}."
        )
    if len(y) == 0:
        raise ValueError(f"{name} is an empty list; at least one sequence is required.")
    active, labelled = [], []
    for i, yi in enumerate(y):
        try:
            yi = np.asarray(yi)
        except ValueError:
            yi = None
        if yi is None or yi.ndim != 2:
            got = "rows of unequal lengths" if yi is None else f"{yi.ndim} dimensions"
            raise ValueError(
                f"{name}[{i}] must be a (T_i, n_labels) array of 0/1 decisions; got {got}."
            )
        mask = _labelled_mask(yi, missing_label) if allow_missing else np.ones(yi.shape, bool)
        if not allow_missing and yi.dtype.kind == "f" and np.isnan(yi).any():
            raise ValueError(f"{name}[{i}] holds NaN; every prediction must be 0 or 1.")
        values = np.where(mask, yi, 0)
        if values.dtype.kind == "O":  # None marked missing entries; the rest may be numbers
            try:
                values = values.astype(np.float64)
            except (TypeError, ValueError):
                pass
        if values.dtype.kind not in "biuf" or not np.isin(values, (0, 1)).all():
            raise ValueError(
                f"{name}[{i}] holds values other than 0 and 1"
                + (" (and the missing marker)" if allow_missing else "")
                + "; each label is one binary decision per timestep."
            )
        if yi.shape[1] != (active[0].shape[1] if active else yi.shape[1]):
            raise ValueError(
                f"{name}[{i}] has {yi.shape[1]} labels but {name}[0] has "
                f"{active[0].shape[1]}; every sequence needs the same labels."
            )
        active.append(values.astype(bool))
        labelled.append(mask)
    return active, labelled


def _check_multilabel_pairs(y_true, y_pred, missing_label):
    """Validate multi-label truth and predictions: (ref, est, labelled) lists that pair up."""
    ref, labelled = _multilabel_sequences(y_true, "y_true", missing_label, allow_missing=True)
    est, _ = _multilabel_sequences(y_pred, "y_pred")
    check_same_lengths(ref, est, what=("timesteps", "timesteps"))
    if ref[0].shape[1] != est[0].shape[1]:
        raise ValueError(
            f"y_true has {ref[0].shape[1]} labels per timestep but y_pred has {est[0].shape[1]}."
        )
    return ref, est, labelled


def _segment_counts(ref, est, labelled, segment_length):
    """sed_eval's segment-based counts for one sequence.

    A label is active in a segment when it is active at one of the segment's labelled steps;
    a (segment, label) cell without a labelled step is not evaluated. Returns per-label
    ``(tp, n_ref, n_sys)`` and the summed substitutions, deletions and insertions, counted
    per segment over its evaluated labels, as Mesaros et al. (2016) and sed_eval count them.
    """
    n_steps, n_labels = ref.shape
    n_segments = -(-n_steps // segment_length)
    pad = ((0, n_segments * segment_length - n_steps), (0, 0))

    def per_segment(a):
        return np.pad(a, pad).reshape(n_segments, segment_length, n_labels).any(axis=1)

    r = per_segment(ref & labelled)
    e = per_segment(est & labelled)
    n_ref, n_sys, tp = r.sum(axis=1), e.sum(axis=1), (r & e).sum(axis=1)
    sdi = np.array(
        [
            (np.minimum(n_ref, n_sys) - tp).sum(),
            np.maximum(0, n_ref - n_sys).sum(),
            np.maximum(0, n_sys - n_ref).sum(),
        ]
    )
    return (r & e).sum(axis=0), r.sum(axis=0), e.sum(axis=0), sdi


def _runs(active):
    """Starts and ends (exclusive) of the runs of True in a 1-D boolean array."""
    edges = np.diff(np.concatenate(([0], active.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _event_hits(ref_on, ref_off, est_on, est_off, collar, offset, percentage_of_length):
    """Hit matrix (n_ref, n_est): the onset within ``collar`` steps, and the offset if asked."""
    hits = np.abs(ref_on[:, None] - est_on[None, :]) <= collar
    if offset:
        tolerance = np.maximum(collar, percentage_of_length * (ref_off - ref_on))
        hits &= np.abs(ref_off[:, None] - est_off[None, :]) <= tolerance[:, None]
    return hits


def _event_counts(ref, est, collar, offset, percentage_of_length):
    """sed_eval's event-based counts (optimal matching) for one sequence.

    An event is a run of active steps of one label. Reference and estimated events of the
    same label are paired by a maximum bipartite matching of the pairs that hit (as
    sed_eval's ``event_matching_type="optimal"``); then each unmatched reference event, in
    order of onset, takes the first unmatched estimated event of another label that hits it
    as a substitution. Returns per-label ``(tp, n_ref, n_sys)`` and the substitutions.
    """
    n_labels = ref.shape[1]
    tp, n_ref, n_sys = (np.zeros(n_labels, dtype=np.int64) for _ in range(3))
    left_ref, left_est = [], []  # (onset, label, offset) of the unmatched events
    for c in range(n_labels):
        r_on, r_off = _runs(ref[:, c])
        e_on, e_off = _runs(est[:, c])
        n_ref[c], n_sys[c] = r_on.size, e_on.size
        matched_ref = np.zeros(r_on.size, dtype=bool)
        matched_est = np.zeros(e_on.size, dtype=bool)
        if r_on.size and e_on.size:
            hits = _event_hits(r_on, r_off, e_on, e_off, collar, offset, percentage_of_length)
            partner = maximum_bipartite_matching(csr_matrix(hits), perm_type="column")
            matched_ref = partner >= 0
            matched_est[partner[matched_ref]] = True
        tp[c] = matched_ref.sum()
        left_ref += [
            (s, c, e) for s, e in zip(r_on[~matched_ref], r_off[~matched_ref], strict=True)
        ]
        left_est += [
            (s, c, e) for s, e in zip(e_on[~matched_est], e_off[~matched_est], strict=True)
        ]
    if not (left_ref and left_est):
        return tp, n_ref, n_sys, 0
    ref_on, _, ref_off = np.array(sorted(left_ref)).T
    est_on, _, est_off = np.array(sorted(left_est)).T
    hits = _event_hits(ref_on, ref_off, est_on, est_off, collar, offset, percentage_of_length)
    # Greedy, as sed_eval takes substitutions: each true event the first free predicted one.
    used = np.zeros(len(left_est), dtype=bool)
    n_subs = 0
    for row in hits:
        free = np.flatnonzero(row & ~used)
        if free.size:
            used[free[0]] = True
            n_subs += 1
    return tp, n_ref, n_sys, n_subs


def _segment_based_counts(y_true, y_pred, segment_length, missing_label, metric):
    ref, est, labelled = _check_multilabel_pairs(y_true, y_pred, missing_label)
    n_total = sum(mask.size for mask in labelled)
    n_skipped = n_total - sum(int(mask.sum()) for mask in labelled)
    _warn_skipped(metric, n_skipped, n_total, what="(timestep, label) entries", stacklevel=5)
    counts = [
        _segment_counts(r, e, m, segment_length) for r, e, m in zip(ref, est, labelled, strict=True)
    ]
    return [sum(parts) for parts in zip(*counts, strict=True)]


def _event_based_counts(
    y_true, y_pred, collar, offset, percentage_of_length, missing_label, metric
):
    ref, est, labelled = _check_multilabel_pairs(y_true, y_pred, missing_label)
    # A substitution compares events of different labels on one time axis, so a step leaves
    # every label's events when one of its labels is missing.
    known = [mask.all(axis=1) for mask in labelled]
    n_total = sum(k.size for k in known)
    n_skipped = n_total - sum(int(k.sum()) for k in known)
    _warn_skipped(metric, n_skipped, n_total, why="true labels are not all known", stacklevel=5)
    counts = [
        _event_counts(r[k], e[k], collar, offset, percentage_of_length)
        for r, e, k in zip(ref, est, known, strict=True)
    ]
    return [sum(parts) for parts in zip(*counts, strict=True)]


def _nan_ratio(numerator, denominator):
    """``numerator / denominator`` elementwise, NaN where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _average(per_label, average):
    if average is None:
        return per_label
    defined = per_label[~np.isnan(per_label)]
    return float(defined.mean()) if defined.size else float("nan")


def _f1_from_counts(tp, n_ref, n_sys, average):
    if average == "micro":
        return float(_nan_ratio(2 * tp.sum(), n_ref.sum() + n_sys.sum()))
    return _average(_nan_ratio(2 * tp, n_ref + n_sys), average)


def _error_rate_from_counts(tp, n_ref, n_sys, n_errors, average):
    """``n_errors`` (S + D + I) is what the micro ("overall") error rate divides by N."""
    if average == "micro":
        return float(_nan_ratio(n_errors, n_ref.sum()))
    # Per label there are no substitutions: errors are misses plus false alarms.
    return _average(_nan_ratio((n_ref - tp) + (n_sys - tp), n_ref), average)


_MULTILABEL_CONSTRAINTS = {
    "y_true": ["array-like"],
    "y_pred": ["array-like"],
    "average": [StrOptions({"micro", "macro"}), None],
    "missing_label": "no_validation",
}
_SEGMENT_CONSTRAINTS = {
    **_MULTILABEL_CONSTRAINTS,
    "segment_length": [Interval(numbers.Integral, 1, None, closed="left")],
}
_EVENT_CONSTRAINTS = {
    **_MULTILABEL_CONSTRAINTS,
    "collar": [Interval(numbers.Real, 0, None, closed="left")],
    "offset": ["boolean"],
    "percentage_of_length": [Interval(numbers.Real, 0, None, closed="left")],
}


@validate_params(_SEGMENT_CONSTRAINTS, prefer_skip_nested_validation=True)
def segment_based_f1_score(
    y_true, y_pred, *, segment_length=1, average="micro", missing_label=None
):
    """Segment-based F1 of multi-label event detection (DCASE; Mesaros et al. 2016).

    The time axis is cut into segments of ``segment_length`` timesteps; in each segment a
    label is active (in the truth, in the prediction) when it is active at one of the
    segment's steps. True positives, reference and predicted activities are counted per
    (segment, label) and summed over all sequences; ``F1 = 2 TP / (N_ref + N_sys)``. This is
    sed_eval's ``SegmentBasedMetrics`` with one second per timestep.

    Parameters
    ----------
    y_true : list of array-like of shape (T_i, n_labels), or ndarray of shape \
(n_sequences, T, n_labels)
        Ground-truth activity, 0 or 1 per label and timestep; NaN (or ``missing_label``)
        where a label is not known.
    y_pred : list of array-like of the same shapes as ``y_true``
        Predicted activity, 0 or 1 (or bool) everywhere.
    segment_length : int, default=1
        Timesteps per segment: 1 scores every step; DCASE's one second is
        ``round(1 / seconds per step)``.
    average : {"micro", "macro"} or None, default="micro"
        ``"micro"`` pools the counts of all labels (sed_eval's "overall"); ``"macro"`` is the
        mean of the per-label scores over the labels where it is defined (sed_eval's
        "class-wise average"); ``None`` returns the per-label scores.
    missing_label : scalar, default=None
        Marks unknown entries of ``y_true`` besides NaN and None. A (segment, label) cell
        with no known step is not evaluated; a :class:`SkippedTimestepsWarning` says how
        many entries were skipped.

    Returns
    -------
    score : float or ndarray of shape (n_labels,)
        Between 0 and 1, higher is better; NaN where a label is neither active nor predicted
        (sed_eval also gives NaN when only one of the two is empty; here that is 0).

    See Also
    --------
    segment_based_error_rate : The error rate over the same segments.
    event_based_f1_score : Matches events by their onsets (and offsets).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel.metrics import segment_based_f1_score
    >>> y_true = [np.array([[1, 0], [1, 0], [0, 1], [0, 1]])]
    >>> y_pred = [np.array([[1, 0], [0, 0], [0, 1], [1, 1]])]
    >>> segment_based_f1_score(y_true, y_pred)  # TP 3, N_ref 4, N_sys 4
    0.75
    >>> segment_based_f1_score(y_true, y_pred, segment_length=2)  # TP 2, N_ref 2, N_sys 3
    0.8
    >>> segment_based_f1_score(y_true, y_pred, average=None)
    array([0.5, 1. ])
    """
    tp, n_ref, n_sys, _ = _segment_based_counts(
        y_true, y_pred, segment_length, missing_label, "segment_based_f1_score"
    )
    return _f1_from_counts(tp, n_ref, n_sys, average)


@validate_params(_SEGMENT_CONSTRAINTS, prefer_skip_nested_validation=True)
def segment_based_error_rate(
    y_true, y_pred, *, segment_length=1, average="micro", missing_label=None
):
    """Segment-based error rate of multi-label event detection (DCASE; Mesaros et al. 2016).

    Segments and activities as in :func:`segment_based_f1_score`. In each segment, with
    ``N_ref`` labels active in the truth, ``N_sys`` in the prediction and ``TP`` in both:
    substitutions ``S = min(N_ref, N_sys) - TP``, deletions ``D = max(0, N_ref - N_sys)``,
    insertions ``I = max(0, N_sys - N_ref)``; summed over segments and sequences,
    ``ER = (S + D + I) / N_ref``. Per label (``average=None`` and ``"macro"``) there are no
    substitutions: ``ER = (misses + false alarms) / N_ref`` of that label.

    Parameters
    ----------
    y_true : list of array-like of shape (T_i, n_labels), or ndarray of shape \
(n_sequences, T, n_labels)
        Ground-truth activity, 0 or 1 per label and timestep; NaN (or ``missing_label``)
        where a label is not known.
    y_pred : list of array-like of the same shapes as ``y_true``
        Predicted activity, 0 or 1 (or bool) everywhere.
    segment_length : int, default=1
        Timesteps per segment.
    average : {"micro", "macro"} or None, default="micro"
        ``"micro"``: sed_eval's "overall" error rate; ``"macro"``: the mean of the per-label
        error rates ("class-wise average"); ``None``: the per-label error rates.
    missing_label : scalar, default=None
        Marks unknown entries of ``y_true`` besides NaN and None, as in
        :func:`segment_based_f1_score`.

    Returns
    -------
    error_rate : float or ndarray of shape (n_labels,)
        0 is perfect, lower is better; it can exceed 1. NaN for a label that is never active
        in the truth (sed_eval divides by a tiny epsilon there instead).

    See Also
    --------
    segment_based_f1_score, event_based_error_rate

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel.metrics import segment_based_error_rate
    >>> y_true = [np.array([[1, 0], [1, 0], [0, 1], [0, 1]])]
    >>> y_pred = [np.array([[0, 1], [0, 0], [0, 1], [1, 1]])]
    >>> segment_based_error_rate(y_true, y_pred)  # S 1, D 1, I 1 over N_ref 4
    0.75
    """
    tp, n_ref, n_sys, sdi = _segment_based_counts(
        y_true, y_pred, segment_length, missing_label, "segment_based_error_rate"
    )
    return _error_rate_from_counts(tp, n_ref, n_sys, sdi.sum(), average)


@validate_params(_EVENT_CONSTRAINTS, prefer_skip_nested_validation=True)
def event_based_f1_score(
    y_true,
    y_pred,
    *,
    collar=1,
    offset=False,
    percentage_of_length=0.5,
    average="micro",
    missing_label=None,
):
    """Event-based F1 of multi-label event detection (DCASE; Mesaros et al. 2016).

    An event is a run of consecutive active steps of one label. A predicted event is
    correct when its onset is within ``collar`` steps of the onset of a true event of the
    same label (and, with ``offset=True``, its offset within
    ``max(collar, percentage_of_length * true event length)`` steps of that event's end);
    each true event is matched at most once, by a maximum matching as sed_eval's
    ``EventBasedMetrics(event_matching_type="optimal")``. Counts are summed over sequences;
    ``F1 = 2 TP / (N_ref + N_sys)``.

    Parameters
    ----------
    y_true : list of array-like of shape (T_i, n_labels), or ndarray of shape \
(n_sequences, T, n_labels)
        Ground-truth activity, 0 or 1 per label and timestep; NaN (or ``missing_label``)
        where a label is not known.
    y_pred : list of array-like of the same shapes as ``y_true``
        Predicted activity, 0 or 1 (or bool) everywhere.
    collar : float, default=1
        The onset (and offset) tolerance in timesteps; DCASE's 200 ms is
        ``0.2 / seconds per step``.
    offset : bool, default=False
        Whether the offset must match too (DCASE evaluates onset only, and onset and offset).
    percentage_of_length : float, default=0.5
        With ``offset=True``, the offset tolerance as a fraction of the true event's length
        when that exceeds ``collar``.
    average : {"micro", "macro"} or None, default="micro"
        ``"micro"`` pools all labels ("overall"); ``"macro"`` averages the per-label scores
        where defined ("class-wise average"); ``None`` returns them.
    missing_label : scalar, default=None
        Marks unknown entries of ``y_true`` besides NaN and None. A timestep with any
        unknown label is removed (from every label, so that events of different labels stay
        on one time axis) before events are formed; a :class:`SkippedTimestepsWarning` says
        how many steps were skipped.

    Returns
    -------
    score : float or ndarray of shape (n_labels,)
        Between 0 and 1, higher is better; NaN where a label has no true and no predicted
        event.

    See Also
    --------
    event_based_error_rate : The error rate over the same matching.
    segment_based_f1_score : Compares activity per segment instead.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel.metrics import event_based_f1_score
    >>> truth = np.zeros((12, 1), dtype=int)
    >>> truth[2:6] = truth[8:11] = 1  # two events
    >>> pred = np.zeros((12, 1), dtype=int)
    >>> pred[3:6] = pred[10:12] = 1  # onsets 1 and 2 steps late
    >>> event_based_f1_score([truth], [pred], collar=1)
    0.5
    >>> event_based_f1_score([truth], [pred], collar=2)
    1.0
    """
    tp, n_ref, n_sys, _ = _event_based_counts(
        y_true,
        y_pred,
        collar,
        offset,
        percentage_of_length,
        missing_label,
        "event_based_f1_score",
    )
    return _f1_from_counts(tp, n_ref, n_sys, average)


@validate_params(_EVENT_CONSTRAINTS, prefer_skip_nested_validation=True)
def event_based_error_rate(
    y_true,
    y_pred,
    *,
    collar=1,
    offset=False,
    percentage_of_length=0.5,
    average="micro",
    missing_label=None,
):
    """Event-based error rate of multi-label event detection (DCASE; Mesaros et al. 2016).

    Events and their matching as in :func:`event_based_f1_score`. A true event left
    unmatched that an unmatched predicted event of another label hits (onset, and offset if
    asked) is a substitution, taken in order of onset as sed_eval does; the remaining
    unmatched true events are deletions and predicted ones insertions:
    ``ER = (S + D + I) / N_ref``. Per label there are no substitutions.

    Parameters
    ----------
    y_true : list of array-like of shape (T_i, n_labels), or ndarray of shape \
(n_sequences, T, n_labels)
        Ground-truth activity, 0 or 1 per label and timestep; NaN (or ``missing_label``)
        where a label is not known.
    y_pred : list of array-like of the same shapes as ``y_true``
        Predicted activity, 0 or 1 (or bool) everywhere.
    collar : float, default=1
        The onset (and offset) tolerance in timesteps.
    offset : bool, default=False
        Whether the offset must match too.
    percentage_of_length : float, default=0.5
        With ``offset=True``, the offset tolerance as a fraction of the true event's length
        when that exceeds ``collar``.
    average : {"micro", "macro"} or None, default="micro"
        ``"micro"``: "overall"; ``"macro"``: "class-wise average"; ``None``: per label.
    missing_label : scalar, default=None
        Marks unknown entries of ``y_true`` besides NaN and None, as in
        :func:`event_based_f1_score`.

    Returns
    -------
    error_rate : float or ndarray of shape (n_labels,)
        0 is perfect, lower is better; it can exceed 1. NaN for a label without true events.

    Notes
    -----
    When several maximum matchings exist, which events are left over for substitutions can
    depend on the matching algorithm; the micro error rate can then differ from sed_eval's
    (which uses Hopcroft-Karp) by a substitution counted as a deletion plus an insertion.
    F1 and the per-label error rates depend only on the size of the matching and always
    agree.

    See Also
    --------
    event_based_f1_score, segment_based_error_rate

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel.metrics import event_based_error_rate
    >>> truth = np.zeros((10, 2), dtype=int)
    >>> truth[1:4, 0] = 1  # one event of label 0
    >>> pred = np.zeros((10, 2), dtype=int)
    >>> pred[1:4, 1] = pred[7:9, 1] = 1  # found as label 1, and a false alarm
    >>> event_based_error_rate([truth], [pred])  # S 1 + I 1 over N_ref 1
    2.0
    """
    tp, n_ref, n_sys, n_subs = _event_based_counts(
        y_true,
        y_pred,
        collar,
        offset,
        percentage_of_length,
        missing_label,
        "event_based_error_rate",
    )
    n_errors = n_subs + (n_ref.sum() - tp.sum() - n_subs) + (n_sys.sum() - tp.sum() - n_subs)
    return _error_rate_from_counts(tp, n_ref, n_sys, n_errors, average)


timestep_accuracy_scorer = make_scorer(timestep_accuracy_score, response_method="predict")
"""Scorer of :func:`timestep_accuracy_score` on ``predict``, for ``scoring=``."""
segment_f1_scorer = make_scorer(segment_f1_score, response_method="predict", overlap=0.5)
"""Scorer of :func:`segment_f1_score` (``overlap=0.5``) on ``predict``, for ``scoring=``."""
edit_scorer = make_scorer(edit_score, response_method="predict")
"""Scorer of :func:`edit_score` on ``predict``, for ``scoring=``."""
r2_scorer = make_scorer(r2_score, response_method="predict")
"""Scorer of :func:`r2_score` on ``predict``, for ``scoring=`` (higher is better)."""
neg_mean_squared_error_scorer = make_scorer(
    mean_squared_error, response_method="predict", greater_is_better=False
)
"""Scorer of minus :func:`mean_squared_error`, scikit-learn's sign convention for losses."""
neg_mean_absolute_error_scorer = make_scorer(
    mean_absolute_error, response_method="predict", greater_is_better=False
)
"""Scorer of minus :func:`mean_absolute_error`, scikit-learn's sign convention for losses."""
segment_based_f1_scorer = make_scorer(segment_based_f1_score, response_method="predict")
"""Scorer of :func:`segment_based_f1_score` (one-step segments, micro) on ``predict``."""
neg_segment_based_error_rate_scorer = make_scorer(
    segment_based_error_rate, response_method="predict", greater_is_better=False
)
"""Scorer of minus :func:`segment_based_error_rate` (one-step segments, micro)."""
event_based_f1_scorer = make_scorer(event_based_f1_score, response_method="predict")
"""Scorer of :func:`event_based_f1_score` (onset collar 1 step, micro) on ``predict``."""
neg_event_based_error_rate_scorer = make_scorer(
    event_based_error_rate, response_method="predict", greater_is_better=False
)
"""Scorer of minus :func:`event_based_error_rate` (onset collar 1 step, micro)."""
