"""From ragged lists to padded batches and back.

Sequences are grouped by similar length under two caps, a number of sequences per batch and a
number of *padded* timesteps per batch, so padding waste stays small and memory is bounded by the
cap rather than by the longest sequence in the data. Padding is zeros for inputs and
``PAD_LABEL`` for targets (which the loss ignores); modules also receive each sequence's length.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

__all__ = [
    "PAD_LABEL",
    "BucketBatchSampler",
    "SequenceDataset",
    "bucketed_loader",
    "check_split_weights",
    "collate_padded",
    "padded_length",
    "split_into_windows",
]

#: Target value at padded steps; ``torch.nn.CrossEntropyLoss`` ignores it by default.
PAD_LABEL = -100

# Each epoch sorts by length times a random factor in [1 - JITTER, 1 + JITTER], so batch
# composition changes between epochs while batch mates stay within ~2 * JITTER of each other.
_LENGTH_JITTER = 0.1


class SequenceDataset(Dataset):
    """A list of sequences (and optionally their encoded labels) as a torch ``Dataset``.

    Parameters
    ----------
    X : list of ndarray of shape (T_i, n_features), dtype float32
    y : list of ndarray of shape (T_i,), dtype int64, or of shape (T_i, n_outputs), float32, \
optional
        Class codes (``PAD_LABEL`` where a step has no label) or values (NaN where none).
    weights : list of ndarray of shape (T_i,), dtype float32, optional
        A weight for every timestep's loss; items then carry it as a third element.

    Examples
    --------
    >>> import numpy as np
    >>> ds = SequenceDataset([np.zeros((3, 2), np.float32), np.ones((5, 2), np.float32)])
    >>> len(ds), ds.lengths.tolist()
    (2, [3, 5])
    >>> ds[1, 1, 3][0].shape
    (2, 2)
    """

    def __init__(self, X, y=None, weights=None):
        self.X = X
        self.y = y
        self.weights = weights
        known = getattr(X, "lengths", None)  # recordings that load on access know theirs
        if known is not None:
            self.lengths = np.asarray(known, dtype=np.int64)
        else:
            self.lengths = np.fromiter((len(x) for x in X), dtype=np.int64, count=len(X))

    def __len__(self):
        return len(self.X)

    def __getitem__(self, key):
        """``ds[i]`` is sequence ``i``; ``ds[i, start, stop]`` a window of it (views, no copy)."""
        if isinstance(key, tuple):
            i, start, stop = key
            window = slice(start, stop)
        else:
            i, window = key, slice(None)
        y = None if self.y is None else self.y[i][window]
        if self.weights is None:
            return self.X[i][window], y
        return self.X[i][window], y, self.weights[i][window]


def _parent_and_indices(dataset):
    """The :class:`SequenceDataset` behind ``dataset`` and the positions it selects in it."""
    if isinstance(dataset, Subset):
        parent, indices = _parent_and_indices(dataset.dataset)
        return parent, indices[np.asarray(dataset.indices, dtype=np.int64)]
    return dataset, np.arange(len(dataset))


def check_split_weights(dataset_train, dataset_valid=None, class_weight=None):
    """Refuse a training or validation side on which the loss weighs every timestep zero.

    A step's loss weight is its sample weight times its class's weight. A side where all of
    them are zero gives a loss of 0 at every step: training would learn nothing, and early
    stopping would compare validation losses of 0.

    Parameters
    ----------
    dataset_train : SequenceDataset or Subset of one
        The sequences trained on (all of them without early stopping).
    dataset_valid : SequenceDataset or Subset of one, optional
        The sequences early stopping holds out.
    class_weight : sequence of float, optional
        The weight of each class (by label code); None weighs every class 1.

    Raises
    ------
    ValueError
        Naming the side, its number of sequences, and what to change.

    Examples
    --------
    >>> import numpy as np
    >>> from torch.utils.data import Subset
    >>> X = [np.zeros((2, 1), np.float32)] * 3
    >>> y = [np.array([0, 1])] * 3
    >>> data = SequenceDataset(X, y, weights=[np.ones(2, np.float32)] * 2 + [np.zeros(2)])
    >>> check_split_weights(Subset(data, [0, 1]), Subset(data, [2]))
    Traceback (most recent call last):
    ...
    ValueError: The validation side of the early-stopping split (1 sequence) has a loss \
