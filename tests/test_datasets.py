import itertools

import numpy as np
import pytest

from sk_seqlabel.datasets import (
    ACTIVITY_NAMES,
    _bayes_limit,
    _load_basic_motions,
    _markov_tables,
    _sample_chain,
    load_activity_soft_sensor,
    load_activity_streams,
    load_overlapping_activities,
    make_event_masks,
    make_filtered_signals,
    make_markov_songs,
    make_overlapping_events,
    make_rare_segments,
    make_sequence_labeling,
    mask_labels,
)

ACTIVITIES = {"badminton", "running", "standing", "walking"}


def _runs(values):
    """Return (start, stop) of each run of equal consecutive values."""
    change = np.flatnonzero(values[1:] != values[:-1]) + 1
    bounds = np.concatenate([[0], change, [len(values)]])
    return list(itertools.pairwise(bounds.tolist()))


# --- make_sequence_labeling ----------------------------------------------------------------------


def test_make_sequence_labeling_shapes_dtypes_and_lengths():
    X, y = make_sequence_labeling(
        30, min_length=10, max_length=40, n_features=5, n_classes=4, random_state=0
    )
    assert len(X) == len(y) == 30
    for seq, labels in zip(X, y, strict=True):
        assert seq.dtype == np.float32
        assert labels.dtype == np.int64
        assert seq.ndim == 2 and seq.shape[1] == 5
        assert labels.shape == (seq.shape[0],)
        assert 10 <= seq.shape[0] <= 40
    assert set(np.concatenate(y).tolist()) == set(range(4))


def test_make_sequence_labeling_lengths_cover_range():
    X, _ = make_sequence_labeling(2000, min_length=3, max_length=6, n_classes=2, random_state=0)
    lengths = np.array([len(seq) for seq in X])
    assert set(lengths.tolist()) == {3, 4, 5, 6}
    # Log-uniform: shorter lengths are more frequent than longer ones.
    assert np.mean(lengths == 3) > np.mean(lengths == 6)


def test_make_sequence_labeling_equal_bounds_give_fixed_length():
    X, y = make_sequence_labeling(5, min_length=7, max_length=7, random_state=0)
    assert [len(seq) for seq in X] == [7] * 5
    assert [len(labels) for labels in y] == [7] * 5


def test_make_sequence_labeling_is_deterministic_per_seed():
    X1, y1 = make_sequence_labeling(10, random_state=42)
    X2, y2 = make_sequence_labeling(10, random_state=42)
    X3, _ = make_sequence_labeling(10, random_state=43)
    for a, b in zip(X1, X2, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(y1, y2, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(X1, X3, strict=True))


def test_make_sequence_labeling_accepts_a_random_state_instance():
    X1, _ = make_sequence_labeling(3, random_state=np.random.RandomState(5))
    X2, _ = make_sequence_labeling(3, random_state=5)
    for a, b in zip(X1, X2, strict=True):
        np.testing.assert_array_equal(a, b)


def test_make_sequence_labeling_segments_change_class_and_have_expected_mean_length():
    _, y = make_sequence_labeling(
        200, min_length=200, max_length=200, mean_segment_length=10, random_state=0
    )
    segment_lengths = []
    for labels in y:
        runs = _runs(labels)
        # Runs of equal labels are exactly the segments, so a boundary is always a change.
        segment_lengths.extend(stop - start for start, stop in runs[:-1])  # last one is cut
    # Geometric lengths with mean 10; the cut last segments are left out.
    assert 9.0 < np.mean(segment_lengths) < 11.0
    assert min(segment_lengths) >= 1


def test_make_sequence_labeling_noiseless_labels_are_recoverable_by_nearest_mean():
    X, y = make_sequence_labeling(20, n_features=3, n_classes=5, noise=0.0, random_state=1)
    X_all, y_all = np.concatenate(X), np.concatenate(y)
    means = np.stack([X_all[y_all == k].mean(axis=0) for k in range(5)])
    distances = np.linalg.norm(X_all[:, None, :] - means[None, :, :], axis=-1)
    np.testing.assert_array_equal(distances.argmin(axis=1), y_all)
    # Without noise all timesteps of a class are the same vector, and classes differ.
    first_rows = []
    for k in range(5):
        rows = X_all[y_all == k]
        np.testing.assert_array_equal(rows, np.broadcast_to(rows[0], rows.shape))
        first_rows.append(rows[0])
    assert len({row.tobytes() for row in first_rows}) == 5


def test_make_sequence_labeling_noise_sets_the_spread():
    X, y = make_sequence_labeling(50, noise=0.5, random_state=0)
    X_all, y_all = np.concatenate(X), np.concatenate(y)
    residuals = np.concatenate(
        [X_all[y_all == k] - X_all[y_all == k].mean(axis=0) for k in range(3)]
    )
    assert residuals.std() == pytest.approx(0.5, rel=0.05)


def test_make_sequence_labeling_is_learnable_per_timestep():
    from sklearn.linear_model import LogisticRegression

    X, y = make_sequence_labeling(60, random_state=0)
    clf = LogisticRegression().fit(np.concatenate(X[:40]), np.concatenate(y[:40]))
    assert clf.score(np.concatenate(X[40:]), np.concatenate(y[40:])) > 0.8


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"min_length": 50, "max_length": 10}, ValueError, "min_length=50 is greater"),
        ({"n_classes": 1}, ValueError, "n_classes"),
        ({"n_sequences": 0}, ValueError, "n_sequences"),
        ({"min_length": 0}, ValueError, "min_length"),
        ({"n_features": 0}, ValueError, "n_features"),
        ({"mean_segment_length": 0.5}, ValueError, "mean_segment_length"),
        ({"noise": -1.0}, ValueError, "noise"),
        ({"n_classes": 2.5}, TypeError, "n_classes"),
        ({"n_sequences": True}, TypeError, "n_sequences"),
    ],
)
def test_make_sequence_labeling_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_sequence_labeling(**kwargs)


