"""MS-TCN's smoothing loss: as the paper defines it, over real adjacent steps only."""

import numpy as np
import torch

from sk_seqlabel._training.losses import smoothing_loss


def test_the_smoothing_loss_is_the_truncated_squared_change_over_real_pairs():
    torch.manual_seed(0)
    logits = torch.randn(2, 6, 3) * 3
    real = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)
    log_p = torch.log_softmax(logits, -1)
    terms = []
    for b in range(2):
        for t in range(1, 6):
            if real[b, t] and real[b, t - 1]:
                change = ((log_p[b, t] - log_p[b, t - 1]) ** 2).clamp(max=1.5**2)
                terms.append(change.mean())
    expected = torch.stack(terms).mean()
    torch.testing.assert_close(smoothing_loss(logits, real, 1.5), expected)
    # what padding holds never counts
    moved = logits.clone()
    moved[0, 4:] += 100
    torch.testing.assert_close(smoothing_loss(moved, real, 1.5), expected)


def test_the_training_loss_adds_the_weighted_smoothing_term(make_labeler, easy_data):
    net = make_labeler(smoothing=0.15, smoothing_truncation=4.0).fit(*easy_data).net_
    logits = torch.randn(2, 5, 3)
    target = torch.tensor([[0, 1, 2, -100, -100], [2, 2, 1, 0, 1]])
    plain = torch.nn.functional.cross_entropy(
        logits.reshape(-1, 3), target.reshape(-1), ignore_index=-100
    )
    expected = plain + 0.15 * smoothing_loss(logits, target != -100, 4.0)
    torch.testing.assert_close(net.get_loss(logits, target), expected)


def test_smoothing_gives_fewer_label_changes(easy_data):
    from sk_seqlabel import TCNLabeler

    X, y = easy_data

    def changes(smoothing):
        clf = TCNLabeler(
            n_filters=16,
            kernel_size=3,
            n_blocks=2,
            max_epochs=8,
            random_state=0,
            smoothing=smoothing,
        ).fit(X[:45], y[:45])
        return sum(int(np.sum(p[1:] != p[:-1])) for p in clf.predict(X[45:]))

    assert changes(1.0) < changes(0.0)
