"""Decoding: exact paths, the constraints asked for, and the invariants predict keeps."""

import copy
import dataclasses
import itertools

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from sk_seqlabel import TCNLabeler, _decoding
from sk_seqlabel._decoding import (
    DecoderSpec,
    FixedLagState,
    calibration_sample,
    count_label_statistics,
    decode,
    fit_temperature,
    resolve_min_segment_length,
    shortest_inner_segment,
)
from sk_seqlabel.datasets import make_sequence_labeling


def _brute_force_path(scores, log_start, log_transition, d):
    """The best path of the HMM among those whose segments all last >= d steps."""
    n_steps, n_classes = scores.shape
    best, best_path = -np.inf, None
    for path in itertools.product(range(n_classes), repeat=n_steps):
        runs = [len(list(g)) for _, g in itertools.groupby(path)]
        if (n_steps >= d and min(runs) < d) or (n_steps < d and len(runs) > 1):
            continue
        value = log_start[path[0]] + scores[0, path[0]]
        value += sum(
            log_transition[a, b] + scores[t + 1, b]
            for t, (a, b) in enumerate(itertools.pairwise(path))
        )
        if value > best:
            best, best_path = value, path
    return np.array(best_path)


def _random_hmm(rng, n_classes):
    log_start = np.log(rng.dirichlet(np.ones(n_classes)))
    log_transition = np.log(rng.dirichlet(np.ones(n_classes), size=n_classes))
    return log_start, log_transition


@pytest.mark.parametrize("min_segment_length", [1, 2, 3, 4])
@pytest.mark.parametrize("checkpoint", [1, 2, 5, 1000])
def test_viterbi_finds_the_brute_force_path_with_known_hmm_parameters(
    min_segment_length, checkpoint, monkeypatch
):
    # checkpoint: the stretch of back-pointers held at once; any value gives the same path
    monkeypatch.setattr(_decoding, "CHECKPOINT", checkpoint)
    rng = np.random.default_rng(min_segment_length)
    for _ in range(40):
        n_classes, n_steps = int(rng.integers(2, 4)), int(rng.integers(1, 8))
        log_start, log_transition = _random_hmm(rng, n_classes)
        log_proba = np.log(rng.dirichlet(np.ones(n_classes), size=n_steps))
        log_prior = np.log(rng.dirichlet(np.ones(n_classes)))
        weight = float(rng.choice([0.0, 0.5, 1.0]))
        decoder = DecoderSpec(
            log_start, log_transition, log_prior, weight, min_segment_length=min_segment_length
        )
        expected = _brute_force_path(
            log_proba - weight * log_prior, log_start, log_transition, min_segment_length
        )
        np.testing.assert_array_equal(decode(decoder, log_proba), expected)


def _expanded_hmm_path(scores, log_start, log_transition, d):
    """Textbook Viterbi over the expanded state space (class c, position k), full tables.

    Slow and plain, for sequences too long for the brute force: state (c, k) moves to
    (c, k + 1) or, from k = d - 1, stays or enters another class's k = 0.
    """
    n_steps, n_classes = scores.shape
    n_states = n_classes * d
    trans = np.full((n_states, n_states), -np.inf)
    for c in range(n_classes):
        for k in range(d - 1):
            trans[c * d + k, c * d + k + 1] = log_transition[c, c]
        trans[c * d + d - 1, c * d + d - 1] = log_transition[c, c]
        for p in range(n_classes):
            if p != c:
                trans[p * d + d - 1, c * d] = log_transition[p, c]
    emit = np.repeat(scores, d, axis=1)  # (steps, states): the class's score
    delta = np.full(n_states, -np.inf)
    delta[::d] = log_start + scores[0]
    pointers = np.zeros((n_steps, n_states), dtype=np.int64)
    for t in range(1, n_steps):
        candidates = delta[:, None] + trans
        pointers[t] = candidates.argmax(axis=0)
        delta = candidates.max(axis=0) + emit[t]
    complete = delta[d - 1 :: d]
    state = (
        int(complete.argmax()) * d + d - 1 if np.isfinite(complete).any() else int(delta.argmax())
    )
    path = [state]
    for t in range(n_steps - 1, 0, -1):
        state = pointers[t, state]
        path.append(state)
    return np.array(path[::-1]) // d


