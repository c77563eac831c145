"""Data sets for per-timestep tasks: synthetic generators and real activity streams.

Every function follows the package's data contract: ``X`` is a list of float32 arrays of shape
``(T_i, n_features)`` and ``y`` a list of per-step targets with lengths that differ between
sequences: 1-D label arrays ``(T_i,)``, 0/1 tables ``(T_i, n_labels)`` for multi-label tasks
(:func:`make_overlapping_events`), float tables ``(T_i, n_targets)`` for regression
(:func:`make_filtered_signals`, :func:`load_activity_soft_sensor`). :func:`mask_labels` hides
labels as partial annotation does. All are seeded, so the same ``random_state`` gives the same
data.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
from sklearn.utils import Bunch, check_random_state, check_scalar

__all__ = [
    "ACTIVITY_NAMES",
    "load_activity_soft_sensor",
    "load_activity_streams",
    "load_overlapping_activities",
    "make_event_masks",
    "make_filtered_signals",
    "make_markov_songs",
    "make_overlapping_events",
    "make_rare_segments",
    "make_sequence_labeling",
    "mask_labels",
]

# Smallest distance between two class means of make_sequence_labeling (noise=1.0 is its std).
_MIN_SEPARATION = 2.5


def _check_int(value, name, *, min_val=None, max_val=None):
    """Check that ``value`` is an integer (a bool is not) in ``[min_val, max_val]``."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got bool {value!r}.")
    return int(check_scalar(value, name, numbers.Integral, min_val=min_val, max_val=max_val))


def _check_range(low, high, low_name, high_name):
    if low > high:
        raise ValueError(
            f"{low_name}={low} is greater than {high_name}={high}; pass {low_name} <= {high_name}."
        )


def make_sequence_labeling(
    n_sequences=100,
    *,
    min_length=50,
    max_length=200,
    n_features=4,
    n_classes=3,
    mean_segment_length=20,
    noise=1.0,
    random_state=None,
):
    """Generate a random sequence labelling problem with piecewise-constant labels.

    The construction, step by step:

    1. One mean vector per class is drawn once per call from a standard normal distribution,
       then all are rescaled together so that the two closest means lie 2.5 apart. At
       ``noise=1.0`` a per-timestep logistic regression labels about 90% of the timesteps
       correctly (between 85% and 100% depending on the seed), and a model that also sees a
       few neighbouring steps does better.
    2. Each sequence length is drawn log-uniformly from the integers
       ``[min_length, max_length]``, so short and long sequences are both common.
    3. The labels of a sequence are piecewise constant: segments with geometric lengths of mean
       ``mean_segment_length`` (at least one step each), each with a random class; consecutive
       segments always have different classes, so every segment boundary is a real change of
       label. The last segment is cut at the end of the sequence.
    4. Each timestep's features are the mean vector of its class plus independent Gaussian noise
       with standard deviation ``noise``. Because labels persist over
       ``mean_segment_length`` steps on average, temporal context helps: averaging ``k``
       neighbouring steps within a segment divides the noise by ``sqrt(k)``.

    Parameters
    ----------
    n_sequences : int, default=100
        Number of sequences.
    min_length, max_length : int, default=50, 200
        Inclusive bounds of the sequence lengths, ``1 <= min_length <= max_length``.
    n_features : int, default=4
        Number of features per timestep.
    n_classes : int, default=3
        Number of classes, at least 2. Labels are the integers ``0 .. n_classes - 1``.
    mean_segment_length : float, default=20
        Mean length (in timesteps) of the constant-label segments, at least 1.
    noise : float, default=1.0
        Standard deviation of the Gaussian noise added to the class means. ``noise=0`` gives
        features that are exactly the class mean of each timestep.
    random_state : int, RandomState instance or None, default=None
        Seed or generator that makes the output reproducible.

    Returns
    -------
    X : list of ndarray of shape (T_i, n_features), dtype float32
        The sequences.
    y : list of ndarray of shape (T_i,), dtype int64
        The label of every timestep of each sequence.

    See Also
    --------
    load_activity_streams : Real accelerometer and gyroscope streams with activity labels.
    sklearn.datasets.make_classification : The per-sample generator this one is modelled on.

    Examples
    --------
    >>> from sk_seqlabel.datasets import make_sequence_labeling
    >>> X, y = make_sequence_labeling(n_sequences=3, random_state=0)
    >>> len(X), X[0].shape[1], X[0].dtype, y[0].dtype
    (3, 4, dtype('float32'), dtype('int64'))
    >>> [len(seq) for seq in X] == [len(labels) for labels in y]
    True
    >>> y[0][18:24]
    array([1, 1, 1, 2, 2, 2])
    """
    n_sequences = _check_int(n_sequences, "n_sequences", min_val=1)
    min_length = _check_int(min_length, "min_length", min_val=1)
    max_length = _check_int(max_length, "max_length", min_val=1)
    _check_range(min_length, max_length, "min_length", "max_length")
    n_features = _check_int(n_features, "n_features", min_val=1)
    n_classes = _check_int(n_classes, "n_classes", min_val=2)
    mean_segment_length = float(
        check_scalar(mean_segment_length, "mean_segment_length", numbers.Real, min_val=1)
    )
    noise = float(check_scalar(noise, "noise", numbers.Real, min_val=0))
    rng = check_random_state(random_state)

    means = _class_means(n_classes, n_features, rng)
    lengths = _log_uniform_lengths(min_length, max_length, n_sequences, rng)

    X, y = [], []
    for length in lengths:
        labels = _piecewise_constant_labels(length, n_classes, mean_segment_length, rng)
        features = means[labels] + noise * rng.standard_normal((length, n_features))
        X.append(features.astype(np.float32))
        y.append(labels)
    return X, y


def _log_uniform_lengths(min_length, max_length, n_sequences, rng):
    """``n_sequences`` integers in ``[min_length, max_length]``, log-uniformly distributed."""
    # Drawing exp(uniform(log a, log(b + 1))) and flooring gives every integer in [a, b] with a
    # probability proportional to log((k + 1) / k): log-uniform, with b reachable.
    log_lengths = rng.uniform(np.log(min_length), np.log(max_length + 1), size=n_sequences)
    return np.clip(np.floor(np.exp(log_lengths)).astype(np.int64), min_length, max_length)


def _class_means(n_classes, n_features, rng):
    """Standard normal class means, rescaled so the closest two are ``_MIN_SEPARATION`` apart."""
    means = rng.standard_normal((n_classes, n_features))
    distances = np.linalg.norm(means[:, None, :] - means[None, :, :], axis=-1)
    closest = distances[np.triu_indices(n_classes, k=1)].min()
    # A fixed smallest distance keeps the difficulty similar from one seed to the next, where
    # unscaled draws now and then put two classes almost on top of each other.
    return means * (_MIN_SEPARATION / closest)


def _piecewise_constant_labels(length, n_classes, mean_segment_length, rng):
    """Labels of one sequence: geometric segment lengths, consecutive classes different."""
    labels = np.empty(length, dtype=np.int64)
    start = 0
    label = rng.randint(n_classes)
    while start < length:
        stop = start + int(rng.geometric(1.0 / mean_segment_length))
        labels[start:stop] = label
        start = stop
        # Adding 1 .. n_classes - 1 modulo n_classes picks uniformly among the other classes.
        label = (label + rng.randint(1, n_classes)) % n_classes
    return labels