# --- make_markov_songs ---------------------------------------------------------------------------


def _songs(X, y):
    """The whole songs back from ``X`` (one-hot notes ``s[:-1]``) and ``y`` (``s[1:]``)."""
    return [np.concatenate([x.argmax(axis=1), labels[-1:]]) for x, labels in zip(X, y, strict=True)]


def _brute_force_proba(song, tables, n_keys):
    """P(next note | notes 0 .. t) for every t, by summing the joint over keys directly."""
    order = len(tables) - 1
    n_symbols = tables[0].shape[1]

    def note_proba(previous, note, key):
        context = previous[max(0, len(previous) - order) :]
        row = 0
        for past in context:
            row = row * n_symbols + (past - key) % n_symbols
        return tables[len(context)][row, (note - key) % n_symbols]

    out = []
    for t in range(len(song) - 1):
        seen = list(song[: t + 1])
        joint = [
            np.prod([note_proba(seen[:i], seen[i], k) for i in range(t + 1)]) / n_keys
            for k in range(n_keys)
        ]
        out.append(
            [
                sum(joint[k] * note_proba(seen, c, k) for k in range(n_keys)) / sum(joint)
                for c in range(n_symbols)
            ]
        )
    return np.array(out)


def test_make_markov_songs_shapes_dtypes_and_lengths():
    X, y = make_markov_songs(30, min_length=10, max_length=40, n_symbols=7, random_state=0)
    assert len(X) == len(y) == 30
    for notes, labels in zip(X, y, strict=True):
        assert notes.dtype == np.float32 and labels.dtype == np.int64
        assert notes.ndim == 2 and notes.shape[1] == 7
        assert labels.shape == (notes.shape[0],)
        assert 10 <= len(notes) <= 40
        # One-hot: exactly one 1 per row, the rest 0.
        np.testing.assert_array_equal(notes.sum(axis=1), 1.0)
        assert set(np.unique(notes)) == {0.0, 1.0}
        assert labels.min() >= 0 and labels.max() < 7
    assert len({len(notes) for notes in X}) > 5


def test_make_markov_songs_labels_are_the_next_note():
    X, y = make_markov_songs(20, random_state=0)
    for notes, labels in zip(X, y, strict=True):
        np.testing.assert_array_equal(labels[:-1], notes[1:].argmax(axis=1))


def test_make_markov_songs_is_deterministic_per_seed():
    X1, y1, limit1 = make_markov_songs(10, random_state=4, return_limit=True)
    X2, y2, limit2 = make_markov_songs(10, random_state=np.random.RandomState(4), return_limit=True)
    X3, _ = make_markov_songs(10, random_state=5)
    for a, b in zip(X1 + y1 + limit1.proba, X2 + y2 + limit2.proba, strict=True):
        np.testing.assert_array_equal(a, b)
    assert limit1.expected_accuracy == limit2.expected_accuracy
    assert not all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(X1, X3, strict=True))


def test_make_markov_songs_limit_lies_between_chance_and_one():
    _, y, limit = make_markov_songs(200, random_state=0, return_limit=True)
    assert limit.proba[0].shape == (len(y[0]), 12)
    for proba in limit.proba:
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # A peaked chain is far more predictable than chance (1 / 12), but not deterministic.
    assert 0.3 < limit.expected_accuracy < 0.95
    assert limit.key_blind_accuracy <= limit.expected_accuracy <= limit.key_known_accuracy < 1
    assert set(limit.song_keys.tolist()) == {0, 1, 2}


def test_make_markov_songs_bayes_predictor_reaches_its_expected_accuracy():
    _, y, limit = make_markov_songs(400, random_state=1, return_limit=True)
    best = np.concatenate([proba.max(axis=1) for proba in limit.proba])
    # Hits of the Bayes argmax are Bernoulli(best[t]) given the past: their mean differs from
    # the mean of best[t] by sampling error alone, with this standard error.
    standard_error = np.sqrt(np.sum(best * (1 - best))) / len(best)
    assert len(best) > 30_000
    assert abs(limit.realised_accuracy - limit.expected_accuracy) < 4 * standard_error
    hits = np.concatenate(
        [proba.argmax(axis=1) == labels for proba, labels in zip(limit.proba, y, strict=True)]
    )
    assert limit.realised_accuracy == pytest.approx(hits.mean())


