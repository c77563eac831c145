"""Decoding: from a network's per-step class probabilities to labels.

The functions here take arrays and a :class:`DecoderSpec`, never an estimator: the labeler
resolves its "auto" hyperparameters and its fitted counts into one spec per ``predict`` (or
stream), and hands it over (as scikit-learn's estimators hand arrays to their kernels).
``predict`` is the arg-max of the probabilities unless the decoder hyperparameters ask for
more (``decoder="auto"`` is "viterbi" for models that look ahead and "argmax" for causal ones,
:func:`resolve_decoder`):

- ``decoder="viterbi"``: the most probable label path of an HMM whose start and transition
  probabilities are counted on the training labels at ``fit`` (add-one smoothing, so that a
  transition never seen in training stays possible). A step's score is the network's
  calibrated log-posterior minus ``prior_weight`` times the log class prior: 0 scores the
  path by the posteriors (it moves no step's decision towards a class the network finds less
  probable), 1 is the hybrid HMM's scaled likelihood (posterior / prior), which maximises the
  likelihood of the input and moves decisions towards rare classes (see
  ``benchmarks/RESULTS.md``, section 18, for what each cost). The posteriors are first
  calibrated by a temperature fitted on training data (:func:`fit_temperature`): an
  under-trained network's flat probabilities would otherwise lose against the transitions.
- ``min_segment_length=d``: every segment of the path is at least ``d`` steps long. Each class
  becomes a chain of ``d`` states, the last one with the self-loop (the expanded-state HMM of
  explicit-duration models): the path is exactly the most probable one of the HMM among those
  whose segments are all at least ``d`` steps long (each step within a segment still scores
  the class's own transition). With ``decoder="argmax"`` the
  transitions are left out: the path is the most probable labelling whose segments are all that
  long.
- ``decoder_lag=L``: fixed-lag decoding. The label of step ``t`` is read off the best path that
  ends at step ``t + L`` (or at the end of the sequence), so it never depends on later input;
  a stream can emit each label ``L`` steps after its probabilities. ``None`` decodes each
  sequence as a whole.

The recursions are loops over time with a few operations per class and step, which NumPy
cannot vectorise and torch would run one small kernel at a time; they are compiled with numba
(:mod:`sk_seqlabel._decoding.kernels`, imported on the first decoding). Memory is bounded
independently of the sequence length: the whole-sequence (offline) decoder keeps the scores at
every ``CHECKPOINT``-th step only and recomputes one stretch of back-pointers at a time on the
way back (checkpointed Viterbi), the fixed-lag one keeps the last ``L + 1`` steps'
back-pointers.
"""

from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CHECKPOINT",
    "DecoderSpec",
    "FixedLagState",
    "calibration_sample",
    "count_label_statistics",
    "decode",
    "decoder_spec",
    "fit_temperature",
    "labelled_stretches",
    "resolve_decoder",
    "resolve_min_segment_length",
    "shortest_inner_segment",
]

#: Steps between stored score vectors of the offline decoder; its back-pointers are held for
#: this many steps at a time (a few bytes per class and step), whatever the sequence length.
CHECKPOINT = 65536


#: Longest minimum segment length that ``min_segment_length="auto"`` learns: the decoder's
#: cost per step grows with it.
MAX_AUTO_SEGMENT_LENGTH = 100