def make_event_masks(
    n_sequences=100,
    *,
    min_length=200,
    max_length=2000,
    n_features=6,
    min_event_length=20,
    max_event_length=200,
    mean_gap_length=300,
    n_event_channels=3,
    decoy_probability=0.5,
    amplitude=1.5,
    noise=1.0,
    random_state=None,
):
    """Generate an imbalanced binary mask task: events where several channels oscillate together.

    The construction, step by step:

    1. Each sequence length is drawn log-uniformly from ``[min_length, max_length]``.
    2. Gaps (label 0) and events (label 1) alternate, starting with a gap: gap lengths are
       ``10 +`` a geometric draw of mean ``mean_gap_length - 10``, event lengths uniform in
       ``[min_event_length, max_event_length]``; the last one is cut at the end. With the
       defaults about 75% of the steps are background (0.72-0.79 over 100 sequences, for
       seeds 0, 1 and 2).
    3. Every step of every channel is Gaussian noise of standard deviation ``noise``.
    4. During an event, ``n_event_channels`` channels drawn for that event carry one shared
       oscillation ``amplitude * sin(2 pi f t + phase)`` (``f`` uniform in 0.05..0.2 cycles
       per step, the same phase on every channel): what the label marks is the channels
       moving *together*.
    5. Decoys: each gap long enough holds, with probability ``decoy_probability``, the same
       kind of oscillation on a *single* channel, labelled 0, of a length drawn as an event's.
       A detector of oscillation power on any one channel is fooled by them.

    Parameters
    ----------
    n_sequences : int, default=100
        Number of sequences.
    min_length, max_length : int, default=200, 2000
        Inclusive bounds of the sequence lengths.
    n_features : int, default=6
        Channels, at least 2.
    min_event_length, max_event_length : int, default=20, 200
        Inclusive bounds of the event (and decoy) lengths.
    mean_gap_length : float, default=300
        Mean length of the background between events, more than 10.
    n_event_channels : int, default=3
        Channels that share an event's oscillation, in ``[2, n_features]``.
    decoy_probability : float, default=0.5
        Probability that a gap holds a single-channel decoy, in ``[0, 1]``.
    amplitude : float, default=1.5
        Amplitude of the oscillations.
    noise : float, default=1.0
        Standard deviation of the noise.
    random_state : int, RandomState instance or None, default=None
        Seed or generator that makes the output reproducible.

    Returns
    -------
    X : list of ndarray of shape (T_i, n_features), dtype float32
    y : list of ndarray of shape (T_i,), dtype int64
        1 during an event, 0 elsewhere.

    See Also
    --------
    make_rare_segments : An imbalanced multi-class task.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel.datasets import make_event_masks
    >>> X, y = make_event_masks(n_sequences=50, random_state=0)
    >>> len(X), X[0].shape[1], X[0].dtype, y[0].dtype
    (50, 6, dtype('float32'), dtype('int64'))
    >>> bool(0.7 < 1 - np.concatenate(y).mean() < 0.8)  # the background's share of the steps
    True
    """
    n_sequences = _check_int(n_sequences, "n_sequences", min_val=1)
    min_length = _check_int(min_length, "min_length", min_val=1)
    max_length = _check_int(max_length, "max_length", min_val=1)
    _check_range(min_length, max_length, "min_length", "max_length")
    n_features = _check_int(n_features, "n_features", min_val=2)
    min_event_length = _check_int(min_event_length, "min_event_length", min_val=1)
    max_event_length = _check_int(max_event_length, "max_event_length", min_val=1)
    _check_range(min_event_length, max_event_length, "min_event_length", "max_event_length")
    mean_gap_length = float(
        check_scalar(
            mean_gap_length,
            "mean_gap_length",
            numbers.Real,
            min_val=10,
            include_boundaries="neither",
        )
    )
    n_event_channels = _check_int(
        n_event_channels, "n_event_channels", min_val=2, max_val=n_features
    )
    decoy_probability = float(
        check_scalar(decoy_probability, "decoy_probability", numbers.Real, min_val=0, max_val=1)
    )
    amplitude = float(check_scalar(amplitude, "amplitude", numbers.Real, min_val=0))
    noise = float(check_scalar(noise, "noise", numbers.Real, min_val=0))
    rng = check_random_state(random_state)

    X, y = [], []
    for length in _log_uniform_lengths(min_length, max_length, n_sequences, rng):
        x = noise * rng.standard_normal((length, n_features))
        labels = np.zeros(length, dtype=np.int64)
        start = 0
        while start < length:
            gap = 10 + int(rng.geometric(1.0 / (mean_gap_length - 10)))
            decoy = int(rng.randint(min_event_length, max_event_length + 1))
            if decoy + 10 <= gap and rng.uniform() < decoy_probability:
                at = start + int(rng.randint(5, gap - decoy - 4))
                channel = [int(rng.randint(n_features))]
                _add_oscillation(x, at, at + decoy, channel, amplitude, rng)
            start += gap
            stop = min(start + int(rng.randint(min_event_length, max_event_length + 1)), length)
            if start >= length:
                break
            channels = rng.choice(n_features, size=n_event_channels, replace=False)
            _add_oscillation(x, start, stop, channels, amplitude, rng)
            labels[start:stop] = 1
            start = stop
        X.append(x.astype(np.float32))
        y.append(labels)
    return X, y


def _add_oscillation(x, start, stop, channels, amplitude, rng):
    """Add one sine wave (random frequency and phase) to ``x[start:stop, channels]``."""
    stop = min(stop, len(x))
    frequency, phase = rng.uniform(0.05, 0.2), rng.uniform(0, 2 * np.pi)
    wave = amplitude * np.sin(2 * np.pi * frequency * np.arange(stop - start) + phase)
    x[start:stop, channels] += wave[:, None]


def make_rare_segments(
    n_sequences=100,
    *,
    min_length=100,
    max_length=1000,
    n_features=4,
    n_classes=4,
    mean_background_length=60,
    min_rare_length=5,
    max_rare_length=25,
    noise=2.5,
    random_state=None,
):
    """Generate an imbalanced multi-class task: a frequent background and rare short segments.

    The construction, step by step:

    1. Class means as in :func:`make_sequence_labeling` (the closest two 2.5 apart), and
       sequence lengths drawn log-uniformly from ``[min_length, max_length]``.
    2. Background segments (class 0, lengths geometric of mean ``mean_background_length``)
       alternate with rare segments of lengths uniform in ``[min_rare_length,
       max_rare_length]``; a rare segment's class is ``k`` in ``1 .. n_classes - 1`` with
       probability proportional to ``1 / k``, so the rarer classes are rarer still. With the
       defaults the classes take about 80%, 11%, 6% and 3% of the steps.
    3. Each step's features are its class mean plus Gaussian noise of standard deviation
       ``noise``.

    Parameters
    ----------
    n_sequences : int, default=100
        Number of sequences.
    min_length, max_length : int, default=100, 1000
        Inclusive bounds of the sequence lengths.
    n_features : int, default=4
        Features per step.
    n_classes : int, default=4
        Classes (the background and ``n_classes - 1`` rare ones), at least 2.
    mean_background_length : float, default=60
        Mean length of the background segments, at least 1.
    min_rare_length, max_rare_length : int, default=5, 25
        Inclusive bounds of the rare segments' lengths.
    noise : float, default=2.5
        Standard deviation of the noise.
    random_state : int, RandomState instance or None, default=None
        Seed or generator that makes the output reproducible. The class means depend on it:
        draw training and test sequences in one call and split them.

    Returns
    -------
    X : list of ndarray of shape (T_i, n_features), dtype float32
    y : list of ndarray of shape (T_i,), dtype int64
        Labels ``0 .. n_classes - 1``; 0 is the background.

    See Also
    --------
    make_event_masks : An imbalanced binary task.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel.datasets import make_rare_segments
    >>> X, y = make_rare_segments(n_sequences=50, random_state=0)
    >>> len(X), X[0].shape[1], X[0].dtype
    (50, 4, dtype('float32'))
    >>> np.round(np.bincount(np.concatenate(y)) / sum(map(len, y)), 2)
    array([0.8 , 0.12, 0.04, 0.03])
    """
    n_sequences = _check_int(n_sequences, "n_sequences", min_val=1)
    min_length = _check_int(min_length, "min_length", min_val=1)
    max_length = _check_int(max_length, "max_length", min_val=1)
    _check_range(min_length, max_length, "min_length", "max_length")
    n_features = _check_int(n_features, "n_features", min_val=1)
    n_classes = _check_int(n_classes, "n_classes", min_val=2)
    mean_background_length = float(
        check_scalar(mean_background_length, "mean_background_length", numbers.Real, min_val=1)
    )
    min_rare_length = _check_int(min_rare_length, "min_rare_length", min_val=1)
    max_rare_length = _check_int(max_rare_length, "max_rare_length", min_val=1)
    _check_range(min_rare_length, max_rare_length, "min_rare_length", "max_rare_length")
    noise = float(check_scalar(noise, "noise", numbers.Real, min_val=0))
    rng = check_random_state(random_state)

    means = _class_means(n_classes, n_features, rng)
    rare_p = 1.0 / np.arange(1, n_classes)
    rare_p /= rare_p.sum()
    X, y = [], []
    for length in _log_uniform_lengths(min_length, max_length, n_sequences, rng):
        labels = np.zeros(length, dtype=np.int64)
        start = int(rng.geometric(1.0 / mean_background_length))
        while start < length:
            stop = start + int(rng.randint(min_rare_length, max_rare_length + 1))
            labels[start:stop] = 1 + rng.choice(n_classes - 1, p=rare_p)
            start = stop + int(rng.geometric(1.0 / mean_background_length))
        X.append(
            (means[labels] + noise * rng.standard_normal((length, n_features))).astype(np.float32)
        )
        y.append(labels)
    return X, y