@pytest.mark.parametrize("min_segment_length", [1, 2, 5, 9])
def test_viterbi_of_long_sequences_is_the_textbook_expanded_hmm_path(
    min_segment_length, monkeypatch
):
    # long enough for the periodic renormalisation and several checkpointed stretches
    monkeypatch.setattr(_decoding, "CHECKPOINT", 23)
    rng = np.random.default_rng(10 + min_segment_length)
    for _ in range(5):
        n_classes = int(rng.integers(2, 5))
        log_start, log_transition = _random_hmm(rng, n_classes)
        log_proba = np.log(rng.dirichlet(np.ones(n_classes) * 0.4, size=300))
        decoder = DecoderSpec(
            log_start, log_transition, np.zeros(n_classes), min_segment_length=min_segment_length
        )
        expected = _expanded_hmm_path(log_proba, log_start, log_transition, min_segment_length)
        np.testing.assert_array_equal(decode(decoder, log_proba), expected)
        # a lag as long as the sequence decides every step from the whole sequence too
        decoder = dataclasses.replace(decoder, lag=300)
        np.testing.assert_array_equal(decode(decoder, log_proba), expected)


def test_viterbi_with_uniform_transitions_and_priors_is_the_argmax():
    rng = np.random.default_rng(0)
    n_classes = 5
    uniform = np.full(n_classes, -np.log(n_classes))
    decoder = DecoderSpec(
        uniform, np.full((n_classes, n_classes), -np.log(n_classes)), uniform, prior_weight=1.0
    )
    log_proba = np.log(rng.dirichlet(np.ones(n_classes), size=3000))
    np.testing.assert_array_equal(decode(decoder, log_proba), log_proba.argmax(axis=1))


def test_viterbi_with_prior_weight_0_and_uniform_transitions_is_the_argmax_whatever_the_priors():
    rng = np.random.default_rng(5)
    n_classes = 4
    uniform = np.full(n_classes, -np.log(n_classes))
    skewed = np.log([0.85, 0.1, 0.04, 0.01])
    transitions = np.full((n_classes, n_classes), -np.log(n_classes))
    log_proba = np.log(rng.dirichlet(np.ones(n_classes), size=3000))
    posterior_path = DecoderSpec(uniform, transitions, skewed, prior_weight=0.0)
    np.testing.assert_array_equal(decode(posterior_path, log_proba), log_proba.argmax(axis=1))
    # the test can fail: with the prior's full weight, the rare classes win steps
    hybrid = DecoderSpec(uniform, transitions, skewed, prior_weight=1.0)
    assert (decode(hybrid, log_proba) != log_proba.argmax(axis=1)).mean() > 0.1


@pytest.mark.parametrize("min_segment_length", [1, 6])
def test_every_segment_is_at_least_min_segment_length_long_offline(min_segment_length):
    rng = np.random.default_rng(1)
    log_start, log_transition = _random_hmm(rng, 4)
    decoder = DecoderSpec(
        log_start, log_transition, np.zeros(4), min_segment_length=min_segment_length
    )
    for n_steps in (1, 3, 6, 50, 400):
        path = decode(decoder, np.log(rng.dirichlet(np.ones(4) * 0.3, size=n_steps)))
        assert len(path) == n_steps
        runs = [len(list(g)) for _, g in itertools.groupby(path)]
        assert min(runs) >= min(min_segment_length, n_steps)