def test_make_markov_songs_notes_follow_the_predictive_distribution():
    # With one key the Bayes predictive distribution is the chain's own row: the drawn notes
    # must follow it, and the limit is the chain's (told the key or not, nothing changes).
    X, y, limit = make_markov_songs(300, n_keys=1, random_state=2, return_limit=True)
    assert limit.expected_accuracy == limit.key_known_accuracy == limit.key_blind_accuracy
    proba = np.concatenate(limit.proba)
    contexts = np.concatenate([_contexts_of(notes) for notes in X])
    labels = np.concatenate(y)
    # The most frequent (previous note, note) context after the first steps.
    values, counts = np.unique(contexts[contexts >= 0], return_counts=True)
    context = values[counts.argmax()]
    at = np.flatnonzero(contexts == context)
    assert len(at) > 1000
    np.testing.assert_allclose(proba[at], np.broadcast_to(proba[at[0]], proba[at].shape))
    frequencies = np.bincount(labels[at], minlength=12) / len(at)
    np.testing.assert_allclose(frequencies, proba[at[0]], atol=0.05)


def _contexts_of(notes):
    """12 * previous note + note at each step, -1 at the first (no previous note)."""
    current = notes.argmax(axis=1)
    return np.concatenate([[-1], 12 * current[:-1] + current[1:]])


@pytest.mark.parametrize(("order", "n_keys"), [(1, 2), (2, 3), (3, 4)])
def test_bayes_limit_matches_a_brute_force_sum_over_keys(order, n_keys):
    rng = np.random.RandomState(order)
    tables = _markov_tables(4, order, 0.3, rng)
    keys = rng.randint(n_keys, size=6)
    songs = [(_sample_chain(tables, 9, rng) + k) % 4 for k in keys]
    limit = _bayes_limit(songs, keys, tables, n_keys)
    for song, proba in zip(songs, limit.proba, strict=True):
        np.testing.assert_allclose(proba, _brute_force_proba(song, tables, n_keys), rtol=1e-10)


def test_make_markov_songs_limit_needs_the_key_posterior():
    # Keys change which notes follow which: a predictor that never learns the key from the
    # notes falls far below the limit, and one told the key gains little over inferring it.
    _, _, limit = make_markov_songs(300, n_keys=6, random_state=0, return_limit=True)
    assert limit.expected_accuracy > limit.key_blind_accuracy + 0.2
    assert limit.key_known_accuracy - limit.expected_accuracy < 0.02
    first_steps = np.array([proba[0].max() for proba in limit.proba])
    later_steps = np.array([proba[10].max() for proba in limit.proba if len(proba) > 10])
    # After a few notes the key is known: later steps are predicted better than the first.
    assert later_steps.mean() > first_steps.mean()


def test_make_markov_songs_concentration_sets_the_difficulty():
    limits = [
        make_markov_songs(100, concentration=c, random_state=0, return_limit=True)[2]
        for c in (0.05, 0.5, 1000.0)
    ]
    accuracies = [limit.expected_accuracy for limit in limits]
    assert accuracies[0] > accuracies[1] > accuracies[2]
    # Almost uniform transitions: the limit is close to chance.
    assert accuracies[2] == pytest.approx(1 / 12, abs=0.02)


def test_markov_tables_are_distributions_even_when_the_dirichlet_underflows():
    # At this concentration about a third of numpy's Dirichlet rows come out as NaN.
    tables = _markov_tables(12, 2, 1e-4, np.random.RandomState(0))
    assert [table.shape for table in tables] == [(1, 12), (12, 12), (144, 12)]
    for table in tables:
        assert np.isfinite(table).all()
        np.testing.assert_allclose(table.sum(axis=1), 1.0)
    _, _, limit = make_markov_songs(20, concentration=1e-4, random_state=0, return_limit=True)
    assert 0.99 < limit.expected_accuracy <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_sequences": 0}, ValueError, "n_sequences"),
        ({"min_length": 0}, ValueError, "min_length"),
        ({"min_length": 50, "max_length": 10}, ValueError, "min_length=50 is greater"),
        ({"n_symbols": 1}, ValueError, "n_symbols"),
        ({"n_keys": 0}, ValueError, "n_keys"),
        ({"n_keys": 13}, ValueError, "n_keys"),
        ({"order": 0}, ValueError, "order"),
        ({"order": 6}, ValueError, r"12\*\*7 = 35,831,808 probabilities"),
        ({"concentration": 0.0}, ValueError, "concentration"),
        ({"concentration": "low"}, TypeError, "concentration"),
        ({"n_keys": 2.0}, TypeError, "n_keys"),
        ({"order": True}, TypeError, "order"),
    ],
)
def test_make_markov_songs_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_markov_songs(**kwargs)


# --- load_activity_streams -----------------------------------------------------------------------