#: Largest transition table make_markov_songs builds (n_symbols ** (order + 1) probabilities).
_MAX_TABLE_SIZE = 10**7


def make_markov_songs(
    n_sequences=100,
    *,
    min_length=50,
    max_length=200,
    n_symbols=12,
    n_keys=3,
    order=2,
    concentration=0.1,
    random_state=None,
    return_limit=False,
):
    """Generate next-note prediction data from a Markov chain of songs in several keys.

    A next-step benchmark with a known limit: each song is a sequence of notes, ``X`` encodes
    the notes ``s[:-1]`` and ``y`` is the next note ``s[1:]``, so labelling step ``t`` means
    predicting note ``t + 1`` from notes ``0 .. t``. The best accuracy any causal predictor can
    reach is computed exactly for the drawn data (``return_limit=True``).

    The construction, step by step:

    1. One chain of order ``order`` over ``n_symbols`` notes is drawn per call: for every
       context of ``order`` previous notes, the distribution of the next note is drawn from a
       symmetric Dirichlet distribution with parameter ``concentration`` (small values give
       peaked, predictable transitions). The first ``order`` notes of a song follow the chain's
       own start distributions, drawn the same way: the first note from a distribution of
       order 0, the second from one of order 1 given the first, and so on.
    2. Each song draws its key ``k`` uniformly from ``0 .. n_keys - 1``; its notes are a
       sequence of the chain transposed by ``k`` semitones: ``s[t] = (b[t] + k) % n_symbols``
       where ``b`` follows the chain. The key is not in ``X``, so a good predictor infers it
       from the notes seen so far.
    3. Each song has ``T_i + 1`` notes, with ``T_i`` drawn log-uniformly from the integers
       ``[min_length, max_length]`` (as in :func:`make_sequence_labeling`).

    The Bayes-optimal causal predictor at step ``t`` predicts the note ``c`` that maximises
    ``sum_k P(k | s[0..t]) P(c | last order notes, k)``, where the key posterior
    ``P(k | s[0..t])`` comes from exact forward filtering (in log space) from the uniform key
    prior. Its expected accuracy on the drawn songs, the mean over all timesteps of the largest
    predictive probability, is the limit no causal model can beat on average.
    ``benchmarks/next_step.py`` measures the causal labelers against it
    (``benchmarks/RESULTS.md``, section 17).

    Parameters
    ----------
    n_sequences : int, default=100
        Number of songs.
    min_length, max_length : int, default=50, 200
        Inclusive bounds of the number of timesteps ``T_i`` (a song has ``T_i + 1`` notes),
        ``1 <= min_length <= max_length``.
    n_symbols : int, default=12
        Number of distinct notes, at least 2: the twelve semitones of an octave by default.
    n_keys : int, default=3
        Number of keys, from 1 to ``n_symbols``; key ``k`` transposes by ``k`` semitones.
        With one key the limit is that of the chain alone.
    order : int, default=2
        Number of previous notes the next one depends on (given the key), at least 1, with
        ``n_symbols ** (order + 1)`` at most ten million.
    concentration : float, default=0.1
        Parameter of the symmetric Dirichlet distributions of the transitions, above 0.
        Smaller is more predictable; as it grows the transitions approach uniform and the limit
        approaches chance, ``1 / n_symbols``.
    random_state : int, RandomState instance or None, default=None
        Seed or generator that makes the output reproducible.
    return_limit : bool, default=False
        If True, also return the Bayes-optimal causal predictions and their accuracy.

    Returns
    -------
    X : list of ndarray of shape (T_i, n_symbols), dtype float32
        One-hot encoding of the notes ``s[:-1]`` of each song.
    y : list of ndarray of shape (T_i,), dtype int64
        The next note, ``s[1:]``: ``y[i][t] == X[i][t + 1].argmax()``.
    limit : :class:`~sklearn.utils.Bunch`
        Only if ``return_limit=True``, with the keys:

        - ``expected_accuracy`` (float): the Bayes limit, the mean over all timesteps of the
          largest Bayes predictive probability.
        - ``realised_accuracy`` (float): accuracy of the Bayes predictor's argmax on ``y``;
          it differs from the limit by sampling error alone.
        - ``proba`` (list of ndarray of shape (T_i, n_symbols), float64): the Bayes predictive
          distribution of the next note at every timestep.
        - ``song_keys`` (ndarray of shape (n_sequences,), int64): the key of every song.
        - ``key_known_accuracy`` (float): expected accuracy of the chain's own predictor told
          each song's key, an upper bound of the limit.
        - ``key_blind_accuracy`` (float): expected accuracy of the predictor that weighs the
          keys by their prior alone and never updates it from the notes.

        An expected accuracy of predictions ``p`` is ``proba[i][t, p[i][t]]`` averaged over
        all timesteps: the same quantity as an accuracy, with less sampling noise.

    See Also
    --------
    make_sequence_labeling : Noisy features with piecewise-constant labels.

    Examples
    --------
    >>> from sk_seqlabel.datasets import make_markov_songs
    >>> X, y, limit = make_markov_songs(n_sequences=50, random_state=0, return_limit=True)
    >>> X[0].shape[1], X[0].dtype, y[0].dtype
    (12, dtype('float32'), dtype('int64'))
    >>> bool((X[0][1:].argmax(axis=1) == y[0][:-1]).all())
    True
    >>> limit.key_blind_accuracy < limit.expected_accuracy < limit.key_known_accuracy < 1
    True
    """
    n_sequences = _check_int(n_sequences, "n_sequences", min_val=1)
    min_length = _check_int(min_length, "min_length", min_val=1)
    max_length = _check_int(max_length, "max_length", min_val=1)
    _check_range(min_length, max_length, "min_length", "max_length")
    n_symbols = _check_int(n_symbols, "n_symbols", min_val=2)
    n_keys = _check_int(n_keys, "n_keys", min_val=1, max_val=n_symbols)
    order = _check_int(order, "order", min_val=1)
    if n_symbols ** (order + 1) > _MAX_TABLE_SIZE:
        raise ValueError(
            f"order={order} with n_symbols={n_symbols} needs a transition table of "
            f"{n_symbols}**{order + 1} = {n_symbols ** (order + 1):,} probabilities, more than "
            f"{_MAX_TABLE_SIZE:,}; lower order or n_symbols."
        )
    concentration = float(
        check_scalar(
            concentration, "concentration", numbers.Real, min_val=0, include_boundaries="neither"
        )
    )
    rng = check_random_state(random_state)

    tables = _markov_tables(n_symbols, order, concentration, rng)
    lengths = _log_uniform_lengths(min_length, max_length, n_sequences, rng)
    keys = rng.randint(n_keys, size=n_sequences).astype(np.int64)
    eye = np.eye(n_symbols, dtype=np.float32)
    X, y, songs = [], [], []
    for length, key in zip(lengths, keys, strict=True):
        song = (_sample_chain(tables, length + 1, rng) + key) % n_symbols
        X.append(eye[song[:-1]])
        y.append(song[1:])
        songs.append(song)
    if not return_limit:
        return X, y
    return X, y, _bayes_limit(songs, keys, tables, n_keys)