@pytest.mark.parametrize("lag", [0, 1, 7])
def test_fixed_lag_decoding_never_looks_further_ahead_than_its_lag(lag):
    rng = np.random.default_rng(lag)
    log_start, log_transition = _random_hmm(rng, 3)
    decoder = DecoderSpec(log_start, log_transition, np.zeros(3), min_segment_length=3, lag=lag)
    log_proba = np.log(rng.dirichlet(np.ones(3) * 0.5, size=200))
    base = decode(decoder, log_proba)
    for t in (0, 50, 120, 199 - lag - 1):
        changed = log_proba.copy()
        changed[t + lag + 1 :] = np.log(rng.dirichlet(np.ones(3) * 0.5, size=200 - t - lag - 1))
        np.testing.assert_array_equal(decode(decoder, changed)[: t + 1], base[: t + 1])
    # and it does look that far: with sticky transitions and weak evidence, the one step at
    # t + lag decides the label of step t
    sticky = np.log(np.full((3, 3), 0.01) + np.eye(3) * 0.97)
    decoder = DecoderSpec(np.log(np.ones(3) / 3), sticky, np.zeros(3), lag=lag)
    weak = np.log(np.full((60, 3), 1 / 3))
    for c in range(3):
        pushed = weak.copy()
        pushed[30 + lag] = np.log(np.eye(3)[c] * 0.98 + 0.01)
        assert decode(decoder, pushed)[30] == c


def test_a_fixed_lag_larger_than_the_sequence_is_the_whole_sequence_decoding():
    rng = np.random.default_rng(3)
    log_start, log_transition = _random_hmm(rng, 4)
    log_proba = np.log(rng.dirichlet(np.ones(4) * 0.5, size=300))
    offline = decode(
        DecoderSpec(log_start, log_transition, np.zeros(4), min_segment_length=2), log_proba
    )
    lagged = decode(
        DecoderSpec(log_start, log_transition, np.zeros(4), min_segment_length=2, lag=300),
        log_proba,
    )
    np.testing.assert_array_equal(lagged, offline)


def test_fixed_lag_decoding_in_pieces_equals_one_piece():
    rng = np.random.default_rng(4)
    log_start, log_transition = _random_hmm(rng, 3)
    decoder = DecoderSpec(log_start, log_transition, np.zeros(3), min_segment_length=4, lag=6)
    scores = np.log(rng.dirichlet(np.ones(3) * 0.5, size=500))
    whole = decode(decoder, scores)
    for _ in range(5):
        cuts = np.sort(rng.integers(0, 500, size=int(rng.integers(1, 30))))
        state = FixedLagState(decoder)
        pieces = [state.update(piece) for piece in np.split(scores, cuts)]
        np.testing.assert_array_equal(np.concatenate([*pieces, state.close()]), whole)


@pytest.mark.parametrize("true_temperature", [0.3, 1.0, 4.0])
def test_the_fitted_temperature_is_the_one_that_made_the_labels(true_temperature):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(20_000, 4)) * 2
    sharp = np.exp(logits / true_temperature)
    sharp /= sharp.sum(axis=1, keepdims=True)
    codes = np.array([rng.choice(4, p=p) for p in sharp])
    log_proba = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert fit_temperature(log_proba, codes) == pytest.approx(true_temperature, rel=0.1)


def test_calibration_uses_a_bounded_random_sample_of_the_training_steps(monkeypatch):
    monkeypatch.setattr(_decoding, "CALIBRATION_TIMESTEPS", 100)
    lengths = [30, 0, 50, 400, 20]
    picked = calibration_sample(lengths, seed=0)
    assert sum(stop for _, stop in picked) == 100
    assert all(0 < stop <= lengths[i] for i, stop in picked)
    assert len({i for i, _ in picked}) == len(picked)
    assert calibration_sample(lengths, seed=0) == picked
    assert calibration_sample([3, 4], seed=1) in ([(0, 3), (1, 4)], [(1, 4), (0, 3)])


def test_an_under_trained_model_decodes_no_worse_than_its_argmax():
    # Flat probabilities (few epochs) against sticky transitions: without the temperature,
    # Viterbi kept the previous label long after the evidence changed (accuracy 0.76 vs 0.96).
    from sk_seqlabel import LSTMLabeler

    X, y = make_sequence_labeling(n_sequences=40, random_state=0)
    clf = LSTMLabeler(hidden_size=16, max_epochs=10, random_state=0).fit(X[:30], y[:30])
    assert clf.temperature_ < 0.5  # the probabilities were too flat
    viterbi = clf.set_params(decoder="viterbi").score(X[30:], y[30:])
    argmax = clf.set_params(decoder="argmax").score(X[30:], y[30:])
    assert viterbi >= argmax - 0.01