def test_basic_motions_loads_offline_with_expected_shapes():
    for split in ("train", "test"):
        recordings, activities = _load_basic_motions(split)
        assert recordings.shape == (40, 100, 6)
        assert recordings.dtype == np.float32
        assert set(activities.tolist()) == ACTIVITIES
        assert not recordings.flags.writeable
    assert _load_basic_motions("train") is _load_basic_motions("train")


def test_load_activity_streams_shapes_dtypes_and_labels():
    for split in ("train", "test"):
        X, y = load_activity_streams(split, n_streams=12, random_state=0)
        assert len(X) == len(y) == 12
        for stream, labels in zip(X, y, strict=True):
            assert stream.dtype == np.float32
            assert stream.ndim == 2 and stream.shape[1] == 6
            assert labels.shape == (stream.shape[0],)
            assert 3 * 30 <= len(stream) <= 8 * 100
            assert set(labels.tolist()) <= ACTIVITIES
        assert len(set(np.concatenate(y).tolist())) >= 3
        assert len({len(stream) for stream in X}) > 1


def test_load_activity_streams_crop_bounds_are_respected():
    _, _, ids = load_activity_streams(
        n_streams=10,
        min_recordings=2,
        max_recordings=4,
        min_crop=20,
        max_crop=25,
        random_state=3,
        return_recording_ids=True,
    )
    for stream_ids in ids:
        runs = _runs(stream_ids)
        assert 2 <= len(runs) <= 4
        assert all(20 <= stop - start <= 25 for start, stop in runs)


def test_load_activity_streams_is_deterministic_per_seed():
    X1, y1 = load_activity_streams(n_streams=5, random_state=7)
    X2, y2 = load_activity_streams(n_streams=5, random_state=7)
    X3, _ = load_activity_streams(n_streams=5, random_state=8)
    for a, b in zip(X1, X2, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(y1, y2, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(X1, X3, strict=True))


def test_load_activity_streams_data_comes_from_the_labelled_recording():
    X, y, ids = load_activity_streams(
        "test", n_streams=6, random_state=0, return_recording_ids=True
    )
    recordings, activities = _load_basic_motions("test")
    found_offsets = []
    for stream, labels, stream_ids in zip(X, y, ids, strict=True):
        assert stream_ids.dtype == np.int64
        np.testing.assert_array_equal(labels, activities[stream_ids])
        for start, stop in _runs(stream_ids):
            crop = stream[start:stop]
            source = recordings[stream_ids[start]]
            # Find the offset of the crop in its source recording; it must match exactly.
            offsets = [
                o
                for o in range(len(source) - len(crop) + 1)
                if np.array_equal(source[o : o + len(crop)], crop)
            ]
            assert offsets, "crop not found in its source recording"
            found_offsets.extend(offsets)
    # Crops start at random offsets, not always at the start of the recording.
    assert len(set(found_offsets)) > 5


def test_load_activity_streams_train_and_test_use_their_own_recordings():
    X_tr, _ = load_activity_streams("train", n_streams=10, random_state=0)
    X_te, _, ids_te = load_activity_streams(
        "test", n_streams=10, random_state=0, return_recording_ids=True
    )
    rec_tr, _ = _load_basic_motions("train")
    rec_te, _ = _load_basic_motions("test")
    # The same seed gives the same ids in both splits, but the data differ: each split's streams
    # are taken from that split's recordings, which share no data with the other split's.
    stream, stream_ids = X_te[0], ids_te[0]
    start, stop = _runs(stream_ids)[0]
    crop = stream[start:stop]
    assert any(
        np.array_equal(rec_te[stream_ids[start], o : o + len(crop)], crop)
        for o in range(100 - len(crop) + 1)
    )
    assert not any(
        np.array_equal(rec_tr[r, o : o + len(crop)], crop)
        for r in range(40)
        for o in range(100 - len(crop) + 1)
    )
    train_rows = {row.tobytes() for row in np.concatenate(X_tr)}
    test_rows = {row.tobytes() for row in np.concatenate(X_te)}
    assert not train_rows & test_rows


def test_load_activity_streams_consecutive_crops_differ_in_activity():
    _, y, ids = load_activity_streams(n_streams=20, random_state=0, return_recording_ids=True)
    n_boundaries = 0
    for labels, stream_ids in zip(y, ids, strict=True):
        runs = _runs(stream_ids)
        assert len(runs) >= 3
        crop_labels = [labels[start] for start, _ in runs]
        assert all(a != b for a, b in itertools.pairwise(crop_labels))
        # Label runs and crops coincide: every crop boundary is an activity boundary.
        assert _runs(labels) == runs
        n_boundaries += len(runs) - 1
    assert n_boundaries >= 2 * 20


def test_load_activity_streams_does_not_alias_the_cached_recordings():
    X, _ = load_activity_streams(n_streams=2, random_state=0)
    X[0][:] = np.nan
    recordings, _ = _load_basic_motions("train")
    assert not np.isnan(recordings).any()
    X_again, _ = load_activity_streams(n_streams=2, random_state=0)
    assert not np.isnan(X_again[0]).any()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"split": "validation"}, ValueError, "split"),
        ({"n_streams": 0}, ValueError, "n_streams"),
        ({"min_recordings": 5, "max_recordings": 2}, ValueError, "min_recordings=5"),
        ({"min_crop": 0}, ValueError, "min_crop"),
        ({"max_crop": 101}, ValueError, "max_crop"),
        ({"min_crop": 60, "max_crop": 40}, ValueError, "min_crop=60"),
        ({"n_streams": 1.5}, TypeError, "n_streams"),
    ],
)
def test_load_activity_streams_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_activity_streams(**kwargs)