weight of 0 at every timestep (no target, or sample_weight times class_weight 0), so every \
validation loss would be 0 and early stopping would compare nothing. Give some of these \
sequences non-zero weights, change the split (random_state, validation_fraction or groups), or set \
early_stopping=False.
    """
    nothing = "so training would learn nothing. Give some of"
    split = "change the split (random_state, validation_fraction or groups)"
    if dataset_valid is None:
        sides = [
            (
                dataset_train,
                "training set",
                f"{nothing} its timesteps a non-zero sample_weight and class_weight.",
            )
        ]
    else:
        sides = [
            (
                dataset_train,
                "training side of the early-stopping split",
                f"{nothing} these sequences non-zero weights, or {split}.",
            ),
            (
                dataset_valid,
                "validation side of the early-stopping split",
                "so every validation loss would be 0 and early stopping would compare "
                f"nothing. Give some of these sequences non-zero weights, {split}, or set "
                "early_stopping=False.",
            ),
        ]
    for dataset, side, consequence in sides:
        parent, indices = _parent_and_indices(dataset)
        if parent.y is None:
            continue
        if not any(_has_weight(parent, i, class_weight) for i in indices):
            n = len(indices)
            raise ValueError(
                f"The {side} ({n} sequence{'s' * (n != 1)}) has a loss weight of 0 at every "
                "timestep (no target, or sample_weight times class_weight 0), "
                f"{consequence}"
            )


def _has_weight(dataset, i, class_weight):
    """Whether some timestep of sequence ``i`` counts in the loss."""
    y = np.asarray(dataset.y[i])
    if y.dtype.kind == "f":
        # values, or 0/1 labels: a step counts where some entry has one (a multi-label
        # class weight is "balanced", positive wherever a label has entries)
        counts = ~np.isnan(y.reshape(len(y), -1)).all(axis=1)
    else:
        counts = y != PAD_LABEL
        if class_weight is not None:
            counts &= np.asarray(class_weight)[np.maximum(y, 0)] > 0
    if dataset.weights is not None:
        counts &= np.asarray(dataset.weights[i]) > 0
    return bool(counts.any())


def split_into_windows(lengths, max_length, rng=None):
    """Cut sequences longer than ``max_length`` into consecutive windows covering them once.

    Parameters
    ----------
    lengths : ndarray of shape (n_sequences,)
    max_length : int
    rng : numpy.random.Generator, optional
        When given, each long sequence's cuts are shifted by a random phase in
        ``[0, max_length)``, so windows start at new offsets every epoch; otherwise cuts fall
        at multiples of ``max_length``.

    Returns
    -------
    seq, start, stop : ndarray of int
        Window ``j`` is steps ``start[j]:stop[j]`` of sequence ``seq[j]``; every step of every
        sequence lies in exactly one window.

    Examples
    --------
    >>> seq, start, stop = split_into_windows(np.array([3, 10]), 4)
    >>> list(zip(seq.tolist(), start.tolist(), stop.tolist()))
    [(0, 0, 3), (1, 0, 4), (1, 4, 8), (1, 8, 10)]
    """
    seq, start, stop = [], [], []
    for i, length in enumerate(lengths):
        if length <= max_length:
            cuts = [0, length]
        else:
            phase = int(rng.integers(max_length)) if rng is not None else 0
            cuts = [0, *range(phase or max_length, length, max_length), length]
        seq += [i] * (len(cuts) - 1)
        start += cuts[:-1]
        stop += cuts[1:]
    return np.array(seq), np.array(start), np.array(stop)


def padded_length(longest, round_lengths=False):
    """Time steps a batch whose longest sequence has ``longest`` steps is padded to.

    With ``round_lengths``, ``longest`` is rounded up to a multiple of the largest power of
    two no greater than ``longest / 8`` (at least 8): fewer than ``max(8, longest / 8)``
    extra steps, and only 8 distinct lengths per doubling, so batch shapes repeat. On a GPU
    every new shape costs cuDNN a new convolution plan (43 ms against 8.6 ms for a step at a
    repeated shape, in the reference loops' profile); on a CPU oneDNN keeps a primitive per
    shape in its caches, host memory that grows with every new shape (benchmarks/RESULTS.md,
    section 20).

    Examples
    --------
    >>> [padded_length(n, round_lengths=True) for n in (1, 9, 100, 1000, 1025)]
    [8, 16, 104, 1024, 1152]
    >>> padded_length(100)
    100
    """
    if not round_lengths:
        return int(longest)
    step = max(8, 1 << max(0, (int(longest) // 8).bit_length() - 1))
    return -(-int(longest) // step) * step


def plan_batches(lengths, batch_size, max_batch_timesteps, rng=None, batch_overhead=None):
    """Group sequence indices into batches of similar length.

    The plan never depends on the device or on rounding: batches padded to rounded lengths
    (:func:`collate_padded`) hold the same sequences as unrounded ones, so training takes the
    same optimizer steps everywhere, at a cost of at most ``max(8, longest / 8)`` padded steps per
    row over the cap.

    Parameters
    ----------
    lengths : ndarray of shape (n_sequences,)
    batch_size : int
        At most this many sequences per batch.
    max_batch_timesteps : int
        At most this many padded timesteps (batch rows times the padded length) per batch; a
        sequence longer than the cap gets a batch of its own.
    rng : numpy.random.Generator, optional
        When given, lengths are jittered before sorting and the batch order is shuffled;
        otherwise the plan is deterministic (longest first).
    batch_overhead : int, optional
        Cost of one batch in padded timesteps: batches are then cut where the padded steps
        plus this per batch are fewest (:func:`_cheapest_cuts`). None fills each batch as
        the caps allow.

    Returns
    -------
    list of ndarray of int
        Indices into ``lengths``, one array per batch.

    Examples
    --------
    >>> import numpy as np
    >>> [b.tolist() for b in plan_batches(np.array([5, 100, 6, 90]), 8, 200)]
    [[1, 3], [2, 0]]
    """
    lengths = np.asarray(lengths)
    key = (
        lengths
        if rng is None
        else lengths * rng.uniform(1 - _LENGTH_JITTER, 1 + _LENGTH_JITTER, size=len(lengths))
    )
    order = np.argsort(-key, kind="stable")
    if batch_overhead is not None:
        cuts = _cheapest_cuts(lengths[order], batch_size, max_batch_timesteps, batch_overhead)
        batches = [order[a:b] for a, b in itertools.pairwise(cuts)]
        if rng is not None:
            rng.shuffle(batches)
        return batches
    batches, start = [], 0
    # Greedy over lengths in descending order: the first index of a batch is its longest
    # (up to jitter), so the padded size is known when the batch opens.
    while start < len(order):
        longest = int(lengths[order[start]])
        rows = max(1, min(batch_size, max_batch_timesteps // max(longest, 1)))
        stop = start + rows
        chunk = order[start:stop]
        # Jitter can put a longer sequence later in the batch; shrink until the cap holds.
        while len(chunk) > 1 and len(chunk) * lengths[chunk].max() > max_batch_timesteps:
            chunk = chunk[:-1]
        batches.append(chunk)
        start += len(chunk)
    if rng is not None:
        rng.shuffle(batches)
    return batches


def _cheapest_cuts(lengths, batch_size, max_batch_timesteps, overhead):
    """Cut ``lengths`` (in planning order) into consecutive batches of least total cost.

    A batch costs its padded steps (rows times its longest length) plus ``overhead``; batches
    hold at most ``batch_size`` rows and ``max_batch_timesteps`` padded steps (one row may
    exceed it). Dynamic programming over the cut positions: O(n * batch_size).

    Returns
    -------
    ndarray of int
        Cut positions ``0 = c_0 < c_1 < ... = n``; batch ``k`` is ``c_k:c_{k+1}``.
    """
    n = len(lengths)
    best = np.zeros(n + 1)
    previous = np.zeros(n + 1, dtype=np.int64)
    for stop in range(1, n + 1):
        first = max(0, stop - batch_size)
        # longest of lengths[stop - rows : stop] for rows = 1 .. stop - first
        longest = np.maximum.accumulate(lengths[first:stop][::-1])
        rows = np.arange(1, len(longest) + 1)
        padded = rows * longest
        cost = best[stop - rows] + padded + overhead
        cost[(padded > max_batch_timesteps) & (rows > 1)] = np.inf
        k = int(np.argmin(cost))
        best[stop], previous[stop] = cost[k], stop - rows[k]
    cuts = [n]
    while cuts[-1] > 0:
        cuts.append(previous[cuts[-1]])
    return np.array(cuts[::-1])


class BucketBatchSampler(Sampler):
    """Yield batches of similar-length sequences (or windows of them), reshuffled each epoch.

    Parameters
    ----------
    lengths : ndarray of shape (n_sequences,)
    batch_size, max_batch_timesteps : int
        See :func:`plan_batches`.
    shuffle : bool
        Jitter, shift windows and shuffle each epoch (training), or keep one fixed plan.
    random_state : int or None
        Seeds the shuffling; the sequence of epochs is reproducible for a fixed seed.
    indices : ndarray of int, optional
        What to yield for sequence ``i`` (its position in the underlying dataset); default
        ``i``.
    max_length : int, optional
        Cut longer sequences into windows of at most this many steps
        (:func:`split_into_windows`) and yield ``(index, start, stop)`` keys.
    batch_overhead : int, optional
        See :func:`plan_batches`.
    """

    def __init__(
        self,
        lengths,
        batch_size,
        max_batch_timesteps,
        shuffle,
        random_state=None,
        indices=None,
        max_length=None,
        batch_overhead=None,
    ):
        self.lengths = np.asarray(lengths)
        self.batch_overhead = batch_overhead
        self.batch_size = batch_size
        self.max_batch_timesteps = max_batch_timesteps
        self.shuffle = shuffle
        self.indices = np.arange(len(self.lengths)) if indices is None else np.asarray(indices)
        self.max_length = max_length
        self._rng = np.random.default_rng(random_state) if shuffle else None
        self._fixed = self._plan(rng=None)
        self._coming = None  # the next shuffled epoch's plan, once len() has asked for it

    def _plan(self, rng):
        if self.max_length is None:
            keys = self.indices.tolist()
            lengths = self.lengths
        else:
            seq, start, stop = split_into_windows(self.lengths, self.max_length, rng)
            keys = list(zip(self.indices[seq].tolist(), start.tolist(), stop.tolist(), strict=True))
            lengths = stop - start
        plan = plan_batches(
            lengths,
            self.batch_size,
            self.max_batch_timesteps,
            rng,
            batch_overhead=self.batch_overhead,
        )
        return [[keys[j] for j in batch] for batch in plan]

    def __iter__(self):
        if not self.shuffle:
            return iter(self._fixed)
        plan, self._coming = self._coming_plan(), None
        return iter(plan)

    def __len__(self):
        """The number of batches the next iteration yields (exact, also when shuffling)."""
        return len(self._coming_plan() if self.shuffle else self._fixed)

    def _coming_plan(self):
        # Jitter and window offsets change a shuffled epoch's count, so len() draws the coming
        # epoch's plan and __iter__ uses that one: the generator is drawn once per epoch either
        # way, so asking for the length changes no plan.
        if self._coming is None:
            self._coming = self._plan(self._rng)
        return self._coming


def collate_padded(items, round_lengths=False):
    """Pad a list of ``(x, y)`` items into one batch.

    The batch's time axis is the longest item's length, rounded up by :func:`padded_length`
    when ``round_lengths`` is true.

    Returns
    -------
    X : dict
        ``{"x": tensor (batch, time, n_features) float32, zeros beyond each length,
        "lengths": tensor (batch,) int64}``, and ``"weight"`` (batch, time) float32 when the
        items carry loss weights (zeros beyond each length).
    y : tensor (batch, time) int64, tensor (batch, time, n_outputs) float32, or None
        Class codes with ``PAD_LABEL`` beyond each length, or float targets with NaN beyond
        it; None when the items carry no targets.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = collate_padded([(np.ones((2, 1), np.float32), np.array([1, 0])),
    ...                        (np.ones((3, 1), np.float32), np.array([0, 0, 1]))])
    >>> X["x"][:, :, 0].tolist(), X["lengths"].tolist(), y.tolist()
    ([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]], [2, 3], [[1, 0, -100], [0, 0, 1]])
    """
    lengths = np.fromiter((len(item[0]) for item in items), dtype=np.int64, count=len(items))
    T, n_features = padded_length(lengths.max(), round_lengths), items[0][0].shape[1]
    # Filling one preallocated array is a single pass; torch's pad_sequence would first
    # convert every item to a tensor.
    xb = np.zeros((len(items), T, n_features), dtype=np.float32)
    has_y = items[0][1] is not None
    yb = None
    if has_y:
        # Class codes pad with PAD_LABEL, values (float targets) with NaN: each loss skips
        # its own marker, the same one a step the user left without a target carries.
        y0 = np.asarray(items[0][1])
        if y0.dtype.kind == "f":
            yb = np.full((len(items), T, *y0.shape[1:]), np.nan, dtype=np.float32)
        else:
            yb = np.full((len(items), T, *y0.shape[1:]), PAD_LABEL, dtype=np.int64)
    for row, (x, y, *_) in enumerate(items):
        xb[row, : len(x)] = x
        if has_y:
            yb[row, : len(y)] = y
    X = {"x": torch.from_numpy(xb), "lengths": torch.from_numpy(lengths)}
    if len(items[0]) == 3:  # per-timestep loss weights, zero at padded steps
        wb = np.zeros((len(items), T), dtype=np.float32)
        for row, (_, _, w) in enumerate(items):
            wb[row, : len(w)] = w
        X["weight"] = torch.from_numpy(wb)
    return X, (torch.from_numpy(yb) if has_y else None)


def bucketed_loader(
    dataset,
    *,
    batch_size,
    max_batch_timesteps,
    shuffle=False,
    random_state=None,
    max_length=None,
    round_lengths=False,
    pin_memory=False,
    batch_overhead=None,
):
    """A ``DataLoader`` over length-bucketed, padded batches of a :class:`SequenceDataset`.

    skorch calls this as its ``iterator_train`` / ``iterator_valid``; ``Subset`` views (from
    the validation split) work too. With ``max_length``, longer sequences are cut into windows
    (new offsets each epoch when shuffling). With ``shuffle=False`` the plan is fixed, and
    ``loader.batch_sampler`` yields each batch's keys (dataset positions) in loader order.
    With ``round_lengths``, batches are padded to lengths that repeat (:func:`padded_length`);
    the plan (which sequences share a batch, in which order) is the same either way.
    ``batch_overhead`` weighs padding against the number of batches (:func:`plan_batches`). With
    ``pin_memory``, batches are collated into page-locked memory, so copies to a GPU can run
    without blocking.

    The loader draws its base seed from a private generator, so iterating it leaves torch's
    global random state alone.
    """
    parent, indices = _parent_and_indices(dataset)
    sampler = BucketBatchSampler(
        parent.lengths[indices],
        batch_size,
        max_batch_timesteps,
        shuffle,
        random_state,
        indices=indices,
        max_length=max_length,
        batch_overhead=batch_overhead,
    )
    collate = functools.partial(collate_padded, round_lengths=round_lengths)
    # A DataLoader draws a base seed for its workers on every iteration, from torch's global
    # generator unless given one; ours has no workers, so a fresh generator costs nothing.
    return DataLoader(
        parent,
        batch_sampler=sampler,
        collate_fn=collate,
        pin_memory=pin_memory,
        generator=torch.Generator(),
    )