def test_the_shortest_inner_segment_ignores_segments_cut_by_the_recording_ends():
    y = [
        np.array([0, 1, 1, 1, 2, 2, 0]),  # inner segments: 3 (1s), 2 (2s)
        np.array([2, 2, 2, 2, 1, 0, 0]),  # one inner segment of 1 step? no: 1 is inner
        np.array([1, 1, 1]),  # no inner segment
    ]
    assert shortest_inner_segment(y) == 1
    assert shortest_inner_segment(y[:1]) == 2
    assert shortest_inner_segment([y[0][:5], y[2]]) == 3
    assert shortest_inner_segment([y[2], np.array([0, 0, 1])]) == 0


def test_auto_min_segment_length_is_the_shortest_training_segment_with_viterbi(fitted_tcn):
    clf, X, _ = fitted_tcn
    learned = _with(clf, decoder="viterbi")
    learned.shortest_segment_ = 6  # as if every inner training segment lasted >= 6 steps
    assert resolve_min_segment_length("auto", "viterbi", 6) == 6
    assert resolve_min_segment_length("auto", "argmax", 6) == 1
    assert resolve_min_segment_length(3, "viterbi", 6) == 3
    assert resolve_min_segment_length("auto", "viterbi", 1000) == _decoding.MAX_AUTO_SEGMENT_LENGTH
    assert learned._decoder_spec().min_segment_length == 6
    assert _with(learned, decoder="argmax")._decoder_spec() is None

    def shortest_run(y_pred):
        return min(len(list(g)) for p in y_pred for _, g in itertools.groupby(p))

    assert shortest_run(_with(clf, decoder="argmax").predict(X)) < 6  # the test can fail
    assert shortest_run(learned.predict(X)) >= 6


def test_label_statistics_count_starts_changes_and_labels():
    y = [np.array([0, 0, 1, 1, 1, 2]), np.array([2, 2, 0]), np.array([], dtype=np.int64)]
    start, transitions, classes = count_label_statistics(y, 3)
    np.testing.assert_array_equal(start, [1, 0, 1])
    np.testing.assert_array_equal(classes, [3, 3, 3])
    expected = np.zeros((3, 3), dtype=np.int64)
    for seq in y:
        for a, b in itertools.pairwise(seq):
            expected[a, b] += 1
    np.testing.assert_array_equal(transitions, expected)


# ----------------------------------------------------------------- through the estimators
DECODING = [
    dict(decoder="viterbi"),
    dict(decoder="viterbi", min_segment_length=5),
    dict(decoder="argmax", min_segment_length=5),
    dict(decoder="viterbi", min_segment_length=3, decoder_lag=4),
]


def _with(clf, **params):
    """A copy of a fitted labeler with other decoding parameters (no refit needed)."""
    return copy.deepcopy(clf).set_params(**params)


@pytest.fixture(scope="module")
def fitted_tcn():
    X, y = make_sequence_labeling(n_sequences=40, min_length=20, max_length=200, random_state=0)
    names = np.array(["walk", "run", "sit"])
    y = [names[yi] for yi in y]
    clf = TCNLabeler(n_filters=16, kernel_size=3, n_blocks=2, max_epochs=6, random_state=0)
    return clf.fit(X[:30], y[:30]), X[30:], y[30:]


