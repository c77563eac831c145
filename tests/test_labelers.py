"""Behaviour every labeler shares: learning, label types, input forms, loss, training options."""

import numpy as np
import pandas as pd
import pytest
import torch
from skorch.callbacks import Callback, LRScheduler

from sk_seqlabel import TCNLabeler
from sk_seqlabel._training import device as sk_device
from sk_seqlabel._training import net as sk_net
from sk_seqlabel.datasets import make_sequence_labeling

from .conftest import FAST, LEARNS


def test_learns_the_easy_task(labeler_cls, easy_data):
    X, y = easy_data
    clf = labeler_cls(**{**LEARNS[labeler_cls], "random_state": 0}).fit(X[:45], y[:45])
    assert clf.score(X[45:], y[45:]) >= 0.9


@pytest.mark.parametrize(
    "names", [np.array(["walk", "run", "sit"]), np.array([10, -3, 7]), None], ids=str
)
def test_predict_returns_the_labels_seen_in_fit(make_labeler, easy_data, names):
    X, y = easy_data
    if names is None:  # booleans: two classes
        y = [yi > 0 for yi in y]
    else:
        y = [names[yi] for yi in y]
    clf = make_labeler().fit(X, y)
    pred = clf.predict(X[:3])
    assert [p.dtype.kind for p in pred] == [np.asarray(y[0]).dtype.kind] * 3
    assert set(np.concatenate(pred)) <= set(clf.classes_)
    assert list(clf.classes_) == sorted(set(np.concatenate(y)))


def test_probabilities_are_per_timestep_distributions(make_labeler, easy_data):
    X, y = easy_data
    clf = make_labeler().fit(X, y)
    proba = clf.predict_proba(X[:4])
    for p, x in zip(proba, X[:4], strict=True):
        assert p.shape == (len(x), 3)
        np.testing.assert_allclose(p.sum(1), 1, rtol=1e-5)
    pred = clf.set_params(decoder="argmax").predict(X[:4])
    for p, labels in zip(proba, pred, strict=True):
        np.testing.assert_array_equal(clf.classes_[p.argmax(1)], labels)


