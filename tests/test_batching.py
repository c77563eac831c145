"""Length-bucketed batching: caps hold, every sequence appears once, order is reproducible."""

import numpy as np
import pytest
import torch

from sk_seqlabel._training.batching import (
    PAD_LABEL,
    BucketBatchSampler,
    SequenceDataset,
    bucketed_loader,
    collate_padded,
    padded_length,
    plan_batches,
    split_into_windows,
)


def _lengths(n=500, seed=0):
    rng = np.random.default_rng(seed)
    return np.exp(rng.uniform(np.log(10), np.log(5000), n)).astype(int)


@pytest.mark.parametrize("shuffle", [False, True])
def test_plan_covers_each_sequence_once_under_both_caps(shuffle):
    lengths = _lengths()
    rng = np.random.default_rng(0) if shuffle else None
    plan = plan_batches(lengths, batch_size=16, max_batch_timesteps=8000, rng=rng)
    assert sorted(np.concatenate(plan).tolist()) == list(range(len(lengths)))
    for batch in plan:
        assert len(batch) <= 16
        # A sequence longer than the cap gets a batch of its own, never a partner.
        assert len(batch) == 1 or len(batch) * lengths[batch].max() <= 8000


def test_bucketing_keeps_padding_small():
    lengths = _lengths()
    plan = plan_batches(lengths, 64, 2**16, rng=np.random.default_rng(0))
    padded = sum(len(b) * lengths[b].max() for b in plan)
    # Random batches of log-uniform lengths waste most of their steps; bucketing ~10%.
    assert lengths.sum() / padded > 0.8


def test_sampler_reshuffles_each_epoch_reproducibly():
    lengths = _lengths(200)
    a = BucketBatchSampler(lengths, 8, 10_000, shuffle=True, random_state=3)
    b = BucketBatchSampler(lengths, 8, 10_000, shuffle=True, random_state=3)
    epochs_a = [list(a) for _ in range(3)]
    assert epochs_a == [list(b) for _ in range(3)]
    assert epochs_a[0] != epochs_a[1]


def test_inference_plan_is_fixed():
    sampler = BucketBatchSampler(_lengths(50), 8, 10_000, shuffle=False)
    assert list(sampler) == list(sampler)
    assert len(sampler) == len(list(sampler))


def test_collate_pads_inputs_with_zeros_and_labels_with_pad_label():
    items = [
        (np.full((2, 3), 7, np.float32), np.array([1, 2])),
        (np.full((4, 3), 5, np.float32), np.array([0, 1, 2, 0])),
    ]
    X, y = collate_padded(items)
    assert X["x"].shape == (2, 4, 3) and X["x"].dtype == torch.float32
    assert X["lengths"].tolist() == [2, 4]
    assert torch.all(X["x"][0, 2:] == 0) and torch.all(X["x"][0, :2] == 7)
    assert y.tolist() == [[1, 2, PAD_LABEL, PAD_LABEL], [0, 1, 2, 0]]
    assert collate_padded([(items[0][0], None)])[1] is None


def test_loader_over_a_subset_yields_positions_in_the_full_dataset():
    lengths = (3, 50, 4, 60, 5)
    X = [np.zeros((L, 1), np.float32) for L in lengths]
    ds = torch.utils.data.Subset(SequenceDataset(X), [1, 2, 4])
    loader = bucketed_loader(ds, batch_size=2, max_batch_timesteps=1000)
    seen = []
    for keys, (Xb, _) in zip(loader.batch_sampler, loader, strict=True):
        assert Xb["lengths"].tolist() == [lengths[i] for i in keys]
        seen += keys
    assert sorted(seen) == [1, 2, 4]


@pytest.mark.parametrize("seed", [None, 0, 1])
def test_windows_cover_every_step_exactly_once(seed):
    lengths = np.array([5, 100, 37, 64, 65])
    rng = None if seed is None else np.random.default_rng(seed)
    seq, start, stop = split_into_windows(lengths, 16, rng)
    assert np.all(stop - start <= 16) and np.all(stop > start)
    for i, length in enumerate(lengths):
        covered = np.concatenate(
            [np.arange(a, b) for a, b in zip(start[seq == i], stop[seq == i], strict=True)]
        )
        np.testing.assert_array_equal(np.sort(covered), np.arange(length))


def test_training_windows_move_between_epochs_and_bound_the_batch():
    rng = np.random.default_rng(0)
    X = [rng.standard_normal((L, 2)).astype(np.float32) for L in (1000, 30, 700)]
    y = [np.arange(len(x)) for x in X]  # a label is its own step index
    loader = bucketed_loader(
        SequenceDataset(X, y),
        batch_size=8,
        max_batch_timesteps=400,
        shuffle=True,
        random_state=0,
        max_length=100,
    )
    starts = []
    for _ in range(2):
        epoch_starts, n_steps = set(), 0
        for Xb, yb in loader:
            assert Xb["x"].shape[0] * Xb["x"].shape[1] <= 400
            real = yb != -100
            n_steps += int(real.sum())
            epoch_starts |= set(yb[:, 0].tolist())
        assert n_steps == 1730  # every step once
        starts.append(epoch_starts)
    assert starts[0] != starts[1]


