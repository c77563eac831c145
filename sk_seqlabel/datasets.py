"""Data sets for sequence labelling: a synthetic generator and real activity streams.

Both functions follow the package's data contract: ``X`` is a list of float32 arrays of shape
``(T_i, n_features)`` and ``y`` a list of 1-D label arrays of shape ``(T_i,)``, with lengths that
differ between sequences. Both are seeded, so the same ``random_state`` gives the same data.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
from sklearn.utils import check_random_state, check_scalar

__all__ = ["load_activity_streams", "make_sequence_labeling"]

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
    # Drawing exp(uniform(log a, log(b + 1))) and flooring gives every integer in [a, b] with a
    # probability proportional to log((k + 1) / k): log-uniform, with b reachable.
    log_lengths = rng.uniform(np.log(min_length), np.log(max_length + 1), size=n_sequences)
    lengths = np.clip(np.floor(np.exp(log_lengths)).astype(np.int64), min_length, max_length)

    X, y = [], []
    for length in lengths:
        labels = _piecewise_constant_labels(length, n_classes, mean_segment_length, rng)
        features = means[labels] + noise * rng.standard_normal((length, n_features))
        X.append(features.astype(np.float32))
        y.append(labels)
    return X, y


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
    not document which column is which). The values are left as the data set gives them; scale
    them (for example with ``SequenceScaler``) before training.

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
    rng = check_random_state(random_state)

    X, y, ids = [], [], []
    for _ in range(n_streams):
        n_crops = rng.randint(min_recordings, max_recordings + 1)
        crops, crop_ids = [], []
        previous = None
        for _ in range(n_crops):
            candidates = np.flatnonzero(activities != previous)
            recording = int(rng.choice(candidates))
            length = int(rng.randint(min_crop, max_crop + 1))
            start = int(rng.randint(0, recording_length - length + 1))
            crops.append(recordings[recording, start : start + length])
            crop_ids.append(np.full(length, recording, dtype=np.int64))
            previous = activities[recording]
        stream_ids = np.concatenate(crop_ids)
        X.append(np.concatenate(crops))
        y.append(activities[stream_ids])
        ids.append(stream_ids)
    if return_recording_ids:
        return X, y, ids
    return X, y
