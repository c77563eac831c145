"""Long recordings: chunked prediction is exact, windowed training is as good as whole."""

import numpy as np
import pytest

from sk_seqlabel import TCNLabeler
from sk_seqlabel.datasets import make_sequence_labeling

from .conftest import outputs


def _long(length, seed=0):
    return np.random.default_rng(seed).standard_normal((length, 4)).astype(np.float32)


def _assert_chunked_equals_whole(clf, lengths=(1000, 1237, 151)):
    X = [_long(n, seed=n) for n in lengths]
    clf.set_params(max_batch_timesteps=100_000)
    whole = outputs(clf, X)
    # 150-step chunks: several chunks each, lengths not multiples of the chunk or pool size.
    clf.set_params(max_batch_timesteps=150)
    chunked = outputs(clf, X)
    for a, b in zip(whole, chunked, strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)


@pytest.mark.parametrize("weights", ["random", "trained"])
def test_chunked_prediction_equals_prediction_in_one_piece(make_estimator, task_data, weights):
    clf = make_estimator().fit(*task_data)
    if weights == "random":
        clf.net_.initialize_module()
    _assert_chunked_equals_whole(clf)


def test_causal_chunked_prediction_equals_one_piece(make_causal_estimator, task_data):
    _assert_chunked_equals_whole(make_causal_estimator().fit(*task_data))


def test_unidirectional_chunked_prediction_equals_one_piece(
    make_estimator, one_way_params, task_data
):
    _assert_chunked_equals_whole(make_estimator(**one_way_params).fit(*task_data))


def test_deep_recurrent_chunked_prediction_equals_one_piece(estimator_cls, task_data):
    if "num_layers" not in estimator_cls().get_params():
        pytest.skip(f"{estimator_cls.__name__} has no recurrent layers")
    clf = estimator_cls(hidden_size=8, num_layers=3, max_epochs=1, random_state=0)
    _assert_chunked_equals_whole(clf.fit(*task_data), lengths=(700, 333))


def test_windowed_training_matches_whole_sequence_training():
    X, y = make_sequence_labeling(n_sequences=40, min_length=400, max_length=1200, random_state=5)
    params = dict(n_filters=32, kernel_size=3, n_blocks=3, max_epochs=15, random_state=0)
    whole = TCNLabeler(**params, max_train_length=100_000).fit(X[:30], y[:30])
    windowed = TCNLabeler(**params, max_train_length=128).fit(X[:30], y[:30])
    acc_whole, acc_windowed = whole.score(X[30:], y[30:]), windowed.score(X[30:], y[30:])
    assert acc_whole >= 0.9
    assert acc_windowed >= acc_whole - 0.01


def test_chunked_predict_is_the_argmax_of_chunked_probabilities(make_labeler, easy_data):
    # predict takes the argmax of the logits (on the device), predict_proba the softmax
    clf = make_labeler(decoder="argmax").fit(*easy_data).set_params(max_batch_timesteps=150)
    X = [_long(n, seed=n) for n in (1000, 151, 40)]
    for proba, labels in zip(clf.predict_proba(X), clf.predict(X), strict=True):
        np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], labels)
