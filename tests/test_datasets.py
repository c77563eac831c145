import itertools

import numpy as np
import pytest

from sk_seqlabel.datasets import _load_basic_motions, load_activity_streams, make_sequence_labeling

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
