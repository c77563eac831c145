"""Decoding: from a network's per-step class probabilities to labels.

A labeler's ``predict`` is the arg-max of the probabilities unless its decoder hyperparameters
ask for more (:meth:`Decoder.from_estimator`; ``decoder="auto"`` is "viterbi" for models that
look ahead and "argmax" for causal ones, :func:`resolve_decoder`):

- ``decoder="viterbi"``: the most probable label path of a hybrid HMM. The network's
  posteriors divided by the class priors stand in for the emission likelihoods, and the start
  and transition probabilities are counted on the training labels at ``fit`` (add-one
  smoothing, so that a transition never seen in training stays possible). The posteriors are
  first calibrated by a temperature fitted on training data (:func:`fit_temperature`): an
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
(:mod:`sk_seqlabel._decoding_kernels`, imported on the first decoding). Memory is bounded
independently of the sequence length: the whole-sequence (offline) decoder keeps the scores at
every ``CHECKPOINT``-th step only and recomputes one stretch of back-pointers at a time on the
way back (checkpointed Viterbi), the fixed-lag one keeps the last ``L + 1`` steps'
back-pointers.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CHECKPOINT",
    "Decoder",
    "calibration_sample",
    "count_label_statistics",
    "fit_temperature",
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


def shortest_inner_segment(y_codes):
    """Length of the shortest segment that touches neither end of its sequence (0: none).

    A recording's first and last segments may be cut short by where the recording starts
    and stops, so they say nothing about how short a segment can be.

    Parameters
    ----------
    y_codes : list of ndarray of shape (T_i,), dtype int

    Returns
    -------
    int
    """
    shortest = 0
    for codes in y_codes:
        changes = np.flatnonzero(codes[1:] != codes[:-1]) + 1  # first step of each new segment
        if len(changes) >= 2:
            inner = int(np.diff(changes).min())
            shortest = inner if shortest == 0 else min(shortest, inner)
    return shortest


def count_label_statistics(y_codes, n_classes):
    """Counts of first labels, of transitions and of labels over encoded label sequences.

    Parameters
    ----------
    y_codes : list of ndarray of shape (T_i,), dtype int
        Class indices per sequence.
    n_classes : int

    Returns
    -------
    start_count : ndarray of shape (n_classes,), dtype int64
    transition_count : ndarray of shape (n_classes, n_classes), dtype int64
        ``[i, j]``: how often class ``j`` follows class ``i`` at the next step.
    class_count : ndarray of shape (n_classes,), dtype int64
    """
    start = np.zeros(n_classes, dtype=np.int64)
    transitions = np.zeros(n_classes * n_classes, dtype=np.int64)
    classes = np.zeros(n_classes, dtype=np.int64)
    for codes in y_codes:
        if len(codes) == 0:
            continue
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


def resolve_decoder(estimator):
    """What ``decoder="auto"`` means for a fitted estimator: "argmax" if causal, else "viterbi".

    A causal model's ``predict`` must not look ahead, and whole-sequence Viterbi would.
    """
    if estimator.decoder != "auto":
        return estimator.decoder
    return "argmax" if estimator.net_.module_.look_ahead == 0 else "viterbi"


def resolve_min_segment_length(estimator):
    """What ``min_segment_length="auto"`` means for a fitted estimator.

    With Viterbi, the shortest segment inside a training sequence (at most
    :data:`MAX_AUTO_SEGMENT_LENGTH`): the decoder then never makes a segment shorter than any
    seen in training. Otherwise 1: no constraint, so a causal model's "auto" stays the arg-max.
    """
    if estimator.min_segment_length != "auto":
        return estimator.min_segment_length
    if resolve_decoder(estimator) != "viterbi":
        return 1
    shortest = int(getattr(estimator, "shortest_segment_", 0))
    return min(max(shortest, 1), MAX_AUTO_SEGMENT_LENGTH)


class Decoder:
    """The decoding of one labeler's ``predict``, from its hyperparameters and label counts.

    Parameters
    ----------
    log_start : ndarray of shape (n_classes,)
        Log-probability of each class at a sequence's first step.
    log_transition : ndarray of shape (n_classes, n_classes)
        Log-probability of class ``j`` at the next step after class ``i``.
    log_prior : ndarray of shape (n_classes,)
        Subtracted from the log-posteriors (the hybrid HMM's scaled likelihoods).
    min_segment_length : int
    lag : int or None
    temperature : float, default=1.0
        The log-posteriors are divided by it (:func:`fit_temperature`).
    """

    def __init__(
        self, log_start, log_transition, log_prior, min_segment_length, lag, temperature=1.0
    ):
        self.temperature = float(temperature)
        self.log_start = np.ascontiguousarray(log_start, dtype=np.float64)
        self.log_transition = np.ascontiguousarray(log_transition, dtype=np.float64)
        self.log_prior = np.ascontiguousarray(log_prior, dtype=np.float64)
        self.min_segment_length = int(min_segment_length)
        self.lag = lag

    @classmethod
    def from_estimator(cls, estimator):
        """The estimator's decoder, or None when ``predict`` is the plain arg-max."""
        d, lag = resolve_min_segment_length(estimator), estimator.decoder_lag
        n_classes = len(estimator.classes_)
        if resolve_decoder(estimator) == "argmax":
            if d == 1:
                return None  # with no transitions and no durations every lag gives the arg-max
            zeros = np.zeros(n_classes)
            return cls(zeros, np.zeros((n_classes, n_classes)), zeros, d, lag)
        if not hasattr(estimator, "transition_count_"):
            raise ValueError(
                f"decoder={resolve_decoder(estimator)!r} needs the label counts of fit, which this "
                f"{type(estimator).__name__} lacks (a model file written before decoding "
                "existed); refit it, or use decoder='argmax'."
            )
        start, transitions, counts = (
            np.asarray(estimator.start_count_, dtype=np.float64),
            np.asarray(estimator.transition_count_, dtype=np.float64),
            np.asarray(estimator.class_count_, dtype=np.float64),
        )
        # Add-one smoothing: a class or transition never seen in training stays possible.
        log_start = np.log((start + 1) / (start.sum() + n_classes))
        log_transition = np.log(
            (transitions + 1) / (transitions.sum(axis=1, keepdims=True) + n_classes)
        )
        log_prior = np.log((counts + 1) / (counts.sum() + n_classes))
        temperature = getattr(estimator, "temperature_", 1.0)
        return cls(log_start, log_transition, log_prior, d, lag, temperature)

    def emission_terms(self):
        """``(scale, offset)``: a step's score of class ``c`` is ``log_proba * scale - offset[c]``.

        The calibrated log-posterior minus the log-prior, computed inside the kernels so that
        no float64 copy of a long recording's probabilities is made. Normalising the
        calibrated posterior would add the same number to every class of a step, which changes
        no path; it is left out.
        """
        return 1.0 / self.temperature, self.log_prior

    def decode(self, log_proba):
        """Class indices (T,) int64 of one sequence from its log-probabilities (T, n_classes)."""
        log_proba = _as_kernel_input(log_proba)
        if self.lag is None:
            scale, offset = self.emission_terms()
            return _kernels().viterbi(
                log_proba,
                scale,
                offset,
                self.log_start,
                self.log_transition,
                self.min_segment_length,
                CHECKPOINT,
            )
        state = self.start()
        head = state.update(log_proba)
        return np.concatenate([head, state.close()])

    def start(self):
        """A :class:`FixedLagState` for one stream (``lag`` must be set)."""
        if self.lag is None:
            raise ValueError("Only fixed-lag decoding (decoder_lag set) runs on a stream.")
        return FixedLagState(self)


class FixedLagState:
    """The carried state of fixed-lag decoding of one sequence, fed in pieces.

    ``update(log_proba)`` returns the labels that became final; ``close()`` the rest. The labels
    of all pieces together do not depend on where the pieces were cut.
    """

    def __init__(self, decoder):
        self.decoder = decoder
        n_classes = len(decoder.log_start)
        d, lag = decoder.min_segment_length, decoder.lag
        self.state = np.full(n_classes * (d + 1), -np.inf)  # see _decoding_kernels
        self.came_from = np.zeros((lag + 1, n_classes), dtype=np.int32)
        self.stayed = np.zeros((lag + 1, n_classes), dtype=np.bool_)
        self.n_steps = 0

    def update(self, log_proba):
        """Feed (n, n_classes) log-probabilities; return the class indices that became final."""
        dec = self.decoder
        log_proba = _as_kernel_input(log_proba)
        scale, offset = dec.emission_terms()
        out = np.empty(len(log_proba), dtype=np.int64)
        n_out = _kernels().fixed_lag_update(
            log_proba,
            scale,
            offset,
            dec.log_start,
            dec.log_transition,
            dec.min_segment_length,
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
        dec = self.decoder
        out = np.empty(min(dec.lag, self.n_steps), dtype=np.int64)
        _kernels().fixed_lag_close(
            dec.min_segment_length, self.state, self.came_from, self.stayed, self.n_steps, out
        )
        return out


def _as_kernel_input(log_proba):
    """C-contiguous float32 or float64, as given: one compiled kernel per dtype, no copy."""
    log_proba = np.asarray(log_proba)
    if log_proba.dtype not in (np.float32, np.float64):
        log_proba = log_proba.astype(np.float64)
    return np.ascontiguousarray(log_proba)


def _kernels():
    """The compiled loops, imported on first use (numba's import and compilation take seconds)."""
    from . import _decoding_kernels

    return _decoding_kernels
