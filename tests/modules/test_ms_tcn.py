"""The multi-stage TCN: stages chained on probabilities, every stage in the training loss."""

import numpy as np
import torch

from sk_seqlabel import MultiStageTCNLabeler
from sk_seqlabel._training.batching import collate_padded
from sk_seqlabel.modules.ms_tcn import MultiStageTCN
from sk_seqlabel.modules.tcn import TCN


def test_one_stage_is_a_tcn():
    torch.manual_seed(0)
    multi = MultiStageTCN(3, 4, n_filters=8, kernel_size=3, n_blocks=2, n_stages=1).eval()
    single = TCN(3, 4, n_filters=8, kernel_size=3, n_blocks=2).eval()
    single.load_state_dict(multi.stages[0].state_dict())
    x, lengths = torch.randn(2, 30, 3), torch.tensor([30, 11])
    torch.testing.assert_close(multi(x, lengths), single(x, lengths))
    assert multi.context == single.context and multi.look_ahead == single.look_ahead


def test_later_stages_see_only_the_previous_stage_probabilities():
    torch.manual_seed(0)
    net = MultiStageTCN(3, 4, n_filters=8, kernel_size=3, n_blocks=2, n_stages=3).eval()
    x, lengths = torch.randn(1, 40, 3), torch.tensor([40])
    expected = net.stages[0](x, lengths)
    for stage in net.stages[1:]:
        expected = stage(torch.softmax(expected, dim=-1), lengths)
    torch.testing.assert_close(net(x, lengths), expected)
    assert net.context == tuple(3 * c for c in net.stages[0].context)


def test_every_stage_counts_in_the_training_loss(easy_data):
    clf = MultiStageTCNLabeler(n_filters=8, kernel_size=3, n_blocks=2, n_stages=3, max_epochs=1)
    X, y = easy_data
    net = clf.fit(X, y).net_
    batch = collate_padded([(X[0], y[0]), (X[1], y[1])])
    net.module_.train()
    final = net.infer(batch[0])
    earlier = list(net.module_._earlier_logits)
    assert len(earlier) == 2
    target = batch[1]
    expected = sum(
        torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100
        )
        for logits in [final, *earlier]
    )
    torch.testing.assert_close(net.get_loss(final, target, training=True), expected)
    assert net.module_.pop_auxiliary_logits() == []  # popped by the loss
    net.module_.eval()
    net.infer(batch[0])
    assert net.module_.pop_auxiliary_logits() == []  # nothing kept in evaluation
    assert np.isfinite(clf.net_.history[-1, "train_loss"])
