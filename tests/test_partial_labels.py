"""Partly labelled recordings: steps without a label are input but out of every count."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight
from torch.utils.data import Subset

from sk_seqlabel import TCNLabeler
from sk_seqlabel._decoding import count_label_statistics, shortest_inner_segment
from sk_seqlabel._training.batching import (
    PAD_LABEL,
    SequenceDataset,
    check_split_weights,
    collate_padded,
)
from sk_seqlabel.datasets import make_sequence_labeling
from sk_seqlabel.metrics import SkippedTimestepsWarning


@pytest.fixture(scope="module")
def data():
    """10 sequences of 20..40 steps, 3 features, classes 0..2 (ints)."""
    X, y = make_sequence_labeling(
        n_sequences=10, min_length=20, max_length=40, n_features=3, random_state=3
    )
    return X, [np.asarray(yi, dtype=np.int64) for yi in y]


def _masked(y, start=5, stop=12, marker=-1):
    """A copy of y with steps ``start:stop`` of every sequence set to ``marker``."""
    out = [yi.copy() for yi in y]
    for yi in out:
        yi[start:stop] = marker
    return out


def _batch(model, X, y):
    """A padded batch of X with y encoded as fit encodes it."""
    codes = model._encode_targets(y, [np.asarray(x, np.float32) for x in X]).values
    return collate_padded([(np.asarray(x, np.float32), c) for x, c in zip(X, codes, strict=True)])


def _loss_and_grads(model, Xb, yb):
    """The net's loss on a batch, the gradient on its logits and on every parameter."""
    net = model.net_
    net.module_.eval()  # no dropout: the same batch gives the same loss
    net.module_.zero_grad()
    logits = net.infer(Xb)
    logits.retain_grad()
    loss = net.get_loss(logits, yb, X=Xb)
    loss.backward()
    grads = [p.grad.clone() for p in net.module_.parameters() if p.grad is not None]
    return loss.item(), logits.grad, grads


def test_masked_steps_get_no_gradient_and_their_label_changes_nothing(make_labeler, data):
    X, y = data
    model = make_labeler(max_epochs=1, missing_label=-1).fit(X, _masked(y))
    Xb, yb = _batch(model, X, _masked(y))
    assert (yb[:, 5:12] == PAD_LABEL).all()
    loss, logit_grad, grads = _loss_and_grads(model, Xb, yb)
    assert torch.all(logit_grad[:, 5:12] == 0)
    assert torch.any(logit_grad[:, :5] != 0)
    # The label hidden under the marker, relabelled: the same loss and gradients...
    relabelled = [yi.copy() for yi in y]
    for yi in relabelled:
        yi[5:12] = (yi[5:12] + 1) % 3
    loss2, _, grads2 = _loss_and_grads(model, *_batch(model, X, _masked(relabelled)))
    assert loss2 == loss
    assert all(torch.equal(a, b) for a, b in zip(grads, grads2, strict=True))
    # ...while given as labels, the two labellings do differ.
    full, _, _ = _loss_and_grads(model, *_batch(model, X, y))
    full2, _, _ = _loss_and_grads(model, *_batch(model, X, relabelled))
    assert full != full2


def test_balanced_class_weight_counts_labelled_steps_only(make_labeler, data):
    X, y = data
    y_masked = _masked(y)
    model = make_labeler(max_epochs=1, missing_label=-1, class_weight="balanced")
    model.fit(X, y_masked)
    labelled = np.concatenate([yi[yi != -1] for yi in y_masked])
    expected = compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=labelled)
    np.testing.assert_allclose(model.net_.criterion_.weight.numpy(), expected, rtol=1e-6)
    everything = compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=np.concatenate(y))
    assert not np.allclose(expected, everything)


def test_decoder_counts_skip_masked_steps_and_transitions_across_a_gap(make_labeler):
    X = [np.random.default_rng(0).normal(size=(8, 3)), np.zeros((6, 3))]
    # 0 0 | gap | 1 1 2 2 2 0 : the change 0 -> 1 happened in the gap, so it is not counted.
    y = [np.array([0, 0, -1, -1, 1, 1, 2, 0]), np.array([-1, 2, 2, 1, 1, 1])]
    model = make_labeler(max_epochs=1, missing_label=-1).fit(X, y)
    assert model.start_count_.tolist() == [1, 0, 0]  # the second recording starts unlabelled
    expected = np.zeros((3, 3), dtype=int)
    for a, b in [(0, 0), (1, 1), (1, 2), (2, 0), (2, 2), (2, 1), (1, 1), (1, 1)]:
        expected[a, b] += 1
    np.testing.assert_array_equal(model.transition_count_, expected)
    assert model.class_count_.tolist() == [3, 5, 3]
    # the one inner segment: the 2 of the stretch 1 1 2 0 (1 1 touches the gap, 0 the end)
    assert model.shortest_segment_ == 1


def test_shortest_segment_ignores_segments_cut_by_a_gap():
    codes = [np.array([0, 1, 1, 1, 2, PAD_LABEL, 0, 2, 2, 1])]
    # stretches 0 1 1 1 2 and 0 2 2 1: inner segments 1 1 1 (3) and 2 2 (2)
    assert shortest_inner_segment(codes) == 2
    # without the gap, 2 0 2 would make the 0 an inner segment of one step
    assert shortest_inner_segment([np.array([0, 1, 1, 1, 2, 0, 2, 2, 1])]) == 1
    _, transitions, classes = count_label_statistics(codes, 3)
    assert transitions[2, 0] == 0 and classes.sum() == 9