# --- make_event_masks / make_rare_segments ------------------------------------------------------


@pytest.mark.parametrize("make", [make_event_masks, make_rare_segments])
def test_imbalanced_generators_keep_the_data_contract_and_are_seeded(make):
    X, y = make(20, min_length=50, max_length=300, random_state=3)
    assert len(X) == len(y) == 20
    for seq, labels in zip(X, y, strict=True):
        assert seq.dtype == np.float32 and labels.dtype == np.int64
        assert seq.ndim == 2 and len(seq) == len(labels)
        assert 50 <= len(seq) <= 300
    X2, y2 = make(20, min_length=50, max_length=300, random_state=3)
    for a, b in zip(X + y, X2 + y2, strict=True):
        np.testing.assert_array_equal(a, b)


def test_event_masks_have_the_stated_balance_and_event_lengths():
    _, y = make_event_masks(100, random_state=0)
    background = 1 - np.concatenate(y).mean()
    assert 0.7 < background < 0.8
    inner = [
        stop - start
        for labels in y
        for start, stop in _runs(labels)[1:-1]  # the last event may be cut by the end
        if labels[start] == 1
    ]
    assert min(inner) >= 20 and max(inner) <= 200


def test_event_channels_move_together_and_decoys_move_alone():
    # Without noise, what moves is only the oscillations: during an event several channels
    # carry the same wave; outside events at most one channel moves (a decoy).
    X, y = make_event_masks(30, noise=0.0, n_event_channels=3, random_state=1)
    moving = np.concatenate([(np.abs(x) > 1e-6).sum(axis=1) for x in X])
    labels = np.concatenate(y)
    assert np.all(moving[labels == 0] <= 1)
    assert np.any(moving[labels == 0] == 1)  # decoys exist
    assert np.mean(moving[labels == 1] == 3) > 0.9  # (a sine passes through 0 now and then)


def test_rare_segments_are_rare_short_and_rarer_for_higher_classes():
    _, y = make_rare_segments(100, random_state=0)
    share = np.bincount(np.concatenate(y), minlength=4) / sum(map(len, y))
    assert share[0] > 0.7
    assert share[1] > share[2] > share[3] > 0
    rare = [
        stop - start
        for labels in y
        for start, stop in _runs(labels)[:-1]  # the last segment may be cut by the end
        if labels[start] != 0
    ]
    assert min(rare) >= 5 and max(rare) <= 25


@pytest.mark.parametrize(
    "make, bad",
    [
        (make_event_masks, dict(n_event_channels=7)),
        (make_event_masks, dict(n_features=1)),
        (make_event_masks, dict(decoy_probability=1.5)),
        (make_event_masks, dict(min_event_length=30, max_event_length=20)),
        (make_rare_segments, dict(n_classes=1)),
        (make_rare_segments, dict(min_rare_length=0)),
    ],
    ids=str,
)
def test_imbalanced_generators_refuse_bad_parameters(make, bad):
    with pytest.raises(ValueError):
        make(5, **bad)


# --- make_filtered_signals -----------------------------------------------------------------------


def _lagged(x, n_taps):
    """Columns x[t - l] for l in 0 .. n_taps - 1, zero before the start."""
    return np.hstack(
        [np.vstack([np.zeros((lag, x.shape[1])), x[: len(x) - lag]]) for lag in range(n_taps)]
    )


def test_make_filtered_signals_shapes_dtypes_and_lengths():
    X, y = make_filtered_signals(
        20, min_length=10, max_length=30, n_features=4, n_targets=3, random_state=0
    )
    assert len(X) == len(y) == 20
    for x, t in zip(X, y, strict=True):
        assert x.dtype == t.dtype == np.float32
        assert x.shape[1] == 4 and t.shape == (len(x), 3)
        assert 10 <= len(x) <= 30


def test_make_filtered_signals_without_noise_is_recovered_exactly_by_a_causal_linear_model():
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score

    X, y = make_filtered_signals(30, n_taps=4, noise=0.0, random_state=0)
    features = np.vstack([_lagged(x.astype(np.float64), 4) for x in X])
    targets = np.vstack(y)
    model = LinearRegression(fit_intercept=False).fit(features[:2000], targets[:2000])
    assert r2_score(targets[2000:], model.predict(features[2000:])) > 1 - 1e-6