def _markov_tables(n_symbols, order, concentration, rng):
    """Transition tables of orders ``0 .. order``: ``tables[j]`` has shape (n**j, n).

    Row ``r`` of ``tables[j]`` is the distribution of the next note after the ``j`` notes whose
    base-``n_symbols`` digits, oldest first, spell ``r``.
    """
    alpha = np.full(n_symbols, concentration)
    tables = []
    for j in range(order + 1):
        table = rng.dirichlet(alpha, size=n_symbols**j)
        # At small concentrations every gamma draw behind a Dirichlet row can underflow to
        # 0, and the row to 0 / 0 (about one row in 6,000 at 1e-3): such a row is a point
        # mass, so its mass goes on one note.
        bad = ~np.isfinite(table).all(axis=1)
        table[bad] = np.eye(n_symbols)[rng.randint(n_symbols, size=int(bad.sum()))]
        tables.append(table)
    return tables


def _contexts(notes, order, n_symbols):
    """Where the successor of each note is drawn from: ``(index, orders)``.

    ``notes`` has shape (..., T). The note after ``notes[..., t]`` is drawn from row
    ``index[..., t]`` of table ``orders[t] = min(t + 1, order)``: the row the last
    ``orders[t]`` notes up to ``t`` spell (see :func:`_markov_tables`). ``index`` has the
    shape of ``notes``, ``orders`` shape (T,).
    """
    length = notes.shape[-1]
    index = np.zeros(notes.shape, dtype=np.int64)
    for lag in range(order):
        # Note t - lag is the digit of weight n**lag in the context of step t.
        index[..., lag:] += notes[..., : length - lag] * n_symbols**lag
    orders = np.minimum(np.arange(1, length + 1), order)
    return index, orders


def _sample_chain(tables, n_notes, rng):
    """One sequence of ``n_notes`` notes of the chain (key 0), as int64."""
    order = len(tables) - 1
    n_symbols = tables[0].shape[1]
    cumulative = [np.cumsum(table, axis=1) for table in tables]
    uniforms = rng.random_sample(n_notes)
    notes = np.empty(n_notes, dtype=np.int64)
    context = 0
    for t in range(n_notes):
        j = min(t, order)
        note = int(np.searchsorted(cumulative[j][context], uniforms[t], side="right"))
        # A cumulative sum may end a rounding error below 1.
        notes[t] = min(note, n_symbols - 1)
        context = (context * n_symbols + notes[t]) % n_symbols ** min(t + 1, order)
    return notes


def _bayes_limit(songs, keys, tables, n_keys):
    """Bayes-optimal causal predictions of ``songs[i][1:]`` and their expected accuracies.

    For each song and each key ``k``, the song is transposed back by ``k`` and scored by the
    chain; the key posterior after notes ``0 .. t`` is the normalised product of the uniform
    prior and the probabilities of those notes (log space, so long songs do not underflow).
    """
    order = len(tables) - 1
    n_symbols = tables[0].shape[1]
    shifts = np.arange(n_keys)
    # unshift[k, c]: the note of the untransposed chain that note c is in key k.
    unshift = (np.arange(n_symbols)[None, :] - shifts[:, None]) % n_symbols
    proba, hits, best, known, blind = [], 0, 0.0, 0.0, 0.0
    for song, key in zip(songs, keys, strict=True):
        base = unshift[:, song]  # (K, T + 1): the song in each key's own notes
        context, orders = _contexts(base[:, :-1], order, n_symbols)
        # rows[k, t, c']: probability of base note c' after notes 0 .. t, in key k.
        rows = np.empty((n_keys, len(song) - 1, n_symbols))
        for j in np.unique(orders):
            rows[:, orders == j] = tables[j][context[:, orders == j]]
        with np.errstate(divide="ignore"):
            first = np.log(tables[0][0, base[:, 0]])
            later = np.log(np.take_along_axis(rows, base[:, 1:, None], axis=2)[..., 0])
        # Log joint of notes 0 .. t and key k, up to the constant log prior.
        log_joint = first[:, None] + np.concatenate(
            [np.zeros((n_keys, 1)), np.cumsum(later[:, :-1], axis=1)], axis=1
        )
        posterior = np.exp(log_joint - log_joint.max(axis=0))
        posterior /= posterior.sum(axis=0)
        # predictive[k, t, c]: probability of note c (in the song's notes) in key k.
        predictive = np.take_along_axis(rows, unshift[:, None, :], axis=2)
        song_proba = np.einsum("kt,ktc->tc", posterior, predictive)
        proba.append(song_proba)
        hits += int((song_proba.argmax(axis=1) == song[1:]).sum())
        best += song_proba.max(axis=1).sum()
        known += predictive[key].max(axis=1).sum()
        blind_choice = predictive.mean(axis=0).argmax(axis=1)
        blind += np.take_along_axis(song_proba, blind_choice[:, None], axis=1).sum()
    n_steps = sum(len(song) - 1 for song in songs)
    return Bunch(
        expected_accuracy=float(best / n_steps),
        realised_accuracy=hits / n_steps,
        proba=proba,
        song_keys=np.asarray(keys, dtype=np.int64),
        key_known_accuracy=float(known / n_steps),
        key_blind_accuracy=float(blind / n_steps),
    )