@pytest.mark.parametrize("params", DECODING, ids=str)
def test_decoding_keeps_lengths_and_label_types(make_labeler, tiny_data, params):
    X, y = tiny_data
    clf = make_labeler(**params).fit(X, y)
    y_pred = clf.predict(X)
    assert [len(p) for p in y_pred] == [len(x) for x in X]
    assert all(p.dtype == clf.classes_.dtype for p in y_pred)
    assert set(np.concatenate(y_pred)) <= set(clf.classes_)
    # the probabilities are the network's, whatever the decoder
    plain = clone(clf).set_params(decoder="argmax", min_segment_length=1).fit(X, y)
    for a, b in zip(clf.predict_proba(X), plain.predict_proba(X), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("params", DECODING, ids=str)
def test_decoded_predictions_do_not_depend_on_batch_mates(fitted_tcn, params):
    clf, X, _ = fitted_tcn
    clf = _with(clf, **params)
    alone = clf.predict([X[0]])[0]
    for mates in ([X[1]], [X[2], X[3]], X[4:]):
        np.testing.assert_array_equal(clf.predict([X[0], *mates])[0], alone)


@pytest.mark.parametrize("params", DECODING, ids=str)
def test_decoded_long_sequences_predict_in_chunks_as_in_one_piece(fitted_tcn, params, monkeypatch):
    clf, X, _ = fitted_tcn
    clf = _with(clf, **params)
    long = np.concatenate(X)  # ~1,000 steps
    whole = clf.set_params(max_batch_timesteps=100_000).predict([long])[0]
    monkeypatch.setattr(_decoding, "CHECKPOINT", 37)
    chunked = clf.set_params(max_batch_timesteps=128).predict([long])[0]
    np.testing.assert_array_equal(chunked, whole)


def test_viterbi_with_uniform_label_counts_predicts_the_argmax(fitted_tcn):
    clf, X, _ = fitted_tcn
    argmax = _with(clf, decoder="argmax").predict(X)
    decoding = _with(clf, decoder="viterbi")
    n = len(clf.classes_)
    decoding.start_count_ = np.full(n, 5)
    decoding.transition_count_ = np.full((n, n), 5)
    decoding.class_count_ = np.full(n, 5)
    for a, b in zip(decoding.predict(X), argmax, strict=True):
        np.testing.assert_array_equal(a, b)


def test_decoding_removes_short_segments_on_real_predictions(fitted_tcn):
    clf, X, _ = fitted_tcn
    decoded = _with(clf, decoder="argmax", min_segment_length=8)

    def short_runs(y_pred):
        return sum(sum(1 for _, g in itertools.groupby(p) if len(list(g)) < 8) for p in y_pred)

    # the test can fail: there is flicker to remove
    assert short_runs(_with(clf, decoder="argmax").predict(X)) > 0
    assert short_runs(decoded.predict(X)) == 0


@pytest.mark.parametrize("lag", [0, 3])
def test_causal_model_with_fixed_lag_decoding_is_causal_up_to_the_lag(lag):
    X, y = make_sequence_labeling(n_sequences=20, random_state=2)
    clf = TCNLabeler(
        n_filters=8,
        kernel_size=3,
        n_blocks=2,
        max_epochs=3,
        causal=True,
        random_state=0,
        decoder="viterbi",
        min_segment_length=3,
        decoder_lag=lag,
        precision="fp32",
    ).fit(X, y)
    x = X[0]
    base = clf.predict([x])[0]
    rng = np.random.default_rng(0)
    for t in (10, len(x) // 2, len(x) - lag - 2):
        changed = x.copy()
        changed[t + lag + 1 :] = rng.normal(size=changed[t + lag + 1 :].shape) * 3
        np.testing.assert_array_equal(clf.predict([changed])[0][: t + 1], base[: t + 1])


def test_decoder_parameters_are_validated_and_searchable(tiny_data):
    X, y = tiny_data
    with pytest.raises(InvalidParameterError, match="decoder"):
        TCNLabeler(decoder="hmm").fit(X, y)
    with pytest.raises(InvalidParameterError, match="min_segment_length"):
        TCNLabeler(min_segment_length=0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="decoder_lag"):
        TCNLabeler(decoder_lag=-1).fit(X, y)
    search = GridSearchCV(
        TCNLabeler(n_filters=4, n_blocks=1, max_epochs=1, random_state=0),
        {"decoder": ["argmax", "viterbi"], "min_segment_length": [1, 4]},
        cv=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["decoder"] in ("argmax", "viterbi")


# ----------------------------------------------------------------- decoding as plain data
def test_the_decoding_module_imports_nothing_of_the_estimator_side():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(_decoding))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    # numpy, scipy (the temperature), the standard library and its own kernels: no sklearn,
    # no torch, nothing of the estimators
    assert imported <= {
        "__future__",
        "functools",
        "numbers",
        "dataclasses",
        "numpy",
        "scipy.optimize",
        "scipy.special",
        None,
    }, imported
    relative = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
    assert [alias.name for n in relative for alias in n.names] == ["kernels"]


def test_decoding_runs_from_label_arrays_alone():
    y = [np.array([0, 0, 0, 1, 1, 1, 1, 0, 0]), np.array([1, 1, 1, 0, 0])]
    start, transitions, classes = count_label_statistics(y, 2)
    spec = _decoding.decoder_spec(
        "viterbi",
        2,
        min_segment_length=resolve_min_segment_length("auto", "viterbi", shortest_inner_segment(y)),
        start_count=start,
        transition_count=transitions,
        class_count=classes,
    )
    assert spec.min_segment_length == 4
    flicker = np.log(np.array([[0.9, 0.1]] * 5 + [[0.4, 0.6]] + [[0.9, 0.1]] * 5))
    np.testing.assert_array_equal(decode(spec, flicker), np.zeros(11, dtype=np.int64))
    assert _decoding.decoder_spec("argmax", 2) is None


def test_a_decoder_spec_is_immutable_and_copies_what_it_is_given():
    log_start = np.log([0.5, 0.5])
    spec = DecoderSpec(log_start, np.zeros((2, 2)), np.zeros(2))
    log_start[0] = 0.0
    assert spec.log_start[0] == pytest.approx(np.log(0.5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.prior_weight = 1.0
    with pytest.raises(ValueError, match="read-only"):
        spec.log_prior[0] = 1.0


@pytest.mark.parametrize(
    "bad",
    [
        dict(min_segment_length=0),
        dict(min_segment_length=2.5),
        dict(lag=-1),
        dict(prior_weight=-0.5),
        dict(temperature=0.0),
        dict(log_prior=np.zeros(3)),
    ],
    ids=str,
)
def test_a_decoder_spec_refuses_what_would_index_out_of_bounds(bad):
    arrays = dict(log_start=np.zeros(2), log_transition=np.zeros((2, 2)), log_prior=np.zeros(2))
    with pytest.raises(ValueError, match="DecoderSpec"):
        DecoderSpec(**{**arrays, **bad})


def test_the_compiled_kernels_refuse_a_minimum_below_1_and_a_negative_lag():
    from sk_seqlabel._decoding import kernels as kernels

    log_proba = np.log(np.full((6, 2), 0.5))
    zeros = np.zeros(2)
    with pytest.raises(ValueError, match="min_segment_length"):
        kernels.viterbi(log_proba, 1.0, zeros, zeros, np.zeros((2, 2)), 0, 10)
    state = np.full(2 * 2, -np.inf)
    no_rows = np.zeros((0, 2), dtype=np.int32)  # what lag = -1 would allocate
    with pytest.raises(ValueError, match="lag"):
        kernels.fixed_lag_update(
            log_proba,
            1.0,
            zeros,
            zeros,
            np.zeros((2, 2)),
            1,
            state,
            no_rows,
            no_rows.astype(np.bool_),
            0,
            np.empty(6, dtype=np.int64),
        )
    with pytest.raises(ValueError, match="min_segment_length"):
        kernels.fixed_lag_update(
            log_proba,
            1.0,
            zeros,
            zeros,
            np.zeros((2, 2)),
            0,
            np.full(2, -np.inf),
            np.zeros((3, 2), dtype=np.int32),
            np.zeros((3, 2), dtype=np.bool_),
            0,
            np.empty(6, dtype=np.int64),
        )


def test_predict_resolves_the_decoder_once_per_call(fitted_tcn, monkeypatch):
    clf, X, _ = fitted_tcn
    clf = _with(clf, decoder="auto", min_segment_length="auto")
    calls = []
    original = type(clf)._decoder_spec

    def counted(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(type(clf), "_decoder_spec", counted)
    clf.predict(X)
    assert len(calls) == 1
    clf.score(X, [np.zeros(len(x), dtype=int).astype(str) for x in X])
    assert len(calls) == 2


# ----------------------------------------------------------------- streams validate like predict
@pytest.mark.parametrize(
    "bad, name",
    [
        (dict(decoder_lag=-1), "decoder_lag"),
        (dict(min_segment_length=0), "min_segment_length"),
        (dict(decoder="foo"), "decoder"),
        (dict(prior_weight=-1.0), "prior_weight"),
    ],
    ids=str,
)
def test_a_label_stream_refuses_the_decoder_parameters_predict_refuses(bad, name, monkeypatch):
    from sk_seqlabel.streaming import start_stream

    X, y = make_sequence_labeling(n_sequences=6, min_length=20, max_length=40, random_state=0)
    clf = TCNLabeler(
        n_filters=4,
        n_blocks=1,
        max_epochs=1,
        causal=True,
        precision="fp32",
        random_state=0,
        decoder="viterbi",
        decoder_lag=2,
    ).fit(X, y)
    clf.set_params(**bad)

    # If the parameter got through, a kernel would run: fail before, instead of crashing.
    def no_kernels():
        raise AssertionError("a decoding kernel ran with an invalid parameter")

    monkeypatch.setattr(_decoding, "_kernels", no_kernels)
    with pytest.raises(InvalidParameterError, match=name):
        clf.predict(X[:1])
    with pytest.raises(InvalidParameterError, match=name):
        stream = start_stream(clf, output="labels")
        stream.update({"a": X[0]})
        stream.close()
    with pytest.raises(InvalidParameterError, match=name):
        clf.start_stream(output="labels")


# ----------------------------------------------------------------- the prior's weight
@pytest.fixture(scope="module")
def imbalanced_fit():
    """A small TCN on rare short segments (80% background), a few epochs: under-confident."""
    from sk_seqlabel.datasets import make_rare_segments

    X, y = make_rare_segments(40, min_length=50, max_length=300, random_state=1)
    clf = TCNLabeler(
        n_filters=8, n_blocks=2, max_epochs=8, random_state=0, n_threads=1, precision="fp32"
    )
    return clf.fit(X[:25], y[:25]), X[25:], y[25:]


def test_default_predict_is_at_least_as_accurate_as_the_argmax_on_an_imbalanced_task(
    imbalanced_fit,
):
    clf, X, y = imbalanced_fit
    argmax = _with(clf, decoder="argmax").score(X, y)
    assert clf.prior_weight == TCNLabeler().prior_weight  # the defaults
    assert clf.score(X, y) >= argmax
    # the test can fail: dividing the posteriors by the priors (the default before
    # prior_weight existed) moved steps to the rare classes and cost accuracy here
    assert _with(clf, prior_weight=1.0).score(X, y) < argmax - 0.02


def test_prior_weight_changes_predict_after_fit_without_refit(imbalanced_fit):
    clf, X, _ = imbalanced_fit
    clf = copy.deepcopy(clf)
    net, proba, weight = clf.net_, clf.predict_proba(X), clf.prior_weight
    before = clf.predict(X)
    after = clf.set_params(prior_weight=1.0).predict(X)
    assert clf.net_ is net  # no refit
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    for a, b in zip(proba, clf.predict_proba(X), strict=True):
        np.testing.assert_array_equal(a, b)
    # and back: the same labels as before
    for a, b in zip(before, clf.set_params(prior_weight=weight).predict(X), strict=True):
        np.testing.assert_array_equal(a, b)


def test_prior_weight_is_tunable_by_grid_search():
    from sk_seqlabel.datasets import make_rare_segments

    X, y = make_rare_segments(20, min_length=50, max_length=200, random_state=0)
    search = GridSearchCV(
        TCNLabeler(n_filters=4, n_blocks=1, max_epochs=2, random_state=0, n_threads=1),
        {"prior_weight": [0.0, 0.5, 1.0]},
        cv=2,
    ).fit(X, y)
    assert [p["prior_weight"] for p in search.cv_results_["params"]] == [0.0, 0.5, 1.0]
    assert len(set(search.cv_results_["mean_test_score"])) > 1  # the weight made a difference
    assert search.best_estimator_.prior_weight == search.best_params_["prior_weight"]
    with pytest.raises(InvalidParameterError, match="prior_weight"):
        TCNLabeler(prior_weight=-0.1).fit(X, y)
