"""Metrics over lists of per-timestep label sequences, and scorers for model selection.

Three views of the same predictions, each on the scale 0..1 (higher is better):

- :func:`timestep_accuracy_score`: the fraction of correctly labelled timesteps, pooled over all
  sequences. Blind to *how* errors are spread: a few flickering timesteps cost little.
- :func:`segment_f1_score`: F1@k of action segmentation (Lea et al. 2017; Farha & Gall 2019,
  MS-TCN): predicted segments matched to ground-truth segments by intersection over union.
- :func:`edit_score`: segmental edit score, one minus the normalised Levenshtein distance between
  the orders of segment labels. Punishes over-segmentation, ignores segment durations.

A segment is a maximal run of equal labels. The scorers ``timestep_accuracy_scorer``,
``segment_f1_scorer`` (``overlap=0.5``) and ``edit_scorer`` call the estimator's ``predict`` and
can be passed as ``scoring=`` to ``GridSearchCV`` or ``cross_val_score``. For another overlap,
build a scorer the usual way: ``make_scorer(segment_f1_score, overlap=0.25)``.

Examples
--------
>>> from sk_seqlabel.metrics import edit_scorer, segment_f1_scorer
>>> segment_f1_scorer
make_scorer(segment_f1_score, response_method='predict', overlap=0.5)
>>> edit_scorer
make_scorer(edit_score, response_method='predict')
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import make_scorer

from ._data.validation import check_label_sequences, check_same_lengths

__all__ = [
    "edit_score",
    "edit_scorer",
    "segment_f1_score",
    "segment_f1_scorer",
    "timestep_accuracy_score",
    "timestep_accuracy_scorer",
]

_TEXT_KINDS = frozenset("US")
_NUMBER_KINDS = frozenset("biuf")


def _check_label_pairs(y_true, y_pred):
    """Validate both label lists; return them as lists of 1-D arrays that pair up."""
    y_true = check_label_sequences(y_true, name="y_true")
    y_pred = check_label_sequences(y_pred, name="y_pred")
    check_same_lengths(y_true, y_pred, names=("y_true", "y_pred"))
    # Comparing strings with numbers is silently all-False in numpy; say so instead.
    kinds_true = {yi.dtype.kind for yi in y_true}
    kinds_pred = {yi.dtype.kind for yi in y_pred}
    if (kinds_true <= _TEXT_KINDS and kinds_pred <= _NUMBER_KINDS) or (
        kinds_true <= _NUMBER_KINDS and kinds_pred <= _TEXT_KINDS
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


def timestep_accuracy_score(y_true, y_pred):
    """Fraction of correctly labelled timesteps, pooled over all sequences.

    Every timestep counts once, so long sequences weigh more than short ones: this is *not*
    the mean of per-sequence accuracies. Equals ``score`` of the labelers.

    Parameters
    ----------
    y_true : list of array-like of shape (T_i,) or ndarray of shape (n_sequences, T)
        Ground-truth labels, one per timestep (ints, strings, bools, ...).
    y_pred : list of array-like of shape (T_i,) or ndarray of shape (n_sequences, T)
        Predicted labels, same number of sequences and same lengths as ``y_true``.

    Returns
    -------
    score : float
        Between 0 and 1; 1 means every timestep is labelled correctly.

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
    y_true, y_pred = _check_label_pairs(y_true, y_pred)
    n_timesteps = sum(len(yt) for yt in y_true)
    if n_timesteps == 0:
        raise ValueError("All sequences are empty; accuracy needs at least one timestep.")
    n_correct = sum(int(np.count_nonzero(yt == yp)) for yt, yp in zip(y_true, y_pred, strict=True))
    return n_correct / n_timesteps


def segment_f1_score(y_true, y_pred, *, overlap=0.5, background=None):
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
    y_true, y_pred = _check_label_pairs(y_true, y_pred)
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


def edit_score(y_true, y_pred, *, background=None):
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
    y_true, y_pred = _check_label_pairs(y_true, y_pred)
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


timestep_accuracy_scorer = make_scorer(timestep_accuracy_score, response_method="predict")
"""Scorer of :func:`timestep_accuracy_score` on ``predict``, for ``scoring=``."""
segment_f1_scorer = make_scorer(segment_f1_score, response_method="predict", overlap=0.5)
"""Scorer of :func:`segment_f1_score` (``overlap=0.5``) on ``predict``, for ``scoring=``."""
edit_scorer = make_scorer(edit_score, response_method="predict")
"""Scorer of :func:`edit_score` on ``predict``, for ``scoring=``."""
