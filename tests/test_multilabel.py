"""Several 0/1 labels per timestep: scikit-learn's multilabel conventions, and every shared
property (batch mates, chunking, causality, pickle, streams, ONNX) on a multi-label fit."""

import pickle

import numpy as np
import onnxruntime
import pytest
import torch
from scipy.special import expit
from sklearn.utils.class_weight import compute_class_weight

from sk_seqlabel import MultiStageTCNLabeler, TCNLabeler
from sk_seqlabel._multilabel import label_statistics
from sk_seqlabel._training.losses import TimestepBinaryCrossEntropy
from sk_seqlabel.export import to_onnx
from sk_seqlabel.persistence import load, save

from .conftest import FAST
from .test_invariance import _assert_batch_invariant
from .test_long_sequences import _assert_chunked_equals_whole
from .test_streaming import _recordings, _stream_in_random_pieces


def _overlapping(easy_data):
    """easy_data's X with 3 overlapping labels from its 3 classes (label k: class k or k+1)."""
    X, y = easy_data
    Y = [np.stack([(yi == k) | (yi == (k + 1) % 3) for k in range(3)], axis=1) for yi in y]
    return X, [t.astype(np.int64) for t in Y]


_FITTED = {}


@pytest.fixture
def fitted(labeler_cls, easy_data):
    """The current labeler fitted (quickly) on the overlapping labels, once per class."""
    if labeler_cls not in _FITTED:
        _FITTED[labeler_cls] = labeler_cls(**{**FAST[labeler_cls], "max_epochs": 3}).fit(
            *_overlapping(easy_data)
        )
    return _FITTED[labeler_cls]


def test_a_multilabel_fit_follows_scikit_learns_multilabel_conventions(fitted, easy_data):
    X, _ = _overlapping(easy_data)
    np.testing.assert_array_equal(fitted.classes_, np.arange(3))
    proba, labels = fitted.predict_proba(X[:5]), fitted.predict(X[:5])
    for x, p, lab in zip(X[:5], proba, labels, strict=True):
        assert p.shape == (len(x), 3) and lab.shape == (len(x), 3)
        assert p.min() >= 0 and p.max() <= 1
        assert set(np.unique(lab)) <= {0, 1} and lab.dtype.kind == "i"
    # independent per label: rows are not a distribution over the labels
    assert not np.allclose(np.concatenate(proba).sum(axis=1), 1.0)
    X3 = np.stack([x[:30] for x in X[:4]])
    assert fitted.predict_proba(X3).shape == (4, 30, 3)
    assert fitted.predict(X3).shape == (4, 30, 3)


def test_multilabel_probabilities_are_each_labels_own_sigmoid(fitted, easy_data):
    X, _ = _overlapping(easy_data)
    logits = [z.numpy() for z in fitted.net_.forward(X[:3])]
    for p, z in zip(fitted.predict_proba(X[:3]), logits, strict=True):
        np.testing.assert_allclose(p, expit(z), rtol=0, atol=1e-6)


def test_argmax_decoding_of_a_multilabel_fit_thresholds_each_probability_at_half(fitted, easy_data):
    X, _ = _overlapping(easy_data)
    fitted = pickle.loads(pickle.dumps(fitted)).set_params(decoder="argmax")
    for p, lab in zip(fitted.predict_proba(X[:5]), fitted.predict(X[:5]), strict=True):
        np.testing.assert_array_equal(lab, (p > 0.5).astype(int))


def test_a_labels_targets_never_change_the_loss_gradient_of_the_other_labels():
    """The loss is a sum of per-label terms (over one shared normaliser): making label 2 all
    0, or anything else, leaves the gradient of every other label's logits as it was. What
    the issue's "an always-0 label does not change the others'" can mean for a network whose
    shared layers see every label's gradient: the coupling is only through those layers."""
    rng = np.random.default_rng(0)
    logits = torch.tensor(rng.standard_normal((2, 7, 3)), dtype=torch.float32)
    target = torch.tensor(rng.integers(0, 2, (2, 7, 3)), dtype=torch.float32)
    grads = []
    for column in (target[..., 2], torch.zeros(2, 7), 1 - target[..., 2]):
        z = logits.clone().requires_grad_()
        t = target.clone()
        t[..., 2] = column
        TimestepBinaryCrossEntropy()(z, t).backward()
        grads.append(z.grad[..., :2])
    np.testing.assert_array_equal(grads[1], grads[0])
    np.testing.assert_array_equal(grads[2], grads[0])