def labelled_stretches(codes):
    """The runs of labelled steps of one encoded sequence: ``[(start, codes), ...]``.

    Negative codes (``PAD_LABEL``) mark steps without a label. What happened in a gap of
    such steps is unknown, so the statistics below treat each stretch as a recording of its
    own: no transition is counted across a gap, and a segment that touches a gap may be cut
    short by it, as one that touches a recording's end may.

    Examples
    --------
    >>> import numpy as np
    >>> [(start, c.tolist()) for start, c in labelled_stretches(np.array([0, 0, -100, 1, 1]))]
    [(0, [0, 0]), (3, [1, 1])]
    """
    codes = np.asarray(codes)
    labelled = codes >= 0
    if labelled.all():
        return [(0, codes)] if len(codes) else []
    edges = np.flatnonzero(np.diff(np.concatenate([[False], labelled, [False]]).astype(np.int8)))
    return [(int(a), codes[a:b]) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def shortest_inner_segment(y_codes):
    """Length of the shortest segment that touches neither end of its stretch (0: none).

    A recording's first and last segments may be cut short by where the recording starts
    and stops, so they say nothing about how short a segment can be; the same holds for a
    segment next to a gap of unlabelled steps (:func:`labelled_stretches`).

    Parameters
    ----------
    y_codes : list of ndarray of shape (T_i,), dtype int
        Class indices per sequence; negative at steps without a label.

    Returns
    -------
    int
    """
    shortest = 0
    for sequence in y_codes:
        for _, codes in labelled_stretches(sequence):
            changes = np.flatnonzero(codes[1:] != codes[:-1]) + 1  # first step of each segment
            if len(changes) >= 2:
                inner = int(np.diff(changes).min())
                shortest = inner if shortest == 0 else min(shortest, inner)
    return shortest


def count_label_statistics(y_codes, n_classes):
    """Counts of first labels, of transitions and of labels over encoded label sequences.

    Steps without a label (negative codes) count nowhere: a transition is counted only
    between two adjacent labelled steps, never across a gap (:func:`labelled_stretches`),
    and a first label only where a recording's first step is labelled.

    Parameters
    ----------
    y_codes : list of ndarray of shape (T_i,), dtype int
        Class indices per sequence; negative at steps without a label.
    n_classes : int

    Returns
    -------
    start_count : ndarray of shape (n_classes,), dtype int64
    transition_count : ndarray of shape (n_classes, n_classes), dtype int64
        ``[i, j]``: how often class ``j`` follows class ``i`` at the next step.
    class_count : ndarray of shape (n_classes,), dtype int64

    Examples
    --------
    >>> import numpy as np
    >>> start, transitions, classes = count_label_statistics([np.array([0, 1, -100, 0])], 2)
    >>> start.tolist(), transitions.tolist(), classes.tolist()
    ([1, 0], [[0, 1], [0, 0]], [2, 1])
    """
    start = np.zeros(n_classes, dtype=np.int64)
    transitions = np.zeros(n_classes * n_classes, dtype=np.int64)
    classes = np.zeros(n_classes, dtype=np.int64)
    for sequence in y_codes:
        for first, codes in labelled_stretches(sequence):
            if first == 0:
                start[codes[0]] += 1
            classes += np.bincount(codes, minlength=n_classes)
            transitions += np.bincount(codes[:-1] * n_classes + codes[1:], minlength=n_classes**2)
    return start, transitions.reshape(n_classes, n_classes), classes


#: Timesteps of training data on which ``fit`` calibrates the temperature (at most).
CALIBRATION_TIMESTEPS = 2**18


def calibration_sample(lengths, seed):
    """Which training steps calibrate the temperature: ``[(sequence, stop), ...]``.

    Whole sequences in a random order (prefixes of the last, or of one that is longer than
    the budget) until :data:`CALIBRATION_TIMESTEPS`, so the cost is bounded whatever the data.
    """
    order = np.random.default_rng(seed).permutation(len(lengths))
    picked, left = [], CALIBRATION_TIMESTEPS
    for i in order:
        if left <= 0:
            break
        take = min(int(lengths[i]), left)
        if take:
            picked.append((int(i), take))
            left -= take
    return picked


def fit_temperature(log_proba, codes):
    """The temperature ``T`` whose ``softmax(log_proba / T)`` has the least negative log-likelihood.

    The network's probabilities may be too flat (an under-trained model) or too sharp; the
    hybrid HMM weighs them against the transitions, so their scale matters. Calibrated on
    training data, where a model is at its most confident, the correction leans towards
    sharper probabilities, that is towards the arg-max.

    Parameters
    ----------
    log_proba : ndarray of shape (n_timesteps, n_classes)
    codes : ndarray of shape (n_timesteps,), dtype int
        The true classes.

    Returns
    -------
    float
        In ``[0.05, 20]``.
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    log_proba = np.asarray(log_proba, dtype=np.float64)
    rows = np.arange(len(codes))

    def nll(log_t):
        return -log_softmax(log_proba / np.exp(log_t), axis=1)[rows, codes].mean()

    found = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(found.x))


def resolve_decoder(decoder, look_ahead):
    """What ``decoder="auto"`` means: "argmax" for a causal module, else "viterbi".

    A causal model's ``predict`` must not look ahead, and whole-sequence Viterbi would.

    Parameters
    ----------
    decoder : {"auto", "argmax", "viterbi"}
    look_ahead : int or None
        The module's look-ahead in steps (0: causal; None: unbounded).

    Returns
    -------
    {"argmax", "viterbi"}

    Examples
    --------
    >>> resolve_decoder("auto", look_ahead=0), resolve_decoder("auto", look_ahead=None)
    ('argmax', 'viterbi')
    """
    if decoder != "auto":
        return decoder
    return "argmax" if look_ahead == 0 else "viterbi"


def resolve_min_segment_length(min_segment_length, decoder, shortest_segment):
    """What ``min_segment_length="auto"`` means for a decoder already resolved.

    With Viterbi, the shortest segment inside a training sequence (at most
    :data:`MAX_AUTO_SEGMENT_LENGTH`): the decoder then never makes a segment shorter than any
    seen in training. Otherwise 1: no constraint, so a causal model's "auto" stays the arg-max.

    Parameters
    ----------
    min_segment_length : int or "auto"
    decoder : {"argmax", "viterbi"}
        As :func:`resolve_decoder` returns it.
    shortest_segment : int
        The shortest inner training segment (:func:`shortest_inner_segment`; 0: none).

    Returns
    -------
    int

    Examples
    --------
    >>> resolve_min_segment_length("auto", "viterbi", shortest_segment=30)
    30
    >>> resolve_min_segment_length("auto", "argmax", shortest_segment=30)
    1
    """
    if min_segment_length != "auto":
        return int(min_segment_length)
    if decoder != "viterbi":
        return 1
    return min(max(int(shortest_segment), 1), MAX_AUTO_SEGMENT_LENGTH)


def _frozen(values, dtype, shape, name):
    array = np.array(values, dtype=dtype, order="C")  # a copy: nothing passed in is shared
    if array.shape != shape:
        raise ValueError(f"DecoderSpec.{name} has shape {array.shape}; expected {shape}.")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class DecoderSpec:
    """What one ``predict`` decodes with: arrays and numbers, resolved from the estimator once.

    A step's score of class ``c`` is ``log_proba[t, c] / temperature - prior_weight *
    log_prior[c]``; the path maximises the sum of the scores, the start and the transitions
    (see :func:`decode`). The arrays are read-only copies.

    Parameters
    ----------
    log_start : array-like of shape (n_classes,)
        Log-probability of each class at a sequence's first step.
    log_transition : array-like of shape (n_classes, n_classes)
        Log-probability of class ``j`` at the next step after class ``i``.
    log_prior : array-like of shape (n_classes,)
        The classes' log-frequencies; ``prior_weight`` of it is subtracted from each step's
        score.
    prior_weight : float, default=0.0
        0: the log-posteriors score the path (the posterior path); 1: the posteriors divided
        by the priors (the hybrid HMM's scaled likelihoods).
    temperature : float, default=1.0
        The log-posteriors are divided by it (:func:`fit_temperature`).
    min_segment_length : int, default=1
        No segment of the path is shorter (>= 1).
    lag : int or None, default=None
        Fixed-lag decoding (>= 0), or None for the whole sequence.

    Examples
    --------
    >>> import numpy as np
    >>> uniform = np.log(np.full(2, 0.5))
    >>> spec = DecoderSpec(uniform, np.log([[0.9, 0.1], [0.1, 0.9]]), uniform)
    >>> decode(spec, np.log([[0.9, 0.1], [0.4, 0.6], [0.9, 0.1]]))
    array([0, 0, 0])
    """

    log_start: np.ndarray
    log_transition: np.ndarray
    log_prior: np.ndarray
    prior_weight: float = 0.0
    temperature: float = 1.0
    min_segment_length: int = 1
    lag: int | None = None

    def __post_init__(self):
        n = len(np.asarray(self.log_start))
        set_ = functools.partial(object.__setattr__, self)
        set_("log_start", _frozen(self.log_start, np.float64, (n,), "log_start"))
        set_("log_transition", _frozen(self.log_transition, np.float64, (n, n), "log_transition"))
        set_("log_prior", _frozen(self.log_prior, np.float64, (n,), "log_prior"))
        # Checked here and not only by the estimator's parameter constraints: the compiled
        # kernels index with these numbers, and a bad one would write out of bounds.
        for name, low in (("min_segment_length", 1), ("lag", 0)):
            value = getattr(self, name)
            if value is None and name == "lag":
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(f"DecoderSpec.{name} must be an int >= {low}; got {value!r}.")
            set_(name, int(value))
        for name in ("prior_weight", "temperature"):
            value = float(getattr(self, name))
            if not np.isfinite(value) or value < 0 or (name == "temperature" and value == 0):
                raise ValueError(f"DecoderSpec.{name} must be finite and positive; got {value}.")
            set_(name, value)

    @property
    def n_classes(self):
        """Number of classes."""
        return len(self.log_start)

    def emission_terms(self):
        """``(scale, offset)``: a step's score of class ``c`` is ``log_proba * scale - offset[c]``.

        Computed inside the kernels so that no float64 copy of a long recording's
        probabilities is made. Normalising the calibrated posterior would add the same number
        to every class of a step, which changes no path; it is left out.
        """
        return 1.0 / self.temperature, self.prior_weight * self.log_prior


def decoder_spec(
    decoder,
    n_classes,
    *,
    min_segment_length=1,
    lag=None,
    start_count=None,
    transition_count=None,
    class_count=None,
    prior_weight=0.0,
    temperature=1.0,
):
    """The :class:`DecoderSpec` of resolved hyperparameters and the label counts of ``fit``.

    Parameters
    ----------
    decoder : {"argmax", "viterbi"}
        Resolved (:func:`resolve_decoder`).
    n_classes : int
    min_segment_length : int, default=1
        Resolved (:func:`resolve_min_segment_length`).
    lag : int or None, default=None
    start_count, transition_count, class_count : ndarray, optional
        As :func:`count_label_statistics` returns them; needed with "viterbi". Add-one
        smoothed, so that a class or transition never seen in training stays possible.
    prior_weight, temperature : float
        See :class:`DecoderSpec`.

    Returns
    -------
    DecoderSpec or None
        None when ``predict`` is the plain arg-max ("argmax" with no minimum length: with no
        transitions and no durations every lag gives the arg-max).

    Examples
    --------
    >>> import numpy as np
    >>> counts = count_label_statistics([np.array([0, 0, 0, 1, 1])], 2)
    >>> spec = decoder_spec("viterbi", 2, start_count=counts[0], transition_count=counts[1],
    ...                     class_count=counts[2])
    >>> np.round(np.exp(spec.log_transition), 2)
    array([[0.6 , 0.4 ],
           [0.33, 0.67]])
    >>> decoder_spec("argmax", 2) is None
    True
    """
    if decoder == "argmax":
        if min_segment_length == 1:
            return None
        zeros = np.zeros(n_classes)
        return DecoderSpec(
            zeros, np.zeros((n_classes, n_classes)), zeros, 0.0, 1.0, min_segment_length, lag
        )
    start, transitions, counts = (
        np.asarray(a, dtype=np.float64) for a in (start_count, transition_count, class_count)
    )
    return DecoderSpec(
        log_start=np.log((start + 1) / (start.sum() + n_classes)),
        log_transition=np.log(
            (transitions + 1) / (transitions.sum(axis=1, keepdims=True) + n_classes)
        ),
        log_prior=np.log((counts + 1) / (counts.sum() + n_classes)),
        prior_weight=prior_weight,
        temperature=temperature,
        min_segment_length=min_segment_length,
        lag=lag,
    )


def decode(spec, log_proba):
    """Class indices of one sequence, decoded as ``spec`` says.

    Parameters
    ----------
    spec : DecoderSpec
    log_proba : ndarray of shape (T, n_classes), float32 or float64
        The network's log-probabilities of one sequence.

    Returns
    -------
    ndarray of shape (T,), dtype int64

    Examples
    --------
    >>> import numpy as np
    >>> spec = DecoderSpec(np.zeros(2), np.zeros((2, 2)), np.zeros(2), min_segment_length=2)
    >>> decode(spec, np.log([[0.9, 0.1], [0.4, 0.6], [0.9, 0.1], [0.9, 0.1]]))
    array([0, 0, 0, 0])
    """
    log_proba = _as_kernel_input(log_proba, spec.n_classes)
    if spec.lag is None:
        scale, offset = spec.emission_terms()
        return _kernels().viterbi(
            log_proba,
            scale,
            offset,
            spec.log_start,
            spec.log_transition,
            spec.min_segment_length,
            CHECKPOINT,
        )
    state = FixedLagState(spec)
    head = state.update(log_proba)
    return np.concatenate([head, state.close()])


class FixedLagState:
    """The carried state of fixed-lag decoding of one sequence, fed in pieces.

    ``update(log_proba)`` returns the labels that became final; ``close()`` the rest. The labels
    of all pieces together do not depend on where the pieces were cut.

    Parameters
    ----------
    spec : DecoderSpec
        With ``lag`` set.

    Examples
    --------
    >>> import numpy as np
    >>> spec = DecoderSpec(np.zeros(2), np.zeros((2, 2)), np.zeros(2), lag=1)
    >>> state = FixedLagState(spec)
    >>> state.update(np.log([[0.9, 0.1], [0.2, 0.8]])), state.close()
    (array([0]), array([1]))
    """

    def __init__(self, spec):
        if spec.lag is None:
            raise ValueError("Only fixed-lag decoding (decoder_lag set) runs on a stream.")
        self.spec = spec
        n_classes, d, lag = spec.n_classes, spec.min_segment_length, spec.lag
        self.state = np.full(n_classes * (d + 1), -np.inf)  # see kernels.py
        self.came_from = np.zeros((lag + 1, n_classes), dtype=np.int32)
        self.stayed = np.zeros((lag + 1, n_classes), dtype=np.bool_)
        self.n_steps = 0

    def update(self, log_proba):
        """Feed (n, n_classes) log-probabilities; return the class indices that became final."""
        spec = self.spec
        log_proba = _as_kernel_input(log_proba, spec.n_classes)
        scale, offset = spec.emission_terms()
        out = np.empty(len(log_proba), dtype=np.int64)
        n_out = _kernels().fixed_lag_update(
            log_proba,
            scale,
            offset,
            spec.log_start,
            spec.log_transition,
            spec.min_segment_length,
            self.state,
            self.came_from,
            self.stayed,
            self.n_steps,
            out,
        )
        self.n_steps += len(log_proba)
        return out[:n_out]

    def close(self):
        """The labels of the last ``lag`` steps (or fewer), from the best complete path."""
        spec = self.spec
        out = np.empty(min(spec.lag, self.n_steps), dtype=np.int64)
        _kernels().fixed_lag_close(
            spec.min_segment_length, self.state, self.came_from, self.stayed, self.n_steps, out
        )
        return out


def _as_kernel_input(log_proba, n_classes):
    """C-contiguous float32 or float64, as given: one compiled kernel per dtype, no copy."""
    log_proba = np.asarray(log_proba)
    if log_proba.ndim != 2 or log_proba.shape[1] != n_classes:
        raise ValueError(
            f"Decoding takes log-probabilities of shape (n_steps, {n_classes}); got "
            f"{log_proba.shape}."
        )
    if log_proba.dtype not in (np.float32, np.float64):
        log_proba = log_proba.astype(np.float64)
    return np.ascontiguousarray(log_proba)


def _kernels():
    """The compiled loops, imported on first use (numba's import and compilation take seconds)."""
    from . import kernels

    return kernels