def test_make_filtered_signals_floor_is_the_noise_variance_and_the_filter_reaches_it():
    X, y, floor = make_filtered_signals(80, n_taps=3, noise=0.5, random_state=1, return_floor=True)
    assert floor.mse == 0.25
    residual = np.vstack(y) - np.vstack(floor.y_clean)
    assert floor.realised_mse == pytest.approx(np.mean(residual.astype(np.float64) ** 2))
    assert floor.realised_mse == pytest.approx(0.25, rel=0.05)
    # The returned filter applied to X gives the returned noise-free targets.
    h = floor.filters
    for x, clean in zip(X[:5], floor.y_clean[:5], strict=True):
        direct = _lagged(x.astype(np.float64), 3) @ h.transpose(2, 1, 0).reshape(-1, h.shape[0])
        np.testing.assert_allclose(direct, clean, atol=1e-5)


def test_make_filtered_signals_targets_are_causal():
    X, _, floor = make_filtered_signals(
        1, min_length=40, max_length=40, noise=0.0, random_state=2, return_floor=True
    )
    x = X[0].astype(np.float64).copy()
    x[25:] += 10.0
    h = floor.filters
    changed = _lagged(x, h.shape[2]) @ h.transpose(2, 1, 0).reshape(-1, h.shape[0])
    np.testing.assert_allclose(changed[:25], floor.y_clean[0][:25], atol=1e-5)
    assert not np.allclose(changed[25:], floor.y_clean[0][25:])


def test_make_filtered_signals_noise_free_targets_have_unit_variance():
    _, _, floor = make_filtered_signals(
        100, min_length=200, max_length=200, random_state=0, return_floor=True
    )
    steady = np.vstack([clean[10:] for clean in floor.y_clean])  # past the filter's start
    np.testing.assert_allclose(steady.var(axis=0), 1.0, rtol=0.05)


def test_make_filtered_signals_is_deterministic_per_seed():
    a, b = make_filtered_signals(5, random_state=3), make_filtered_signals(5, random_state=3)
    for u, v in zip(a[1], b[1], strict=True):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_taps": 0}, ValueError, "n_taps"),
        ({"n_targets": 0}, ValueError, "n_targets"),
        ({"noise": -0.1}, ValueError, "noise"),
        ({"min_length": 9, "max_length": 3}, ValueError, "min_length=9 is greater"),
        ({"n_features": 1.5}, TypeError, "n_features"),
    ],
)
def test_make_filtered_signals_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_filtered_signals(**kwargs)


# --- load_activity_soft_sensor -------------------------------------------------------------------


def test_soft_sensor_splits_the_activity_streams_into_accelerometer_and_gyroscope():
    X, y, activities = load_activity_soft_sensor(
        "test", n_streams=5, random_state=1, return_activities=True
    )
    streams, labels = load_activity_streams("test", n_streams=5, random_state=1)
    for x, t, s, a, b in zip(X, y, streams, activities, labels, strict=True):
        assert x.shape == (len(s), 3) and t.shape == (len(s), 3) and t.dtype == np.float32
        np.testing.assert_array_equal(np.hstack([x, t]), s)
        np.testing.assert_array_equal(a, b)


def test_soft_sensor_targets_are_the_channels_that_average_zero_per_recording():
    # Why channels 3-5 are taken as the gyroscope: an angular rate averages about zero over
    # a recording of a repeated motion, an acceleration with gravity or a lean does not.
    recordings, activities = _load_basic_motions("train")
    means = np.stack([recordings[activities == a].mean(axis=(0, 1)) for a in ACTIVITIES])
    assert np.abs(means[:, 3:]).max() < 0.25
    assert np.abs(means[:, :3]).max() > 4


def test_soft_sensor_does_not_alias_the_streams_or_the_cache():
    X, y = load_activity_soft_sensor(n_streams=2)
    assert X[0].flags.writeable and X[0].flags.c_contiguous and y[0].flags.c_contiguous
    X[0][:] = 0
    y[0][:] = 0
    X2, y2 = load_activity_soft_sensor(n_streams=2)
    assert X2[0].any() and y2[0].any()


# --- make_overlapping_events ---------------------------------------------------------------------


def test_overlapping_events_shapes_dtypes_and_binary_labels():
    X, y = make_overlapping_events(
        20, min_length=50, max_length=300, n_features=5, n_labels=4, random_state=0
    )
    for x, labels in zip(X, y, strict=True):
        assert x.dtype == np.float32 and x.shape[1] == 5
        assert labels.dtype == np.int64 and labels.shape == (len(x), 4)
        assert set(np.unique(labels).tolist()) <= {0, 1}


@pytest.mark.parametrize(("fraction", "n_labels"), [(0.3, 3), (0.2, 4), (0.5, 2)])
def test_overlapping_events_have_the_stated_label_and_overlap_rates(fraction, n_labels):
    _, y, overlap = make_overlapping_events(
        300, n_labels=n_labels, event_fraction=fraction, random_state=0, return_overlap=True
    )
    p, n = fraction, n_labels
    assert overlap.expected_overlap == pytest.approx(1 - (1 - p) ** n - n * p * (1 - p) ** (n - 1))
    pooled = np.concatenate(y)
    assert overlap.realised_overlap == pytest.approx((pooled.sum(axis=1) >= 2).mean())
    assert overlap.realised_overlap == pytest.approx(overlap.expected_overlap, abs=0.03)
    np.testing.assert_allclose(overlap.label_fraction, fraction, atol=0.03)