def test_missing_entries_never_reach_the_loss_or_its_gradient():
    rng = np.random.default_rng(1)
    logits = torch.tensor(rng.standard_normal((2, 5, 2)), dtype=torch.float32)
    target = torch.tensor(rng.integers(0, 2, (2, 5, 2)), dtype=torch.float32)
    missing = torch.tensor(rng.random((2, 5, 2)) < 0.4)
    z = logits.clone().requires_grad_()
    loss = TimestepBinaryCrossEntropy()(z, torch.where(missing, torch.nan, target))
    loss.backward()
    loss = loss.detach()
    given = ~missing
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits[given], target[given])
    assert float(loss) == pytest.approx(float(expected), abs=1e-6)
    assert torch.isfinite(z.grad).all()
    np.testing.assert_array_equal(z.grad[missing], 0.0)


def test_sample_weight_weighs_each_step_of_every_label():
    logits = torch.zeros(1, 2, 2)
    target = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])
    z = torch.tensor([[[2.0, -1.0], [0.5, 3.0]]])
    per_entry = torch.nn.functional.binary_cross_entropy_with_logits(z, target, reduction="none")
    loss = TimestepBinaryCrossEntropy()(z, target, sample_weight=torch.tensor([[3.0, 1.0]]))
    expected = (3 * per_entry[0, 0].sum() + per_entry[0, 1].sum()) / 8
    assert float(loss) == pytest.approx(float(expected), abs=1e-6)
    assert float(TimestepBinaryCrossEntropy()(logits, target)) == pytest.approx(np.log(2))


def test_balanced_class_weight_balances_each_labels_zeros_and_ones(easy_data):
    X, Y = _overlapping(easy_data)
    Y = [y.astype(float) for y in Y]
    Y[0][:5, 1] = np.nan  # missing entries are not counted
    clf = TCNLabeler(**{**FAST[TCNLabeler], "max_epochs": 1, "class_weight": "balanced"})
    clf.fit(X, Y)
    weight = clf.net_.criterion_.weight.numpy()
    for k in range(3):
        column = np.concatenate([y[:, k] for y in Y])
        column = column[~np.isnan(column)]
        expected = compute_class_weight("balanced", classes=np.array([0, 1]), y=column)
        np.testing.assert_allclose(weight[k], expected, rtol=1e-6)


def test_a_dict_class_weight_is_refused_for_multilabel_y(easy_data):
    clf = TCNLabeler(**{**FAST[TCNLabeler], "class_weight": {0: 1.0, 1: 2.0}})
    with pytest.raises(ValueError, match=r"multi-label y.*class_weight must be 'balanced'"):
        clf.fit(*_overlapping(easy_data))


def test_a_multilabel_value_other_than_0_or_1_is_refused_naming_the_sequence(easy_data):
    X, Y = _overlapping(easy_data)
    Y = [y.copy() for y in Y]
    Y[4][7, 2] = 2
    with pytest.raises(ValueError, match=r"y\[4\] has the value 2 at timestep 7, label 2"):
        TCNLabeler(**FAST[TCNLabeler]).fit(X, Y)
    assert Y[4][7, 2] == 2  # not modified


def test_label_counts_skip_missing_entries_and_never_span_them():
    y = np.array([[0, 1], [1, 1], [1, np.nan], [0, 0], [0, 0]])
    stats = label_statistics([y])
    np.testing.assert_array_equal(stats["transition_count"][0], [[1, 1], [1, 1]])
    # label 1: 1,1 | gap | 0,0: the step from 1 to 0 crosses the gap and is not counted
    np.testing.assert_array_equal(stats["transition_count"][1], [[1, 0], [0, 1]])
    np.testing.assert_array_equal(stats["class_count"][1], [2, 2])
    np.testing.assert_array_equal(stats["start_count"], [[1, 0], [0, 1]])
    assert stats["shortest_segment"].tolist() == [2, 0]