def test_rounded_lengths_repeat_cost_at_most_an_eighth_and_respect_the_cap():
    lengths = _lengths(2000, seed=4)
    rounded = np.array([padded_length(n, round_lengths=True) for n in lengths])
    assert (rounded >= lengths).all() and (rounded - lengths < np.maximum(8, lengths / 8)).all()
    # 10..5000 steps span 9 doublings: at most 8 lengths per doubling (plus the first ones)
    assert len(np.unique(rounded)) <= 8 * 10
    for rng in (None, np.random.default_rng(0)):
        plan = plan_batches(lengths, 64, 2**14, rng=rng)
        assert sorted(np.concatenate(plan).tolist()) == list(range(len(lengths)))
        for batch in plan:
            # planned on real lengths: rounding adds at most an eighth (8 steps) per row
            cap = 2**14 + len(batch) * np.maximum(8, lengths[batch].max() / 8)
            assert len(batch) == 1 or len(batch) * rounded[batch].max() <= cap


def test_rounding_lengths_does_not_change_which_sequences_train_together():
    # The GPU pads to rounded lengths; the batches, and so the optimizer steps, stay the same.
    lengths = _lengths(300, seed=5)
    X = [np.ones((n, 1), np.float32) for n in lengths]
    y = [np.zeros(n, np.int64) for n in lengths]

    def epochs(round_lengths):
        loader = bucketed_loader(
            SequenceDataset(X, y),
            batch_size=16,
            max_batch_timesteps=4096,
            shuffle=True,
            random_state=0,
            max_length=512,
            round_lengths=round_lengths,
            batch_overhead=2048,
        )
        return [[Xb["lengths"].tolist() for Xb, _ in loader] for _ in range(2)]

    assert epochs(True) == epochs(False)


def test_loader_with_rounded_lengths_pads_to_the_rounded_length():
    X = [np.ones((n, 2), np.float32) for n in (100, 97, 9)]
    y = [np.zeros(n, np.int64) for n in (100, 97, 9)]
    loader = bucketed_loader(
        SequenceDataset(X, y), batch_size=2, max_batch_timesteps=1000, round_lengths=True
    )
    shapes = [(tuple(Xb["x"].shape), Xb["lengths"].tolist()) for Xb, _ in loader]
    assert shapes == [((2, 104, 2), [100, 97]), ((1, 16, 2), [9])]


def _brute_force_cost(lengths, batch_size, cap, overhead):
    """Least cost over every cut of sorted lengths into consecutive batches (small n only)."""
    n, best = len(lengths), {0: 0.0}
    for stop in range(1, n + 1):
        costs = []
        for start in range(max(0, stop - batch_size), stop):
            padded = (stop - start) * lengths[start:stop].max()
            if padded <= cap or stop - start == 1:
                costs.append(best[start] + padded + overhead)
        best[stop] = min(costs)
    return best[n]


@pytest.mark.parametrize("seed", range(5))
def test_padding_aware_plan_is_the_cheapest_cut_and_respects_the_caps(seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 300, size=14)
    plan = plan_batches(lengths, batch_size=4, max_batch_timesteps=600, batch_overhead=100)
    assert sorted(np.concatenate(plan).tolist()) == list(range(len(lengths)))
    for batch in plan:
        assert len(batch) <= 4
        assert len(batch) == 1 or len(batch) * lengths[batch].max() <= 600
    cost = sum(len(b) * lengths[b].max() + 100 for b in plan)
    ordered = np.sort(lengths)[::-1]
    assert cost == _brute_force_cost(ordered, 4, 600, 100)


def test_padding_aware_plan_trades_padding_for_batches():
    lengths = _lengths(300, seed=6)

    def padding_and_count(overhead):
        plan = plan_batches(lengths, 32, 8192, batch_overhead=overhead)
        padded = sum(len(b) * lengths[b].max() for b in plan)
        return 1 - lengths.sum() / padded, len(plan)

    greedy, cheap, free = (padding_and_count(o) for o in (None, 2048, 0))
    assert free[0] == 0.0  # batches cost nothing: no padding at all
    assert cheap[0] < greedy[0]  # less padding ...
    assert cheap[1] < free[1]  # ... without a batch per length


def test_sampler_length_is_the_number_of_batches_its_next_epoch_yields():
    lengths = np.random.default_rng(0).integers(20, 200, size=40)
    sampler = BucketBatchSampler(lengths, 8, 400, shuffle=True, random_state=0, max_length=150)
    same_seed = BucketBatchSampler(lengths, 8, 400, shuffle=True, random_state=0, max_length=150)
    counts = []
    for _ in range(6):
        counts.append(len(sampler))
        epoch = list(sampler)
        assert len(epoch) == counts[-1]
        assert epoch == list(same_seed)  # asking for the length changes no plan
    assert len(set(counts)) > 1  # jitter and moving windows change the count
