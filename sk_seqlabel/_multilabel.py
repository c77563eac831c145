"""The multi-label half of the labeling task: several independent 0/1 labels per timestep.

A labeler fitted with ``y`` of scikit-learn's "multilabel-indicator" kind (a ``(T_i, n_labels)``
0/1 array per sequence) trains one sigmoid per label with a binary cross-entropy over the
(step, label) entries that have a value, and decodes each label as its own two-state chain
(off, on) with the machinery of :mod:`sk_seqlabel._decoding`: a label's two-state
log-probabilities are ``[log(1 - p), log p]``. The functions here take arrays, never the
estimator; :class:`~sk_seqlabel._labeling.BaseSequenceLabeler` dispatches to them.

Conventions, as scikit-learn's multilabel classifiers (``MLPClassifier``) have them:
``classes_`` is ``np.arange(n_labels)``, ``predict_proba`` gives each label's probability
independently (rows need not sum to 1), ``predict`` gives 0/1 ints. A DataFrame's column
names are kept in ``label_names_``.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from ._base import Targets
from ._data.targets import check_multilabel_targets
from ._decoding import (
    decode,
    decoder_spec,
    fit_temperature,
    resolve_min_segment_length,
    shortest_inner_segment,
)

__all__ = [
    "MULTILABEL",
    "decode_labels",
    "encode_multilabel_targets",
    "fit_label_temperatures",
    "label_decoder_specs",
    "label_log_proba",
    "label_statistics",
]

#: ``type_of_target``'s word for several 0/1 labels per step (:attr:`Targets.kind`).
MULTILABEL = "multilabel-indicator"


def encode_multilabel_targets(y, X_list, *, class_weight, missing_label, estimator_name):
    """Multi-label ``y`` checked against the sequences, as the loss takes it.

    Returns
    -------
    Targets
        ``values``: (T_i, n_labels) float32, 0.0/1.0, NaN where an entry has no value;
        ``state``: ``classes`` (``np.arange(n_labels)``), ``label_names`` (the DataFrames'
        columns, or None) and ``target_type``; ``loss_params``: the per-label class weights.

    Raises
    ------
    ValueError
        A dict ``class_weight``: its keys would be classes, and here each label has two
        (off and on), so no single dict says which is meant; "balanced" balances each label.
    """
    if isinstance(class_weight, dict):
        raise ValueError(
            f"{estimator_name} was given multi-label y (several 0/1 labels per timestep), "
            "where class_weight must be 'balanced' (each label's 0 and 1 entries balanced) or "
            f"None; got a dict {class_weight!r}. A dict would name classes, and every label "
            "has two. Weight steps with sample_weight instead."
        )
    y_list, label_names = check_multilabel_targets(
        y, X_list, missing_label=missing_label, estimator_name=estimator_name
    )
    n_labels = y_list[0].shape[1]
    weights = None
    if class_weight == "balanced":
        weights = [_balanced_weights(y_list, k) for k in range(n_labels)]
    return Targets(
        values=y_list,
        n_outputs=n_labels,
        state={
            "classes": np.arange(n_labels),
            "label_names": label_names,
            "target_type": MULTILABEL,
        },
        loss_params={"class_weight": weights},
        kind=MULTILABEL,
    )


def _balanced_weights(y_list, k):
    """``[w0, w1]`` of label ``k``: scikit-learn's "balanced" over its entries given (a value
    that never occurs gets weight 1: it has no entry to weigh)."""
    column = np.concatenate([yi[:, k] for yi in y_list])
    column = column[~np.isnan(column)].astype(np.int64)
    present = np.unique(column)
    weights = np.ones(2)
    weights[present] = compute_class_weight("balanced", classes=present, y=column)
    return weights.tolist()


def _label_runs(y_list, k):
    """Label ``k``'s codes (0/1 int64) in runs of consecutive entries that have a value: a
    missing entry cuts the chain, so no count spans it."""
    runs = []
    for yi in y_list:
        column = yi[:, k]
        given = ~np.isnan(column)
        edges = np.flatnonzero(np.diff(np.r_[0, given.astype(np.int8), 0]))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            runs.append(column[start:stop].astype(np.int64))
    return runs


def label_statistics(y_list):
    """What each label's decoder learns at fit, counted over the entries that have a value.

    Parameters
    ----------
    y_list : list of ndarray of shape (T_i, n_labels)
        0.0/1.0, NaN where missing.

    Returns
    -------
    dict
        ``start_count`` (n_labels, 2): the first value of each sequence where given;
        ``transition_count`` (n_labels, 2, 2): ``[k, i, j]`` value ``j`` right after ``i``
        (both given); ``class_count`` (n_labels, 2): entries of each value;
        ``shortest_segment`` (n_labels,): each label's shortest run of one value that
        touches neither end of its stretch of given entries (0: none).

    Examples
    --------
    >>> import numpy as np
    >>> stats = label_statistics([np.array([[0, 1], [1, 1], [1, np.nan], [0, 0]])])
    >>> stats["transition_count"][0].tolist(), stats["class_count"][1].tolist()
    ([[0, 1], [1, 1]], [1, 2])
    """
    n_labels = y_list[0].shape[1]
    start = np.zeros((n_labels, 2), dtype=np.int64)
    transitions = np.zeros((n_labels, 2, 2), dtype=np.int64)
    counts = np.zeros((n_labels, 2), dtype=np.int64)
    shortest = np.zeros(n_labels, dtype=np.int64)
    for k in range(n_labels):
        for yi in y_list:
            if len(yi) and not np.isnan(yi[0, k]):
                start[k, int(yi[0, k])] += 1
        runs = _label_runs(y_list, k)
        for codes in runs:
            counts[k] += np.bincount(codes, minlength=2)
            transitions[k] += np.bincount(codes[:-1] * 2 + codes[1:], minlength=4).reshape(2, 2)
        shortest[k] = shortest_inner_segment(runs)
    return {
        "start_count": start,
        "transition_count": transitions,
        "class_count": counts,
        "shortest_segment": shortest,
    }


def label_log_proba(logits):
    """Each label's two-state log-probabilities ``[log(1 - p), log p]``, ``p = sigmoid(z)``.

    Parameters
    ----------
    logits : ndarray of shape (T, n_labels)

    Returns
    -------
    ndarray of shape (n_labels, T, 2), float64
        Exact for tiny probabilities (``log p = -log(1 + exp(-z))``).
    """
    z = np.asarray(logits, dtype=np.float64).T
    return np.stack([-np.logaddexp(0.0, z), -np.logaddexp(0.0, -z)], axis=-1)


def fit_label_temperatures(logits, y):
    """Each label's calibration temperature (:func:`~sk_seqlabel._decoding.fit_temperature`
    on its two-state log-probabilities), over the entries that have a value.

    ``logits``: (n, n_labels) pooled steps; ``y``: (n, n_labels), NaN where missing. A label
    with no entry given keeps 1.
    """
    pairs = label_log_proba(logits)
    temperatures = np.ones(y.shape[1])
    for k in range(y.shape[1]):
        given = ~np.isnan(y[:, k])
        if given.any():
            temperatures[k] = fit_temperature(pairs[k][given], y[given, k].astype(np.int64))
    return temperatures


def label_decoder_specs(decoder, min_segment_length, lag, prior_weight, fitted):
    """One :class:`~sk_seqlabel._decoding.DecoderSpec` (or None: the threshold) per label.

    ``decoder``: resolved ("argmax" or "viterbi"); ``min_segment_length``: the
    hyperparameter ("auto" resolves per label from its ``shortest_segment``); ``fitted``: the
    fitted arrays of :func:`label_statistics` and ``temperature`` (n_labels,).
    """
    specs = []
    for k in range(len(fitted["class_count"])):
        d = resolve_min_segment_length(
            min_segment_length, decoder, int(fitted["shortest_segment"][k])
        )
        specs.append(
            decoder_spec(
                decoder,
                2,
                min_segment_length=d,
                lag=lag,
                start_count=fitted["start_count"][k],
                transition_count=fitted["transition_count"][k],
                class_count=fitted["class_count"][k],
                prior_weight=prior_weight,
                temperature=float(fitted["temperature"][k]),
            )
        )
    return specs


def decode_labels(specs, logits):
    """0/1 per label and step of one sequence: each label decoded by its own spec (None: the
    threshold ``p > 0.5``).

    Parameters
    ----------
    specs : list of DecoderSpec or None, one per label
    logits : ndarray of shape (T, n_labels)

    Returns
    -------
    ndarray of shape (T, n_labels), dtype int64
    """
    logits = np.asarray(logits)
    out = (logits > 0).astype(np.int64)
    if all(spec is None for spec in specs):
        return out
    pairs = label_log_proba(logits)
    for k, spec in enumerate(specs):
        if spec is not None:
            out[:, k] = decode(spec, pairs[k])
    return out