def test_viterbi_decodes_each_label_with_its_own_minimum_segment_length(easy_data):
    X, Y = _overlapping(easy_data)
    clf = TCNLabeler(**{**FAST[TCNLabeler], "max_epochs": 3, "decoder": "viterbi"})
    clf.fit(X, Y)
    assert clf.start_count_.shape == (3, 2) and clf.transition_count_.shape == (3, 2, 2)
    assert clf.temperature_.shape == (3,)
    clf.set_params(min_segment_length=6)
    for lab in clf.predict(X[:10]):
        for k in range(3):
            changes = np.flatnonzero(np.diff(lab[:, k])) + 1
            inner = np.diff(changes)
            assert (inner >= 6).all(), (k, inner)


def test_a_refinement_stage_reads_sigmoids_after_a_multilabel_fit(easy_data):
    X, y = easy_data
    params = {**FAST[MultiStageTCNLabeler], "max_epochs": 1}
    assert MultiStageTCNLabeler(**params).fit(X, y).net_.module_.stage_input == "softmax"
    clf = MultiStageTCNLabeler(**params).fit(*_overlapping(easy_data))
    assert clf.net_.module_.stage_input == "sigmoid"
    assert isinstance(clf.net_.criterion_, TimestepBinaryCrossEntropy)


def test_score_of_a_multilabel_fit_is_the_subset_accuracy_over_timesteps(fitted, easy_data):
    X, Y = _overlapping(easy_data)
    pred = np.concatenate(fitted.predict(X))
    expected = np.mean(np.all(pred == np.concatenate(Y), axis=1))
    assert fitted.score(X, Y) == pytest.approx(expected)


def test_a_multilabel_fit_learns_overlapping_labels(easy_data):
    X, Y = _overlapping(easy_data)
    clf = TCNLabeler(**{**FAST[TCNLabeler], "max_epochs": 15}).fit(X, Y)
    assert clf.score(X, Y) > 0.8


def test_multilabel_prediction_does_not_depend_on_batch_mates(fitted):
    _assert_batch_invariant(fitted)


def test_multilabel_chunked_prediction_equals_prediction_in_one_piece(fitted):
    _assert_chunked_equals_whole(pickle.loads(pickle.dumps(fitted)))


def test_a_multilabel_fit_survives_pickle(fitted, easy_data):
    X, _ = _overlapping(easy_data)
    copy = pickle.loads(pickle.dumps(fitted))
    for a, b in zip(fitted.predict_proba(X[:4]), copy.predict_proba(X[:4]), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(fitted.predict(X[:4]), copy.predict(X[:4]), strict=True):
        np.testing.assert_array_equal(a, b)


def test_causal_multilabel_labelers_never_look_ahead(make_causal_labeler, easy_data):
    clf = make_causal_labeler(max_epochs=2).fit(*_overlapping(easy_data))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((120, 4)).astype(np.float32)
    for t in (0, 30, 118):
        x2 = x.copy()
        x2[t + 1 :] = rng.standard_normal((119 - t, 4))
        p, p2 = clf.predict_proba([x, x2])
        np.testing.assert_array_equal(p[: t + 1], p2[: t + 1])


def test_a_causal_multilabel_stream_gives_the_offline_probabilities_and_labels(
    make_causal_labeler, easy_data
):
    clf = make_causal_labeler(max_epochs=2, precision="fp32").fit(*_overlapping(easy_data))
    recordings = _recordings()
    streamed = _stream_in_random_pieces(clf.start_stream(), recordings)
    offline_x = list(recordings.values())
    offline = clf.predict_proba(offline_x)
    for (sid, got), expected in zip(streamed.items(), offline, strict=True):
        assert got.shape == expected.shape, sid
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5, err_msg=sid)
    # a causal model thresholds each label ("auto" is the arg-max): its labels stream too
    streamed = _stream_in_random_pieces(clf.start_stream(output="labels"), recordings)
    for (sid, got), expected in zip(streamed.items(), clf.predict(offline_x), strict=True):
        np.testing.assert_array_equal(got, expected, err_msg=sid)
    with pytest.raises(ValueError, match="decoder='argmax' and min_segment_length=1"):
        clf.set_params(min_segment_length=3).start_stream(output="labels")