def test_overlapping_events_labels_are_independent():
    _, y = make_overlapping_events(300, random_state=1)
    pooled = np.concatenate(y).astype(float)
    correlation = np.corrcoef(pooled.T)[np.triu_indices(3, k=1)]
    assert np.abs(correlation).max() < 0.05


def test_overlapping_events_add_their_signatures_where_labels_are_on():
    X, y, overlap = make_overlapping_events(50, noise=0.0, random_state=2, return_overlap=True)
    for x, labels in zip(X, y, strict=True):
        np.testing.assert_array_equal(x[labels.sum(axis=1) == 0], 0)
        only_0 = (labels[:, 0] == 1) & (labels[:, 1:].sum(axis=1) == 0)
        if only_0.any():
            # One event alone moves the channels along its own signature.
            direction = x[only_0] / np.linalg.norm(x[only_0], axis=1, keepdims=True)
            cosine = np.abs(direction @ overlap.signatures[0])
            assert np.all(cosine[np.linalg.norm(x[only_0], axis=1) > 1e-3] > 1 - 1e-4)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"event_fraction": 0.0}, ValueError, "event_fraction"),
        ({"event_fraction": 1.0}, ValueError, "event_fraction"),
        ({"n_labels": 1}, ValueError, "n_labels"),
        ({"min_event_length": 50, "max_event_length": 10}, ValueError, "min_event_length=50"),
        ({"noise": -1}, ValueError, "noise"),
    ],
)
def test_overlapping_events_reject_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_overlapping_events(**kwargs)


# --- load_overlapping_activities -----------------------------------------------------------------


def test_overlapping_activities_shapes_and_one_or_two_labels_per_step():
    X, y = load_overlapping_activities("test", n_streams=6, random_state=0)
    for x, labels in zip(X, y, strict=True):
        assert x.dtype == np.float32 and x.shape[1] == 6
        assert labels.dtype == np.int64 and labels.shape == (len(x), 4)
        assert set(labels.sum(axis=1).tolist()) <= {1, 2}


def test_overlapping_activities_are_the_sum_of_two_labelled_recordings():
    X, y, overlap = load_overlapping_activities(n_streams=8, random_state=1, return_overlap=True)
    recordings, activities = _load_basic_motions("train")
    assert overlap.label_names == ACTIVITY_NAMES == tuple(sorted(ACTIVITIES))
    for x, labels, offset in zip(X, y, overlap.offsets, strict=True):
        # Before the offset one stream alone: each step is a step of a recording of its label.
        for t in (0, offset - 1) if offset > 0 else ():
            assert labels[t].sum() == 1
            activity = ACTIVITY_NAMES[int(labels[t].argmax())]
            assert np.any(np.all(recordings[activities == activity] == x[t], axis=-1))
    pooled = np.concatenate(y)
    assert overlap.realised_overlap == pytest.approx((pooled.sum(axis=1) == 2).mean())
    assert 0.2 < overlap.realised_overlap < 0.5


def test_overlapping_activities_first_stream_is_the_activity_stream_draw():
    # The first of the two streams is drawn as load_activity_streams draws one: with no
    # second stream overlapping yet (t < offset), the channels are the activity stream's.
    X, y, overlap = load_overlapping_activities(n_streams=1, random_state=3, return_overlap=True)
    streams, labels = load_activity_streams(n_streams=1, random_state=3)
    offset = overlap.offsets[0]
    np.testing.assert_array_equal(X[0][:offset], streams[0][:offset])
    names = np.array(ACTIVITY_NAMES)[y[0][:offset].argmax(axis=1)]
    np.testing.assert_array_equal(names, labels[0][:offset])


def test_overlapping_activities_do_not_write_the_cached_recordings():
    X, _ = load_overlapping_activities(n_streams=2, random_state=0)
    X[0][:] = 0
    again, _ = load_overlapping_activities(n_streams=2, random_state=0)
    assert again[0].any()


def test_overlapping_activities_reject_bad_arguments():
    with pytest.raises(ValueError, match="split must be"):
        load_overlapping_activities("valid")
    with pytest.raises(ValueError, match="max_crop"):
        load_overlapping_activities(max_crop=101)


# --- mask_labels ---------------------------------------------------------------------------------


def test_mask_labels_keeps_the_stated_fraction_in_one_stretch_by_default():
    _, y = make_sequence_labeling(50, random_state=0)
    masked = mask_labels(y, fraction=0.1, random_state=0)
    for labels, m in zip(y, masked, strict=True):
        kept = ~np.isnan(m)
        assert kept.sum() == max(1, round(0.1 * len(labels)))
        assert len(_runs(kept.astype(int))) <= 3  # gap, stretch, gap
        np.testing.assert_array_equal(m[kept], labels[kept])
        assert m.dtype == np.float64  # integer labels with NaN