@functools.cache
def _load_basic_motions(split):
    """Return BasicMotions ``(X, y)`` of one split, read-only and cached in-process.

    ``X`` has shape (n_recordings, n_timesteps, n_channels) and dtype float32; ``y`` holds the
    activity names. The files ship with sktime, so nothing is downloaded.
    """
    from sktime.datasets import load_basic_motions  # slow import, only when needed

    X, y = load_basic_motions(split=split, return_type="numpy3D")
    # sktime gives (n, channels, time); the package works in (time, features).
    X = np.ascontiguousarray(np.transpose(X, (0, 2, 1)), dtype=np.float32)
    y = np.asarray(y, dtype=str)
    # The arrays are shared by every caller through the cache, so nobody may write to them.
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def load_activity_streams(
    split="train",
    *,
    n_streams=20,
    min_recordings=3,
    max_recordings=8,
    min_crop=30,
    max_crop=100,
    random_state=0,
    return_recording_ids=False,
):
    """Load continuous activity streams built from real accelerometer and gyroscope recordings.

    The source is BasicMotions (as shipped with sktime, so it loads offline): 80 recordings,
    40 for training and 40 for testing, of students doing one of four activities (standing,
    walking, running, badminton) for 10 seconds with a smart watch, sampled at 10 Hz into 100
    timesteps of 6 channels, the 3 axes of an accelerometer and of a gyroscope (the source does
    not name the columns; :func:`load_activity_soft_sensor` says why channels 0-2 are taken as the
    accelerometer). The values are left as the data set gives them; scale them (for example
    with ``SequenceScaler``) before training.

    Each stream joins several cropped recordings end to end:

    1. The number of crops is drawn uniformly from ``[min_recordings, max_recordings]``.
    2. Each crop comes from a random recording of ``split`` whose activity differs from the
       previous crop's, so every boundary between crops is a change of activity. A recording
       may appear in several streams, and more than once in a stream.
    3. The crop length is drawn uniformly from ``[min_crop, max_crop]`` and its start uniformly
       from the offsets that keep it inside the recording.

    Every timestep is labelled with the activity of its recording. Train streams use only
    train recordings and test streams only test recordings, so the two never share data.

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        Which recordings the streams are built from.
    n_streams : int, default=20
        Number of streams.
    min_recordings, max_recordings : int, default=3, 8
        Inclusive bounds of the number of crops per stream.
    min_crop, max_crop : int, default=30, 100
        Inclusive bounds of the crop lengths, at most 100 (the length of a recording).
    random_state : int, RandomState instance or None, default=0
        Seed or generator that makes the streams reproducible.
    return_recording_ids : bool, default=False
        If True, also return, for each timestep, which recording it came from.

    Returns
    -------
    X : list of ndarray of shape (T_i, 6), dtype float32
        The streams, with the 6 channels in the data set's order.
    y : list of ndarray of shape (T_i,), dtype str
        The activity of every timestep: ``"badminton"``, ``"running"``, ``"standing"`` or
        ``"walking"``.
    recording_ids : list of ndarray of shape (T_i,), dtype int64
        Only if ``return_recording_ids=True``: the index of each timestep's source recording
        among the 40 recordings of ``split``, in sktime's order.

    See Also
    --------
    make_sequence_labeling : Synthetic sequences with piecewise-constant labels.
    sktime.datasets.load_basic_motions : The recordings, one label per recording.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel.datasets import load_activity_streams
    >>> X, y = load_activity_streams("train", n_streams=4, random_state=0)
    >>> len(X), X[0].shape[1], X[0].dtype
    (4, 6, dtype('float32'))
    >>> [len(stream) for stream in X] == [len(labels) for labels in y]
    True
    >>> sorted(set(np.concatenate(y).tolist()))
    ['badminton', 'running', 'standing', 'walking']
    """
    recordings, activities, n_crops, crop, n_streams = _check_stream_arguments(
        split, n_streams, min_recordings, max_recordings, min_crop, max_crop
    )
    rng = check_random_state(random_state)

    X, y, ids = [], [], []
    for _ in range(n_streams):
        stream, stream_ids = _draw_stream(recordings, activities, n_crops, crop, rng)
        X.append(stream)
        y.append(activities[stream_ids])
        ids.append(stream_ids)
    if return_recording_ids:
        return X, y, ids
    return X, y


def _check_stream_arguments(split, n_streams, min_recordings, max_recordings, min_crop, max_crop):
    """The checked arguments of the activity streams, and the recordings of ``split``."""
    if split not in ("train", "test"):
        raise ValueError(f'split must be "train" or "test", got {split!r}.')
    n_streams = _check_int(n_streams, "n_streams", min_val=1)
    min_recordings = _check_int(min_recordings, "min_recordings", min_val=1)
    max_recordings = _check_int(max_recordings, "max_recordings", min_val=1)
    _check_range(min_recordings, max_recordings, "min_recordings", "max_recordings")
    recordings, activities = _load_basic_motions(split)
    recording_length = recordings.shape[1]
    min_crop = _check_int(min_crop, "min_crop", min_val=1, max_val=recording_length)
    max_crop = _check_int(max_crop, "max_crop", min_val=1, max_val=recording_length)
    _check_range(min_crop, max_crop, "min_crop", "max_crop")
    return recordings, activities, (min_recordings, max_recordings), (min_crop, max_crop), n_streams


def _draw_stream(recordings, activities, n_crops, crop, rng):
    """One stream of crops of different activities: ``(x, recording id of every step)``."""
    recording_length = recordings.shape[1]
    crops, crop_ids = [], []
    previous = None
    for _ in range(rng.randint(n_crops[0], n_crops[1] + 1)):
        candidates = np.flatnonzero(activities != previous)
        recording = int(rng.choice(candidates))
        length = int(rng.randint(crop[0], crop[1] + 1))
        start = int(rng.randint(0, recording_length - length + 1))
        crops.append(recordings[recording, start : start + length])
        crop_ids.append(np.full(length, recording, dtype=np.int64))
        previous = activities[recording]
    return np.concatenate(crops), np.concatenate(crop_ids)


def make_filtered_signals(
    n_sequences=100,
    *,
    min_length=50,
    max_length=200,
    n_features=3,
    n_targets=2,
    n_taps=5,
    noise=0.1,
    random_state=None,
    return_floor=False,
):
    """Generate a per-timestep regression task: targets are a known causal filter of the inputs.

    The construction, step by step:

    1. One causal FIR filter per input-target pair is drawn once per call: taps
       ``h[k, j, l]`` (target ``k``, input ``j``, lag ``l`` in ``0 .. n_taps - 1``) standard
       normal, then each target's taps scaled together to unit norm, so that a noise-free
       target has variance 1 wherever the whole filter lies inside the sequence.
    2. Sequence lengths are drawn log-uniformly from ``[min_length, max_length]`` (as in
       :func:`make_sequence_labeling`).
    3. The inputs are independent standard normal (white) at every step and channel.
    4. ``y[t, k] = sum_j sum_l h[k, j, l] * x[t - l, j] + noise * e[t, k]``, with ``x`` taken
       as 0 before the sequence starts (the zero padding of a causal convolution) and ``e``
       standard normal.

    The best possible mean squared error of any predictor is the noise variance ``noise**2``
    per target, reached by the filter itself; with ``noise=0`` a linear causal model with
    ``n_taps`` lags recovers y exactly (R² = 1). ``return_floor=True`` also returns the filter,
    the noise-free targets and the realised floor.

    Parameters
    ----------
    n_sequences : int, default=100
        Number of sequences.
    min_length, max_length : int, default=50, 200
        Inclusive bounds of the sequence lengths.
    n_features : int, default=3
        Input channels.
    n_targets : int, default=2
        Target channels.
    n_taps : int, default=5
        Length of each filter, at least 1: ``y[t]`` depends on ``x[t - n_taps + 1 .. t]``.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to the targets, at least 0.
    random_state : int, RandomState instance or None, default=None
        Seed or generator that makes the output reproducible. The filter depends on it: draw
        training and test sequences in one call and split them.
    return_floor : bool, default=False
        If True, also return the ground truth.

    Returns
    -------
    X : list of ndarray of shape (T_i, n_features), dtype float32
    y : list of ndarray of shape (T_i, n_targets), dtype float32
    floor : :class:`~sklearn.utils.Bunch`
        Only if ``return_floor=True``, with the keys:

        - ``mse`` (float): the expected best mean squared error, ``noise**2``.
        - ``realised_mse`` (float): the mean squared error of the noise-free targets on ``y``,
          over all steps and targets; it differs from ``mse`` by sampling error alone.
        - ``filters`` (ndarray of shape (n_targets, n_features, n_taps), float64): the taps.
        - ``y_clean`` (list of ndarray of shape (T_i, n_targets), float32): the targets
          without noise.

    See Also
    --------
    load_activity_soft_sensor : A real regression task: gyroscope from accelerometer.

    Examples
    --------
    >>> from sk_seqlabel.datasets import make_filtered_signals
    >>> X, y, floor = make_filtered_signals(n_sequences=50, random_state=0, return_floor=True)
    >>> X[0].shape[1], y[0].shape[1], y[0].dtype
    (3, 2, dtype('float32'))
    >>> round(floor.mse, 4), bool(abs(floor.realised_mse - floor.mse) < 0.1 * floor.mse)
    (0.01, True)
    """
    n_sequences = _check_int(n_sequences, "n_sequences", min_val=1)
    min_length = _check_int(min_length, "min_length", min_val=1)
    max_length = _check_int(max_length, "max_length", min_val=1)
    _check_range(min_length, max_length, "min_length", "max_length")
    n_features = _check_int(n_features, "n_features", min_val=1)
    n_targets = _check_int(n_targets, "n_targets", min_val=1)
    n_taps = _check_int(n_taps, "n_taps", min_val=1)
    noise = float(check_scalar(noise, "noise", numbers.Real, min_val=0))
    rng = check_random_state(random_state)

    filters = rng.standard_normal((n_targets, n_features, n_taps))
    filters /= np.linalg.norm(filters.reshape(n_targets, -1), axis=1)[:, None, None]
    X, y, y_clean, squared = [], [], [], 0.0
    for length in _log_uniform_lengths(min_length, max_length, n_sequences, rng):
        x = rng.standard_normal((length, n_features))
        clean = np.zeros((length, n_targets))
        for lag in range(min(n_taps, length)):
            # x[t - lag] for t >= lag; the steps before the start contribute 0.
            clean[lag:] += x[: length - lag] @ filters[:, :, lag].T
        target = clean + noise * rng.standard_normal((length, n_targets))
        X.append(x.astype(np.float32))
        y.append(target.astype(np.float32))
        y_clean.append(clean.astype(np.float32))
        squared += float(((y[-1] - y_clean[-1]).astype(np.float64) ** 2).sum())
    if not return_floor:
        return X, y
    n_values = sum(len(t) for t in y) * n_targets
    floor = Bunch(mse=noise**2, realised_mse=squared / n_values, filters=filters, y_clean=y_clean)
    return X, y, floor