def test_score_skips_steps_without_a_label(make_labeler, data):
    X, y = data
    y_masked = _masked(y)
    model = make_labeler(max_epochs=1, missing_label=-1).fit(X, y_masked)
    pred = np.concatenate(model.predict(X))
    truth = np.concatenate(y_masked)
    expected = np.mean((pred == truth)[truth != -1])
    with pytest.warns(SkippedTimestepsWarning, match="70 of"):
        assert model.score(X, y_masked) == pytest.approx(expected)
    with pytest.warns(SkippedTimestepsWarning, match="70 of"):
        weighted = model.score(X, y_masked, sample_weight=np.ones(len(X)))
    assert weighted == pytest.approx(expected)


def test_a_recording_without_labels_trains_nothing(make_labeler, data):
    X, y = data
    y_with = [*y[:3], np.full(len(X[3]), -1)]
    with pytest.warns(UserWarning, match="1 of 4 sequences in y have no labelled timestep"):
        model = make_labeler(max_epochs=1, missing_label=-1).fit(X[:4], y_with)
    alone, alone_grad, _ = _loss_and_grads(model, *_batch(model, X[:3], y[:3]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # said once above
        together, together_grad, _ = _loss_and_grads(model, *_batch(model, X[:4], y_with))
    assert together == pytest.approx(alone, rel=1e-5)
    assert torch.all(together_grad[3] == 0)
    width = alone_grad.shape[1]
    assert torch.equal(together_grad[:3, :width], alone_grad)


@pytest.mark.parametrize("marker", [None, np.nan, pd.NA], ids=["None", "nan", "pd.NA"])
def test_none_nan_and_pd_na_leave_a_step_unlabelled(make_labeler, data, marker):
    # Until missing_label, such a step was refused ("y[3] has a missing label").
    X, y = data
    y = [yi.astype(object) for yi in y]
    y[3][5] = marker
    model = make_labeler(max_epochs=1).fit(X, y)
    assert model.classes_.tolist() == [0, 1, 2]
    assert model.class_count_.sum() == sum(map(len, y)) - 1


def test_y_without_any_label_is_refused(make_labeler, data):
    X, _ = data
    with pytest.raises(ValueError, match="no labelled step"):
        make_labeler(missing_label=-1).fit(X[:2], [np.full(len(x), -1) for x in X[:2]])


def test_fully_labelled_y_fits_as_without_the_keyword(make_labeler, data):
    X, y = data
    plain = make_labeler(max_epochs=2).fit(X, y)
    marked = make_labeler(max_epochs=2, missing_label=-1).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing skipped, nothing said
        assert plain.score(X, y) == marked.score(X, y)
    for a, b in zip(plain.predict_proba(X), marked.predict_proba(X), strict=True):
        np.testing.assert_array_equal(a, b)
    _, transitions, classes = count_label_statistics(y, 3)
    np.testing.assert_array_equal(plain.transition_count_, transitions)
    np.testing.assert_array_equal(plain.class_count_, classes)


@pytest.mark.parametrize(
    ("kind", "marker"),
    [("str", None), ("float", None), ("int", -1), ("str", "?")],
    ids=["str-None", "float-NaN", "int-minus1", "str-marker"],
)
def test_each_label_kind_has_its_marker(make_labeler, data, kind, marker):
    X, y = data
    names = np.array(["walk", "run", "sit"], dtype=object)
    missing = {"str": marker, "float": np.nan, "int": -1}[kind]
    labels = []
    for yi in y:
        li = names[yi] if kind == "str" else yi.astype(kind)
        li = li.astype(object) if kind == "str" else li
        li[3:9] = missing
        labels.append(li)
    model = make_labeler(max_epochs=1, missing_label=marker).fit(X, labels)
    expected = {"str": ["run", "sit", "walk"], "float": [0.0, 1.0, 2.0], "int": [0, 1, 2]}[kind]
    assert model.classes_.tolist() == expected
    assert set(np.concatenate(model.predict(X)).tolist()) <= set(expected)
    with pytest.warns(SkippedTimestepsWarning):
        model.score(X, labels)


@pytest.mark.parametrize(
    ("marker", "error", "message"),
    [
        (True, TypeError, "missing_label must be None, a number or a string; got bool True"),
        ([-1], ValueError, "missing_label"),
    ],
)
def test_bad_missing_label_is_refused(marker, error, message, data):
    X, y = data
    with pytest.raises(error, match=message):
        TCNLabeler(max_epochs=1, missing_label=marker).fit(X[:2], y[:2])


def test_an_early_stopping_side_without_any_label_is_refused():
    # Its validation loss would be 0 at every epoch: check_split_weights counts labelled
    # steps, not only weights.
    X = [np.zeros((3, 1), np.float32)] * 4
    y = [np.array([0, 1, 0])] * 2 + [np.full(3, PAD_LABEL)] * 2
    data = SequenceDataset(X, y)
    with pytest.raises(ValueError, match=r"validation side .*\(no target"):
        check_split_weights(Subset(data, [0, 1]), Subset(data, [2, 3]))
    check_split_weights(Subset(data, [0, 2]), Subset(data, [1, 3]))  # one labelled each
