"""Sample weights enter the loss as specified; groups never straddle the validation split."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sk_seqlabel import TCNLabeler
from sk_seqlabel._training.batching import collate_padded

from .conftest import FAST


def test_the_loss_is_the_weighted_mean_over_real_timesteps(make_labeler, easy_data):
    X, y = easy_data
    net = make_labeler(class_weight={0: 1.0, 1: 2.0, 2: 0.5}).fit(X, y).net_
    logits = torch.randn(2, 5, 3)
    target = torch.tensor([[0, 1, 2, -100, -100], [2, 2, 1, 0, 1]])
    weight = torch.tensor([[1.0, 0.0, 3.0, 0.0, 0.0], [0.5, 0.5, 2.0, 1.0, 1.0]])
    real = target != -100
    per_step = torch.nn.functional.cross_entropy(logits[real], target[real], reduction="none")
    c = torch.tensor([1.0, 2.0, 0.5])[target[real]]
    expected = (weight[real] * c * per_step).sum() / (weight[real] * c).sum()
    got = net.get_loss(logits, target, X={"weight": weight})
    torch.testing.assert_close(got, expected)
    # all weights 1: the unweighted loss
    torch.testing.assert_close(
        net.get_loss(logits, target, X={"weight": torch.ones(2, 5)}), net.get_loss(logits, target)
    )


def test_one_weight_per_sequence_is_that_weight_at_every_step(make_labeler, easy_data):
    X, y = easy_data
    per_sequence = np.linspace(0.5, 2.0, len(X))
    per_step = [np.full(len(x), w) for x, w in zip(X, per_sequence, strict=True)]
    a = make_labeler().fit(X, y, sample_weight=per_sequence).predict_proba(X[:4])
    b = make_labeler().fit(X, y, sample_weight=per_step).predict_proba(X[:4])
    for p, q in zip(a, b, strict=True):
        np.testing.assert_array_equal(p, q)


def test_zero_weight_steps_teach_nothing(easy_data):
    from sk_seqlabel import TCNLabeler

    X, y = easy_data
    weights = [(yi != 2).astype(float) for yi in y]  # class 2 never counts
    clf = TCNLabeler(n_filters=16, kernel_size=3, n_blocks=2, max_epochs=10, random_state=0)
    pred = np.concatenate(clf.fit(X, y, sample_weight=weights).predict(X))
    assert (pred == 2).mean() < 0.02 < (np.concatenate(y) == 2).mean()


def test_weighted_score_is_the_weighted_fraction_of_correct_steps(make_labeler, easy_data):
    X, y = easy_data
    clf = make_labeler().fit(X, y)
    pred = clf.predict(X[:5])
    w = np.arange(1, 6, dtype=float)
    correct = [np.mean(p == t) for p, t in zip(pred, y[:5], strict=True)]
    hits = sum(wi * c * len(t) for wi, c, t in zip(w, correct, y[:5], strict=True))
    total = sum(wi * len(t) for wi, t in zip(w, y[:5], strict=True))
    assert clf.score(X[:5], y[:5], sample_weight=w) == pytest.approx(hits / total)
    assert clf.score(X[:5], y[:5], sample_weight=np.ones(5)) == pytest.approx(
        clf.score(X[:5], y[:5])
    )


class _Split(Callback):
    def on_train_begin(self, net, X=None, **kwargs):
        dataset_train, dataset_valid = net.get_split_datasets(X)
        self.train, self.valid = list(dataset_train.indices), list(dataset_valid.indices)


def test_no_group_is_on_both_sides_of_the_validation_split(make_labeler, easy_data):
    X, y = easy_data
    groups = np.repeat(np.arange(12), 5)  # 12 subjects, 5 recordings each
    clf = make_labeler(early_stopping=True, validation_fraction=0.25, max_epochs=2)
    clf.set_params(callbacks=[("split", _Split())]).fit(X, y, groups=groups)
    split = dict(clf.net_.callbacks_)["split"]
    assert split.valid and set(groups[split.train]).isdisjoint(groups[split.valid])
    assert sorted(split.train + split.valid) == list(range(len(X)))


def test_bad_weights_and_groups_name_the_problem(make_labeler, tiny_data):
    X, y = tiny_data
    with pytest.raises(ValueError, match=r"sample_weight has 3 entries but X has 12 sequences"):
        make_labeler().fit(X, y, sample_weight=[1, 2, 3])
    bad = [np.ones(len(x)) for x in X]
    bad[4] = np.ones(len(X[4]) + 1)
    with pytest.raises(ValueError, match=r"sample_weight\[4\] has \d+ weights but X\[4\] has"):
        make_labeler().fit(X, y, sample_weight=bad)
    bad[4] = -np.ones(len(X[4]))
    with pytest.raises(ValueError, match=r"sample_weight\[4\] has negative"):
        make_labeler().fit(X, y, sample_weight=bad)
    with pytest.raises(ValueError, match="zero everywhere"):
        make_labeler().fit(X, y, sample_weight=np.zeros(len(X)))
    with pytest.raises(ValueError, match="needs at least 2 groups"):
        make_labeler(early_stopping=True).fit(X, y, groups=np.zeros(len(X)))
    with pytest.raises(ValueError, match="one label per sequence"):
        make_labeler().fit(X, y, groups=[1, 2])


def test_collated_batches_carry_the_weights_zero_beyond_each_length():
    items = [
        (np.ones((2, 1), np.float32), np.array([1, 0]), np.array([0.5, 2.0], np.float32)),
        (np.ones((3, 1), np.float32), np.array([0, 0, 1]), np.ones(3, np.float32)),
    ]
    X, _ = collate_padded(items)
    assert X["weight"].tolist() == [[0.5, 2.0, 0.0], [1.0, 1.0, 1.0]]


@pytest.mark.parametrize("weights", [{i: 1.0 for i in range(12)}, set(range(12))])
def test_weights_in_a_dict_or_set_are_refused_not_read_by_their_keys(tiny_data, weights):
    X, y = tiny_data
    with pytest.raises(TypeError, match=r"one weight per sequence.*in X's order.*got (dict|set)"):
        TCNLabeler(**FAST[TCNLabeler]).fit(X, y, sample_weight=weights)
    clf = TCNLabeler(**FAST[TCNLabeler]).fit(X, y)
    with pytest.raises(TypeError, match=r"got (dict|set)"):
        clf.score(X, y, sample_weight=weights)


def _validation_side(X, y, groups, **params):
    """The sequence indices the early-stopping split of ``params`` holds out."""
    clf = TCNLabeler(**{**FAST[TCNLabeler], **params, "max_epochs": 1})
    clf.set_params(callbacks=[("split", _Split())]).fit(X, y, groups=groups)
    return dict(clf.net_.callbacks_)["split"].valid


@pytest.mark.parametrize("by", ["sequences", "groups"])
@pytest.mark.parametrize("side", ["training", "validation"])
def test_a_split_side_whose_weights_are_all_zero_is_refused_before_training(easy_data, by, side):
    X, y = easy_data
    groups = np.repeat(np.arange(12), 5) if by == "groups" else None
    params = dict(early_stopping=True, validation_fraction=0.25)
    valid = _validation_side(X, y, groups, **params)
    zero = valid if side == "validation" else sorted(set(range(len(X))) - set(valid))
    weights = np.ones(len(X))
    weights[zero] = 0.0
    trained = []

    class Spy(Callback):
        def on_batch_begin(self, net, **kwargs):
            trained.append(1)

    clf = TCNLabeler(**{**FAST[TCNLabeler], **params}, callbacks=[("spy", Spy())])
    with pytest.raises(
        ValueError,
        match=rf"The {side} side of the early-stopping split \({len(zero)} sequences\) has a "
        r"loss weight of 0 at every timestep",
    ):
        clf.fit(X, y, sample_weight=weights, groups=groups)
    assert not trained and not hasattr(clf, "net_")


def test_training_on_classes_that_all_weigh_zero_is_refused(tiny_data):
    X, y = tiny_data
    clf = TCNLabeler(**FAST[TCNLabeler], class_weight={"walk": 0, "run": 0, "sit": 0})
    with pytest.raises(
        ValueError, match=r"The training set \(12 sequences\) has a loss weight of 0"
    ):
        clf.fit(X, y)
    # sample weights only where class_weight is 0: nothing counts either
    only_walk = [np.where(yi == "walk", 1.0, 0.0) for yi in y]
    clf = TCNLabeler(**FAST[TCNLabeler], class_weight={"walk": 0})
    with pytest.raises(ValueError, match=r"The training set \(12 sequences\)"):
        clf.fit(X, y, sample_weight=only_walk)