#: Channels of BasicMotions: the accelerometer's x, y, z, then the gyroscope's (see
#: load_activity_soft_sensor for why this order).
_ACCELEROMETER, _GYROSCOPE = slice(0, 3), slice(3, 6)


def load_activity_soft_sensor(
    split="train",
    *,
    n_streams=20,
    min_recordings=3,
    max_recordings=8,
    min_crop=30,
    max_crop=100,
    random_state=0,
    return_activities=False,
):
    """Load the activity streams as a soft-sensor regression: the gyroscope from the accelerometer.

    The streams are those of :func:`load_activity_streams` with the same arguments (the same
    recordings, crops and split): ``X`` is their first three channels, ``y`` their last three.
    BasicMotions' description says the watch records "3D accelerometer and a 3D gyroscope"
    in that order without naming the columns; the data agree with channels 0-2 being the
    accelerometer and 3-5 the gyroscope: the mean of each of channels 3-5 over every
    activity's recordings is within 0.25 of 0, as an angular rate over a repeated motion is,
    while channels 0-2 have means up to 4.8 (running). Values are as the data set gives them.

    There is no known floor: how much of the rotation the accelerations determine is what a
    model measures. The activity labels can be returned as well, to score per activity.

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        Which recordings the streams are built from.
    n_streams, min_recordings, max_recordings, min_crop, max_crop, random_state
        As in :func:`load_activity_streams`.
    return_activities : bool, default=False
        If True, also return the activity of every timestep.

    Returns
    -------
    X : list of ndarray of shape (T_i, 3), dtype float32
        Accelerometer x, y, z.
    y : list of ndarray of shape (T_i, 3), dtype float32
        Gyroscope x, y, z.
    activities : list of ndarray of shape (T_i,), dtype str
        Only if ``return_activities=True``: the labels of :func:`load_activity_streams`.

    See Also
    --------
    make_filtered_signals : A synthetic regression task with a known floor.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel.datasets import load_activity_soft_sensor, load_activity_streams
    >>> X, y = load_activity_soft_sensor("train", n_streams=4, random_state=0)
    >>> X[0].shape[1], y[0].shape[1], y[0].dtype
    (3, 3, dtype('float32'))
    >>> streams, _ = load_activity_streams("train", n_streams=4, random_state=0)
    >>> bool(np.array_equal(np.hstack([X[0], y[0]]), streams[0]))
    True
    """
    streams, activities = load_activity_streams(
        split,
        n_streams=n_streams,
        min_recordings=min_recordings,
        max_recordings=max_recordings,
        min_crop=min_crop,
        max_crop=max_crop,
        random_state=random_state,
    )
    X = [np.ascontiguousarray(s[:, _ACCELEROMETER]) for s in streams]
    y = [np.ascontiguousarray(s[:, _GYROSCOPE]) for s in streams]
    if return_activities:
        return X, y, activities
    return X, y