@pytest.mark.parametrize("cls", [TCNLabeler, MultiStageTCNLabeler])
def test_the_onnx_graph_of_a_multilabel_fit_equals_predict_proba(cls, easy_data, tmp_path):
    clf = cls(n_filters=8, kernel_size=3, n_blocks=2, max_epochs=2, precision="fp32")
    clf.fit(*_overlapping(easy_data))
    to_onnx(clf, tmp_path / "model.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
    X, _ = _overlapping(easy_data)
    x = np.zeros((3, 150, 4), np.float32)
    lengths = np.array([len(xi[:150]) for xi in X[:3]])
    for row, n in enumerate(lengths):
        x[row, :n] = X[row][:n]
    proba = session.run(None, {"x": x, "lengths": lengths})[0]
    for row, (n, p) in enumerate(zip(lengths, clf.predict_proba(X[:3]), strict=True)):
        np.testing.assert_allclose(proba[row, :n], p[:n], rtol=0, atol=1e-4)


def test_a_multilabel_fit_round_trips_through_a_model_file(fitted, easy_data, tmp_path):
    import pandas as pd

    X = easy_data[0][:4]
    save(fitted, tmp_path / "model.safetensors")
    loaded = load(tmp_path / "model.safetensors")
    assert loaded.target_type_ == "multilabel-indicator"
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    for attr in ("transition_count_", "temperature_", "shortest_segment_"):
        np.testing.assert_array_equal(getattr(loaded, attr), getattr(fitted, attr))
    for a, b in zip(fitted.predict_proba(X), loaded.predict_proba(X), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(fitted.predict(X), loaded.predict(X), strict=True):
        np.testing.assert_array_equal(a, b)
    # label names from DataFrame columns are kept
    Xf, yf = _overlapping(easy_data)
    frames = [pd.DataFrame(v, columns=["a", "b", "c"][: v.shape[1]]) for v in yf]
    named = TCNLabeler(**{**FAST[TCNLabeler], "max_epochs": 1}).fit(Xf, frames)
    save(named, tmp_path / "named.safetensors")
    assert load(tmp_path / "named.safetensors").label_names_.tolist() == named.label_names_.tolist()


def test_a_forged_multilabel_model_file_is_refused(easy_data, tmp_path):
    from .test_persistence import _forge

    clf = TCNLabeler(**{**FAST[TCNLabeler], "max_epochs": 1}).fit(*_overlapping(easy_data))
    path = tmp_path / "model.safetensors"
    save(clf, path)
    forged = _forge(
        path, lambda m: m["fitted"].update(target_type_="continuous"), out=tmp_path / "a.st"
    )
    with pytest.raises(ValueError, match="target_type_"):
        load(forged)
    # per-label counts shaped as one class per step's
    forged = _forge(
        path,
        edit_tensors=lambda t: {**t, "temperature_": t["temperature_"][:1]},
        out=tmp_path / "b.st",
    )
    with pytest.raises(ValueError, match="temperature_"):
        load(forged)


def test_a_single_label_refit_after_a_multilabel_fit_forgets_the_labels(easy_data):
    X, y = easy_data
    clf = TCNLabeler(**{**FAST[TCNLabeler], "max_epochs": 1}).fit(*_overlapping(easy_data))
    assert clf.target_type_ == "multilabel-indicator"
    clf.fit(X, y)
    assert not hasattr(clf, "target_type_")
    assert clf.predict_proba(X[:1])[0].shape == (len(X[0]), 3)
    np.testing.assert_allclose(clf.predict_proba(X[:1])[0].sum(axis=1), 1.0, atol=1e-5)


def test_a_panels_probabilities_are_named_by_the_labels(easy_data):
    import pandas as pd

    Xf, yf = _overlapping(easy_data)
    frames = [pd.DataFrame(v, columns=["a", "b", "c"]) for v in yf]
    clf = TCNLabeler(**{**FAST[TCNLabeler], "max_epochs": 1}).fit(Xf, frames)
    index = pd.MultiIndex.from_product([["rec"], range(len(Xf[0]))])
    proba = clf.predict_proba(pd.DataFrame(Xf[0], index=index))
    assert proba.columns.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(proba.to_numpy(), clf.predict_proba([Xf[0]])[0], atol=1e-6)