def test_mask_labels_stretch_length_cuts_the_kept_steps_into_stretches():
    y = [np.zeros(1000, dtype=np.int64)]
    kept = ~np.isnan(mask_labels(y, fraction=0.5, stretch_length=50, random_state=0)[0])
    assert kept.sum() == 500
    stretches = [b - a for a, b in _runs(kept.astype(int)) if kept[a]]
    # Stretches of 50 may touch and merge, so every run is a multiple of 50.
    assert all(length % 50 == 0 for length in stretches) and len(stretches) > 1


def test_mask_labels_places_stretches_anywhere():
    y = [np.zeros(20, dtype=np.int64)]
    starts = {
        int(np.argmax(~np.isnan(mask_labels(y, fraction=0.25, random_state=s)[0])))
        for s in range(200)
    }
    assert starts == set(range(16))  # every start from 0 to 20 - 5


def test_mask_labels_per_segment_keeps_exactly_one_step_of_each_segment():
    _, y = make_sequence_labeling(30, random_state=1)
    masked = mask_labels(y, per_segment=True, random_state=0)
    for labels, m in zip(y, masked, strict=True):
        for start, stop in _runs(labels):
            kept = ~np.isnan(m[start:stop])
            assert kept.sum() == 1
            assert m[start:stop][kept][0] == labels[start]


def test_mask_labels_per_segment_draws_the_step_uniformly_inside_the_segment():
    y = [np.array([0] * 5 + [1] * 5)]
    first = [
        int(np.argmax(~np.isnan(mask_labels(y, per_segment=True, random_state=s)[0][:5])))
        for s in range(500)
    ]
    counts = np.bincount(first, minlength=5)
    assert counts.min() > 60  # 100 expected per position


def test_mask_labels_markers_by_label_type():
    y_str = [np.array(["run", "run", "sit", "sit"])]
    out = mask_labels(y_str, per_segment=True, random_state=0)[0]
    assert out.dtype == object and sum(v is None for v in out) == 2
    out = mask_labels(y_str, per_segment=True, missing_label="?", random_state=0)[0]
    assert (out == "?").sum() == 2 and set(out.tolist()) - {"?"} == {"run", "sit"}
    out = mask_labels([np.array([0.5, 0.5, 1.5])], per_segment=True, random_state=0)[0]
    assert np.isnan(out).sum() == 1
    out = mask_labels([np.array([3, 3, 7])], per_segment=True, missing_label=-1, random_state=0)[0]
    assert out.dtype.kind == "i" and (out == -1).sum() == 1


def test_mask_labels_refuses_a_marker_of_another_type_than_the_labels():
    with pytest.raises(TypeError, match=r"missing_label='\?' cannot mark y\[0\]"):
        mask_labels([np.array([0, 1, 1])], fraction=0.5, missing_label="?")
    with pytest.raises(TypeError, match=r"missing_label=-1 cannot mark y\[0\]"):
        mask_labels([np.array(["a", "b"])], fraction=0.5, missing_label=-1)


def test_mask_labels_keeps_steps_already_missing_missing():
    y = [np.array([0, 0, -1, -1, 1, 1])]
    out = mask_labels(y, per_segment=True, missing_label=-1, random_state=0)[0]
    assert (out[2:4] == -1).all() and (out[:2] != -1).sum() == 1 and (out[4:] != -1).sum() == 1


def test_mask_labels_hides_whole_steps_of_multilabel_sequences_and_keeps_arrays_arrays():
    _, y = make_overlapping_events(4, min_length=100, max_length=100, random_state=0)
    out = mask_labels(np.stack(y), fraction=0.5, random_state=0)
    assert isinstance(out, np.ndarray) and out.shape == (4, 100, 3)
    hidden = np.isnan(out)
    np.testing.assert_array_equal(hidden.any(axis=2), hidden.all(axis=2))
    assert hidden[:, :, 0].sum() == 4 * 50


def test_mask_labels_does_not_modify_y_and_is_seeded():
    _, y = make_sequence_labeling(5, random_state=0)
    copies = [labels.copy() for labels in y]
    a = mask_labels(y, fraction=0.5, random_state=3)
    b = mask_labels(y, fraction=0.5, random_state=3)
    for labels, copy, u, v in zip(y, copies, a, b, strict=True):
        np.testing.assert_array_equal(labels, copy)
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ValueError, "Pass either fraction"),
        ({"fraction": 0.5, "per_segment": True}, ValueError, "Pass either fraction"),
        ({"fraction": 0.0}, ValueError, "fraction"),
        ({"fraction": 1.5}, ValueError, "fraction"),
        ({"per_segment": True, "stretch_length": 5}, ValueError, "stretch_length applies"),
        ({"fraction": 0.5, "stretch_length": 0}, ValueError, "stretch_length"),
        ({"fraction": 0.5, "missing_label": True}, TypeError, "missing_label"),
    ],
)
def test_mask_labels_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        mask_labels([np.array([0, 1, 1])], **kwargs)