def make_overlapping_events(
    n_sequences=100,
    *,
    min_length=200,
    max_length=1000,
    n_features=6,
    n_labels=3,
    min_event_length=20,
    max_event_length=100,
    event_fraction=0.3,
    amplitude=1.5,
    noise=1.0,
    random_state=None,
    return_overlap=False,
):
    """Generate a multi-label task: independent event types that overlap and add up.

    The construction, step by step:

    1. Each label ``k`` gets a signature drawn once per call: a unit vector ``w_k`` of channel
       weights (standard normal, normalised) and a frequency ``f_k``, the labels' frequencies
       evenly spaced in 0.05..0.25 cycles per step, in random order.
    2. Sequence lengths are drawn log-uniformly from ``[min_length, max_length]``.
    3. Each label is on and off independently of the others: events of lengths uniform in
       ``[min_event_length, max_event_length]`` alternate with gaps of geometric lengths whose
       mean makes the label on for about ``event_fraction`` of the steps; a sequence starts
       inside an event with probability ``event_fraction``.
    4. Every step of every channel is Gaussian noise of standard deviation ``noise``; during an
       event of label ``k``, ``amplitude * sin(2 pi f_k t + phase) * w_k`` is added (a random
       phase per event). Overlapping events add up, as sounds do.

    Since labels are independent, the expected fraction of steps with two labels or more on is
    ``1 - (1 - p)**L - L p (1 - p)**(L - 1)`` for ``p = event_fraction`` and ``L = n_labels``:
    0.216 with the defaults. ``return_overlap=True`` returns it and the realised rates.

    Parameters
    ----------
    n_sequences : int, default=100
        Number of sequences.
    min_length, max_length : int, default=200, 1000
        Inclusive bounds of the sequence lengths.
    n_features : int, default=6
        Channels.
    n_labels : int, default=3
        Event types, at least 2.
    min_event_length, max_event_length : int, default=20, 100
        Inclusive bounds of the event lengths.
    event_fraction : float, default=0.3
        Share of the steps each label is on, in (0, 1).
    amplitude : float, default=1.5
        Amplitude of an event's oscillation.
    noise : float, default=1.0
        Standard deviation of the noise.
    random_state : int, RandomState instance or None, default=None
        Seed or generator that makes the output reproducible. The signatures depend on it:
        draw training and test sequences in one call and split them.
    return_overlap : bool, default=False
        If True, also return the overlap rates.

    Returns
    -------
    X : list of ndarray of shape (T_i, n_features), dtype float32
    y : list of ndarray of shape (T_i, n_labels), dtype int64
        1 where label ``k`` is on, 0 elsewhere.
    overlap : :class:`~sklearn.utils.Bunch`
        Only if ``return_overlap=True``, with the keys ``expected_overlap`` (float, the
        formula above), ``realised_overlap`` (float, the share of steps with two labels or
        more on), ``label_fraction`` (ndarray of shape (n_labels,), the share of steps each
        label is on), ``signatures`` (ndarray of shape (n_labels, n_features)) and
        ``frequencies`` (ndarray of shape (n_labels,)).

    See Also
    --------
    make_event_masks : One binary event type among decoys.

    Examples
    --------
    >>> from sk_seqlabel.datasets import make_overlapping_events
    >>> X, y, overlap = make_overlapping_events(n_sequences=50, random_state=0,
    ...                                         return_overlap=True)
    >>> X[0].shape[1], y[0].shape[1], y[0].dtype
    (6, 3, dtype('int64'))
    >>> round(overlap.expected_overlap, 3), bool(abs(overlap.realised_overlap - 0.216) < 0.05)
    (0.216, True)
    """
    n_sequences = _check_int(n_sequences, "n_sequences", min_val=1)
    min_length = _check_int(min_length, "min_length", min_val=1)
    max_length = _check_int(max_length, "max_length", min_val=1)
    _check_range(min_length, max_length, "min_length", "max_length")
    n_features = _check_int(n_features, "n_features", min_val=1)
    n_labels = _check_int(n_labels, "n_labels", min_val=2)
    min_event_length = _check_int(min_event_length, "min_event_length", min_val=1)
    max_event_length = _check_int(max_event_length, "max_event_length", min_val=1)
    _check_range(min_event_length, max_event_length, "min_event_length", "max_event_length")
    p = float(
        check_scalar(
            event_fraction,
            "event_fraction",
            numbers.Real,
            min_val=0,
            max_val=1,
            include_boundaries="neither",
        )
    )
    amplitude = float(check_scalar(amplitude, "amplitude", numbers.Real, min_val=0))
    noise = float(check_scalar(noise, "noise", numbers.Real, min_val=0))
    rng = check_random_state(random_state)

    signatures = rng.standard_normal((n_labels, n_features))
    signatures /= np.linalg.norm(signatures, axis=1, keepdims=True)
    frequencies = rng.permutation(np.linspace(0.05, 0.25, n_labels))
    mean_event = (min_event_length + max_event_length) / 2
    # On for mean_event steps, off for mean_gap: on a share mean_event / (mean_event +
    # mean_gap) = p of the time. A geometric gap is at least one step.
    mean_gap = max(mean_event * (1 - p) / p, 1.0)
    X, y = [], []
    for length in _log_uniform_lengths(min_length, max_length, n_sequences, rng):
        x = noise * rng.standard_normal((length, n_features))
        labels = np.zeros((length, n_labels), dtype=np.int64)
        for k in range(n_labels):
            on = rng.uniform() < p
            start = 0
            while start < length:
                if on:
                    event = int(rng.randint(min_event_length, max_event_length + 1))
                    if start == 0:  # the sequence starts inside an event
                        event = int(rng.randint(1, event + 1))
                    stop = min(start + event, length)
                    phase = rng.uniform(0, 2 * np.pi)
                    wave = np.sin(2 * np.pi * frequencies[k] * np.arange(stop - start) + phase)
                    x[start:stop] += amplitude * wave[:, None] * signatures[k]
                    labels[start:stop, k] = 1
                else:
                    stop = start + int(rng.geometric(1.0 / mean_gap))
                start, on = stop, not on
        X.append(x.astype(np.float32))
        y.append(labels)
    if not return_overlap:
        return X, y
    pooled = np.concatenate(y)
    overlap = Bunch(
        expected_overlap=1 - (1 - p) ** n_labels - n_labels * p * (1 - p) ** (n_labels - 1),
        realised_overlap=float((pooled.sum(axis=1) >= 2).mean()),
        label_fraction=pooled.mean(axis=0),
        signatures=signatures,
        frequencies=frequencies,
    )
    return X, y, overlap


def mask_labels(
    y,
    *,
    fraction=None,
    per_segment=False,
    stretch_length=None,
    missing_label=None,
    random_state=None,
):
    """Hide labels as partial annotation does: keep some stretches, or one step per segment.

    Returns a copy of ``y`` in which only some steps keep their label and the others hold the
    missing marker; ``y`` itself is never modified. Exactly one of two ways:

    - ``fraction``: each sequence keeps ``max(1, round(fraction * T_i))`` steps, in contiguous
      stretches of ``stretch_length`` steps (the last one shorter; one stretch per sequence
      when ``stretch_length`` is None), as annotators label the parts they watched. The
      stretches are shuffled and placed at random without overlapping: the unlabelled steps
      are split into the gaps before, between and after them uniformly at random over all
      ways of doing so. Two stretches may touch.
    - ``per_segment=True``: exactly one step per segment keeps its label (timestamp
      supervision), drawn uniformly inside the segment. A segment is a run of equal labels
      (equal rows for multi-label sequences) between steps without a label.

    The marker is ``missing_label`` when given (it is read as missing in ``y`` too); else NaN
    for float labels, None for strings and objects (the result is an object array), and NaN
    for integer and bool labels, returned as float. Steps already missing in ``y`` (NaN,
    None, or ``missing_label``) stay missing. A multi-label sequence ``(T_i, n_labels)`` loses
    whole steps (all its labels at once).

    Parameters
    ----------
    y : list of array-like of shape (T_i,) or (T_i, n_labels), or ndarray of shape (n, T) or \
(n, T, n_labels)
        Label sequences.
    fraction : float in (0, 1], default=None
        Share of each sequence's steps that keeps its label.
    per_segment : bool, default=False
        Keep one step per segment instead.
    stretch_length : int, default=None
        Length of the labelled stretches with ``fraction``, at least 1; None for one stretch
        per sequence.
    missing_label : None, number or str, default=None
        The marker to write (and to read as missing in ``y``), as the labelers'
        ``missing_label``.
    random_state : int, RandomState instance or None, default=None
        Seed or generator that makes the choice reproducible.

    Returns
    -------
    y_masked : list of ndarray, or ndarray when y was an array
        ``y`` with the hidden steps set to the marker, in the same shapes.

    See Also
    --------
    sk_seqlabel._data.targets.labelled_masks : Which steps carry a label.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel.datasets import mask_labels
    >>> y = [np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])]
    >>> mask_labels(y, fraction=0.4, random_state=0)[0]
    array([nan, nan, nan, nan, nan, nan,  2.,  2.,  2.,  2.])
    >>> mask_labels(y, per_segment=True, missing_label=-1, random_state=0)[0]
    array([ 0, -1, -1, -1,  1,  2, -1, -1, -1, -1])
    >>> y[0]  # unchanged
    array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
    """
    from ._data.targets import check_missing_label, labelled_masks

    missing_label = check_missing_label(missing_label)
    per_segment = bool(check_scalar(per_segment, "per_segment", (bool, np.bool_)))
    if (fraction is None) == (not per_segment):
        raise ValueError(
            "Pass either fraction (the share of steps to keep) or per_segment=True (one "
            "step per segment), not both and not neither."
        )
    if fraction is not None:
        fraction = float(
            check_scalar(
                fraction, "fraction", numbers.Real, min_val=0, max_val=1, include_boundaries="right"
            )
        )
    if stretch_length is not None:
        if fraction is None:
            raise ValueError("stretch_length applies to fraction only; drop it with per_segment.")
        stretch_length = _check_int(stretch_length, "stretch_length", min_val=1)
    rng = check_random_state(random_state)

    as_array = isinstance(y, np.ndarray) and y.ndim in (2, 3)
    if not as_array and not (isinstance(y, (list, tuple)) or isinstance(y, np.ndarray)):
        raise TypeError(f"Expected a list of label sequences for y; got {type(y).__name__}.")
    sequences = [np.asarray(yi) for yi in y]
    for i, yi in enumerate(sequences):
        if yi.ndim not in (1, 2):
            raise ValueError(
                f"y[{i}] has {yi.ndim} dimensions; label sequences are (T_i,) or (T_i, n_labels)."
            )
    given = labelled_masks(sequences, missing_label=missing_label)
    out = []
    for i, (yi, labelled) in enumerate(zip(sequences, given, strict=True)):
        if labelled.ndim == 2:
            labelled = labelled.all(axis=1)
        if missing_label is not None and missing_label == missing_label:
            _check_marker_fits(yi, missing_label, i)
        if fraction is not None:
            keep = _stretches(len(yi), fraction, stretch_length, rng) & labelled
        else:
            keep = _one_step_per_segment(yi, labelled, rng)
        out.append(_with_marker(yi, keep, missing_label))
    return np.stack(out) if as_array else out