def test_input_forms_agree(make_labeler, easy_data):
    X, y = easy_data
    X1 = [x[:, :1] for x in X]
    clf = make_labeler().fit(X1, y)
    as_2d = clf.predict_proba(X1[:3])
    as_1d = clf.predict_proba([x[:, 0] for x in X1[:3]])
    as_df = clf.predict_proba([pd.DataFrame(x) for x in X1[:3]])
    as_lists = clf.predict_proba([x.tolist() for x in X1[:3]])
    for a, b, c, d in zip(as_2d, as_1d, as_df, as_lists, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(a, d)


def test_loss_counts_real_timesteps_only(make_labeler, easy_data):
    X, y = easy_data
    clf = make_labeler().fit(X, y)
    net = clf.net_
    logits = torch.randn(2, 5, 3)
    target = torch.tensor([[0, 1, 2, -100, -100], [2, 2, 1, 0, 1]])
    expected = torch.nn.functional.cross_entropy(
        torch.cat([logits[0, :3], logits[1]]), torch.cat([target[0, :3], target[1]])
    )
    torch.testing.assert_close(net.get_loss(logits, target), expected)


def test_balanced_class_weight_is_applied_per_timestep(make_labeler):
    X, y = make_sequence_labeling(n_sequences=20, min_length=20, max_length=60, random_state=3)
    # Make class 2 rare: relabel most of its steps as class 0.
    y = [np.where((yi == 2) & (np.arange(len(yi)) % 4 != 0), 0, yi) for yi in y]
    counts = np.bincount(np.concatenate(y))
    clf = make_labeler(class_weight="balanced").fit(X, y)
    expected = counts.sum() / (3 * counts)
    np.testing.assert_allclose(clf.net_.criterion_.weight.cpu().numpy(), expected, rtol=1e-6)
    clf = make_labeler(class_weight={0: 1.0, 1: 1.0, 2: 5.0}).fit(X, y)
    np.testing.assert_allclose(clf.net_.criterion_.weight.cpu().numpy(), [1, 1, 5])
    assert make_labeler().fit(X, y).net_.criterion_.weight is None


class _Record(Callback):
    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        self.train_idx = list(dataset_train.indices)
        self.valid_idx = list(dataset_valid.indices)


def test_early_stopping_holds_out_whole_sequences(make_labeler, easy_data):
    X, y = easy_data
    clf = make_labeler(
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=2,
        max_epochs=50,
        lr=0.05,
        callbacks=[("record", _Record())],
    ).fit(X, y)
    record = dict(clf.net_.callbacks_)["record"]
    assert len(record.valid_idx) == 12
    assert sorted(record.train_idx + record.valid_idx) == list(range(len(X)))
    history = clf.net_.history
    assert "valid_loss" in history[-1] and 0 <= history[-1, "valid_acc"] <= 1
    assert len(history) < 50  # it stopped early


def test_user_callbacks_run_and_are_not_modified(make_labeler, easy_data):
    scheduler = LRScheduler("StepLR", step_size=1, gamma=0.5)
    clf = make_labeler(lr=0.01, max_epochs=3, callbacks=[scheduler]).fit(*easy_data)
    lr_now = clf.net_.optimizer_.param_groups[0]["lr"]
    assert lr_now == pytest.approx(0.01 * 0.5**3)
    assert not hasattr(scheduler, "lr_scheduler_")  # our copy was initialised, not theirs


def test_verbose_zero_is_silent_and_one_prints_the_epoch_table(make_labeler, easy_data, capsys):
    make_labeler(verbose=0).fit(*easy_data)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    make_labeler(verbose=1, max_epochs=2).fit(*easy_data)
    out = capsys.readouterr().out
    assert "train_loss" in out and "epoch" in out


def test_history_records_each_epoch(make_labeler, easy_data):
    clf = make_labeler(max_epochs=3).fit(*easy_data)
    assert len(clf.net_.history) == 3
    assert all(np.isfinite(clf.net_.history[:, "train_loss"]))


def test_tcn_exposes_its_receptive_field(easy_data):
    clf = TCNLabeler(kernel_size=3, n_blocks=2, max_epochs=1).fit(*easy_data)
    assert clf.receptive_field_ == 1 + 2 * 2 * 3


@pytest.mark.parametrize("length", [1, 2, 3, 5])
def test_very_short_sequences_get_one_label_per_step(make_labeler, easy_data, length):
    # Shorter than ConvLSTM's pool_size (4) and than any kernel.
    clf = make_labeler().fit(*easy_data)
    x = np.random.default_rng(0).standard_normal((length, 4)).astype(np.float32)
    assert clf.predict([x])[0].shape == (length,)
    alone = clf.predict_proba([x])[0]
    np.testing.assert_allclose(clf.predict_proba([easy_data[0][0], x])[1], alone, atol=1e-5)


def test_epoch_loss_is_the_timestep_weighted_mean_of_the_batch_losses(make_labeler, easy_data):
    X, y = easy_data
    clf = make_labeler(max_epochs=2).fit(X, y)
    history = clf.net_.history
    for epoch in (0, 1):
        batches = history[epoch, "batches"]
        losses = [b["train_loss"] for b in batches]
        sizes = [b["train_batch_size"] for b in batches]
        # read off the device at the epoch's end: plain floats in the history
        assert all(type(loss) is float for loss in losses)
        assert sum(sizes) == sum(len(x) for x in X)  # real timesteps, every one once
        assert history[epoch, "train_loss"] == pytest.approx(np.average(losses, weights=sizes))


def test_batch_losses_are_floats_at_once_for_the_progress_bar(make_labeler, easy_data):
    seen = []

    class Spy(Callback):
        def on_batch_end(self, net, **kwargs):
            seen.append(net.history[-1, "batches", -1, "train_loss"])

    make_labeler(max_epochs=1, verbose=1, callbacks=[Spy()]).fit(*easy_data)
    assert seen and all(type(loss) is float for loss in seen)


def _what_runs(clf, precision):
    """``net_.precision`` expected on this CPU: LSTMs run in fp32 without native bf16."""
    has_lstm = hasattr(clf.net_.module_, "lstm")
    if precision == "bf16" and has_lstm and not sk_device.cpu_has_native_bf16():
        return "bf16 (LSTM layers in fp32)"
    return precision


@pytest.mark.parametrize("native", [True, False], ids=["native-bf16", "no-native-bf16"])
def test_lstm_layers_run_in_fp32_on_a_cpu_without_native_bf16(
    labeler_cls, tiny_data, monkeypatch, native
):
    if "hidden_size" not in labeler_cls().get_params():
        pytest.skip(f"{labeler_cls.__name__} has no LSTM layers")
    if native and not sk_device.cpu_has_native_bf16():
        pytest.skip("needs a CPU with native bf16 (AMX or AVX512-BF16)")
    monkeypatch.setattr(sk_device, "cpu_has_native_bf16", lambda: native)
    dtypes, real = [], torch.lstm

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        dtypes.append(out[0].dtype)
        return out

    monkeypatch.setattr(torch, "lstm", spy)
    clf = labeler_cls(**FAST[labeler_cls], precision="bf16").fit(*tiny_data)
    clf.predict_proba(tiny_data[0])
    expected = torch.bfloat16 if native else torch.float32
    assert dtypes and set(dtypes) == {expected}
    assert clf.net_.precision == ("bf16" if native else "bf16 (LSTM layers in fp32)")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_precision_sets_the_forward_pass_dtype(make_labeler, easy_data, precision):
    seen = []

    class Spy(Callback):
        def on_batch_end(self, net, y_pred=None, **kwargs):
            seen.append(y_pred.dtype)

    clf = make_labeler(max_epochs=1, precision=precision, callbacks=[Spy()]).fit(*easy_data)
    assert clf.net_.precision == _what_runs(clf, precision)
    expected = torch.bfloat16 if precision == "bf16" else torch.float32
    # the TCN's head ends in a Linear, which autocast runs in bf16; the LSTMs' too
    assert set(seen) == {expected}
    # parameters and optimizer state stay float32 (autocast casts per operation)
    assert {p.dtype for p in clf.net_.module_.parameters()} == {torch.float32}


def test_bf16_scores_within_half_a_point_of_fp32(labeler_cls, easy_data):
    X, y = easy_data
    scores = {
        precision: labeler_cls(**LEARNS[labeler_cls], random_state=0, precision=precision)
        .fit(X[:45], y[:45])
        .score(X[45:], y[45:])
        for precision in ("fp32", "bf16")
    }
    assert abs(scores["bf16"] - scores["fp32"]) <= 0.005, scores


def test_precision_auto_is_fp32_on_a_cpu_without_native_bf16(make_labeler, tiny_data, monkeypatch):
    monkeypatch.setattr(sk_device, "cpu_has_native_bf16", lambda: False)
    clf = make_labeler(max_epochs=1, precision="auto").fit(*tiny_data)
    assert clf.net_.precision == "fp32"


def test_precision_auto_follows_what_was_measured_faster(make_labeler, tiny_data, monkeypatch):
    monkeypatch.setattr(sk_device, "cpu_has_native_bf16", lambda: True)
    clf = make_labeler(max_epochs=1, precision="auto", device="cpu").fit(*tiny_data)
    expected = "bf16" if "cpu" in type(clf)._bf16_faster_on else "fp32"
    assert clf.net_.precision == expected


def test_precision_is_read_again_at_predict(make_labeler, easy_data):
    X, y = easy_data
    clf = make_labeler(precision="fp32").fit(X, y)
    fp32 = clf.predict_proba(X[:5])
    bf16 = clf.set_params(precision="bf16").predict_proba(X[:5])
    call = clf._device_policy(clf.net_.device)  # what predict ran under
    assert clf.net_.precision_of(call) == _what_runs(clf, "bf16")
    assert clf.net_.precision == "fp32"  # the fitted net is left as it was
    for a, b in zip(fp32, bf16, strict=True):
        assert not np.array_equal(a, b)
        np.testing.assert_allclose(b, a, atol=0.05)
        np.testing.assert_allclose(b.sum(axis=1), 1, rtol=1e-5)


def test_cpu_training_hands_freed_memory_back_every_few_batches(make_labeler, monkeypatch):
    # glibc keeps memory freed by oneDNN's per-shape buffers unless asked (RESULTS.md, sec. 5)
    calls, real = [], sk_net.release_freed_memory
    monkeypatch.setattr(sk_net, "release_freed_memory", lambda: calls.append(real()))
    X, y = make_sequence_labeling(n_sequences=40, min_length=20, max_length=60, random_state=0)
    # 40 training batches, then 40 of the pass that calibrates the decoder's temperature
    make_labeler(max_epochs=1, batch_size=1).fit(X, y)
    assert len(calls) == 2 * (40 // sk_net.TRIM_EVERY)