def _check_marker_fits(yi, missing_label, i):
    """Refuse a marker that cannot be stored with the labels of ``y[i]``."""
    text_marker, text_labels = isinstance(missing_label, str), yi.dtype.kind in "US"
    if yi.dtype.kind != "O" and text_marker != text_labels:
        raise TypeError(
            f"missing_label={missing_label!r} cannot mark y[{i}], whose labels are of dtype "
            f"{yi.dtype}; use a {'string' if text_labels else 'number'} or None."
        )


def _stretches(length, fraction, stretch_length, rng):
    """Steps kept: ``max(1, round(fraction * length))`` in stretches at random places."""
    n_keep = min(max(1, round(fraction * length)), length)
    size = n_keep if stretch_length is None else stretch_length
    sizes = [size] * (n_keep // size) + [n_keep % size] * bool(n_keep % size)
    rng.shuffle(sizes)
    n_gaps, free = len(sizes) + 1, length - n_keep
    # Stars and bars: n_gaps - 1 bars among free + n_gaps - 1 slots split the free steps into
    # n_gaps gaps (possibly empty), every split equally likely.
    bars = np.sort(rng.choice(free + n_gaps - 1, size=n_gaps - 1, replace=False))
    gaps = np.diff(np.concatenate([[-1], bars, [free + n_gaps - 1]])) - 1
    keep = np.zeros(length, dtype=bool)
    at = 0
    for gap, stretch in zip(gaps, [*sizes, 0], strict=True):
        at += int(gap)
        keep[at : at + stretch] = True
        at += stretch
    return keep


def _one_step_per_segment(yi, labelled, rng):
    """One random step per run of equal labels (rows) among the labelled steps."""
    flat = yi.reshape(len(yi), -1)
    # A step without a label ends a run, so a NaN (never equal to itself) is never compared.
    same = np.zeros(len(yi), dtype=bool)
    if len(yi) > 1:
        same[1:] = (flat[1:] == flat[:-1]).all(axis=1) & labelled[1:] & labelled[:-1]
    keep = np.zeros(len(yi), dtype=bool)
    starts = np.flatnonzero(labelled & ~same)
    for start in starts:
        stop = start + 1
        while stop < len(yi) and same[stop]:
            stop += 1
        keep[rng.randint(start, stop)] = True
    return keep


def _with_marker(yi, keep, missing_label):
    """A copy of ``yi`` with the steps not kept set to the marker."""
    if missing_label is not None and missing_label == missing_label:
        marker = missing_label
        out = yi.astype(object) if yi.dtype.kind == "O" else yi.copy()
        if out.dtype.kind in "US":
            out = out.astype(np.result_type(out.dtype, np.array(marker).dtype))
    elif yi.dtype.kind in "OUS":
        marker, out = None, yi.astype(object)
    else:
        marker, out = np.nan, yi.astype(np.float64)
    out[~keep] = marker
    return out


#: The activities of BasicMotions, sorted: the columns of load_overlapping_activities' y.
ACTIVITY_NAMES = ("badminton", "running", "standing", "walking")


def load_overlapping_activities(
    split="train",
    *,
    n_streams=20,
    min_recordings=3,
    max_recordings=8,
    min_crop=30,
    max_crop=100,
    random_state=0,
    return_overlap=False,
):
    """Load a multi-label task from real recordings: two activity streams summed channel-wise.

    Each sequence lays a second activity stream over a first one, as two watches worn at once
    would read if their signals added up:

    1. Two streams ``a`` and ``b`` are drawn independently as :func:`load_activity_streams`
       draws one (from the recordings of ``split``, with the same crop arguments).
    2. ``b`` starts at an offset drawn uniformly from ``0 .. len(a) - 1`` and is cut at the end
       of ``a``; from there on the channels are ``a[t] + b[t - offset]``, before it ``a[t]``
       alone. The sequence has ``len(a)`` steps.
    3. ``y[t, k]`` is 1 when activity ``k`` (the columns in the order of
       ``ACTIVITY_NAMES``: badminton, running, standing, walking) is the activity of ``a`` at
       ``t`` or of ``b`` at ``t - offset``. Where both streams do the same activity one label
       is on, elsewhere after the offset two are.

    Up to half of the steps lie where ``b`` covers ``a`` (about half with a uniform offset, less
    where ``b`` is shorter than what is left of ``a``), and about three in four of them have two
    different activities, so about a third of the steps have two labels on (0.29, 0.37 and
    0.36 with the defaults for seeds 0, 1 and 2; ``return_overlap=True`` returns the share).

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        Which recordings the streams are built from; train and test share none.
    n_streams, min_recordings, max_recordings, min_crop, max_crop, random_state
        As in :func:`load_activity_streams`, for each of the two streams.
    return_overlap : bool, default=False
        If True, also return the realised overlap.

    Returns
    -------
    X : list of ndarray of shape (T_i, 6), dtype float32
        The summed channels.
    y : list of ndarray of shape (T_i, 4), dtype int64
        0/1 per activity (columns in ``ACTIVITY_NAMES`` order) and step.
    overlap : :class:`~sklearn.utils.Bunch`
        Only if ``return_overlap=True``, with the keys ``realised_overlap`` (float: the share
        of steps with two labels on), ``offsets`` (ndarray of shape (n_streams,), int64: where
        the second stream starts) and ``label_names`` (tuple of str: ``ACTIVITY_NAMES``).

    See Also
    --------
    make_overlapping_events : A synthetic multi-label task with a stated overlap rate.

    Examples
    --------
    >>> from sk_seqlabel.datasets import load_overlapping_activities
    >>> X, y, overlap = load_overlapping_activities(n_streams=20, return_overlap=True)
    >>> X[0].shape[1], y[0].shape[1], y[0].dtype
    (6, 4, dtype('int64'))
    >>> round(overlap.realised_overlap, 2), overlap.label_names[0]
    (0.29, 'badminton')
    """
    recordings, activities, n_crops, crop, n_streams = _check_stream_arguments(
        split, n_streams, min_recordings, max_recordings, min_crop, max_crop
    )
    rng = check_random_state(random_state)
    column = {name: k for k, name in enumerate(ACTIVITY_NAMES)}
    activity_columns = np.array([column[a] for a in activities], dtype=np.int64)
    X, y, offsets = [], [], []
    for _ in range(n_streams):
        first, first_ids = _draw_stream(recordings, activities, n_crops, crop, rng)
        second, second_ids = _draw_stream(recordings, activities, n_crops, crop, rng)
        offset = int(rng.randint(len(first)))
        width = min(len(second), len(first) - offset)
        x = first.copy()
        x[offset : offset + width] += second[:width]
        labels = np.zeros((len(first), len(ACTIVITY_NAMES)), dtype=np.int64)
        labels[np.arange(len(first)), activity_columns[first_ids]] = 1
        labels[np.arange(offset, offset + width), activity_columns[second_ids[:width]]] = 1
        X.append(x)
        y.append(labels)
        offsets.append(offset)
    if not return_overlap:
        return X, y
    pooled = np.concatenate(y)
    overlap = Bunch(
        realised_overlap=float((pooled.sum(axis=1) == 2).mean()),
        offsets=np.asarray(offsets, dtype=np.int64),
        label_names=ACTIVITY_NAMES,
    )
    return X, y, overlap
