"""Live streams equal offline prediction, for any chunking, with streams coming and going."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from sk_seqlabel import (
    ConvLSTMLabeler,
    LSTMLabeler,
    MultiStageTCNLabeler,
    SequenceScaler,
    TCNLabeler,
    all_estimators,
)
from sk_seqlabel.modules.conv_lstm import ConvLSTM
from sk_seqlabel.modules.lstm import LSTM
from sk_seqlabel.modules.ms_tcn import MultiStageTCN
from sk_seqlabel.modules.tcn import TCN
from sk_seqlabel.streaming import start_stream

from .conftest import FAST


def _recordings(seed=0, lengths=(300, 170, 1, 45, 260)):
    rng = np.random.default_rng(seed)
    return {f"s{i}": rng.standard_normal((n, 4)).astype(np.float32) for i, n in enumerate(lengths)}


def _stream_in_random_pieces(stream, recordings, seed=0, final_after=None):
    """Feed every recording in random pieces (0 to 40 samples), starting at different updates.

    Streams are closed at random once complete, the rest at the end; what ``close`` returns
    is part of a stream's output. With ``final_after`` (samples received -> outputs final by
    then), each update must return exactly the outputs that became final.
    """
    rng = np.random.default_rng(seed)
    sent = dict.fromkeys(recordings, 0)
    starts = {sid: int(rng.integers(0, 5)) for sid in recordings}
    got = {sid: [] for sid in recordings}
    update = 0
    while any(sent[sid] < len(x) for sid, x in recordings.items()):
        chunks = {}
        for sid, x in recordings.items():
            if update >= starts[sid] and sent[sid] < len(x):
                n = int(rng.integers(0, 41))
                chunks[sid] = x[sent[sid] : sent[sid] + n]
                sent[sid] += len(chunks[sid])
        for sid, out in stream.update(chunks).items():
            got[sid].append(out)
            if final_after is not None:
                assert sum(map(len, got[sid])) == final_after(sent[sid]), (sid, sent[sid])
        finished = [s for s in stream.stream_ids if sent[s] == len(recordings[s])]
        if finished and rng.random() < 0.5:
            for sid, out in stream.close(finished).items():
                got[sid].append(out)
        update += 1
    for sid, out in stream.close().items():  # what the streams still owe
        got[sid].append(out)
    return {sid: np.concatenate(parts) for sid, parts in got.items()}


def test_every_causal_labeler_streams_exactly_as_it_predicts(make_causal_labeler, easy_data):
    clf = make_causal_labeler(precision="fp32").fit(*easy_data)
    recordings = _recordings()
    streamed = _stream_in_random_pieces(clf.start_stream(), recordings)
    offline = clf.predict_proba(list(recordings.values()))
    for (sid, got), expected in zip(streamed.items(), offline, strict=True):
        assert got.shape == expected.shape, sid
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5, err_msg=sid)


def test_streamed_labels_are_the_predicted_labels(make_causal_labeler, easy_data):
    clf = make_causal_labeler(precision="fp32").fit(*easy_data)
    recordings = _recordings(seed=1, lengths=(120, 80))
    streamed = _stream_in_random_pieces(clf.start_stream(output="labels"), recordings, seed=1)
    for got, expected in zip(
        streamed.values(), clf.predict(list(recordings.values())), strict=True
    ):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "decoding",
    [
        dict(decoder="viterbi", decoder_lag=0),
        dict(decoder="viterbi", min_segment_length=4, decoder_lag=6),
        dict(decoder="argmax", min_segment_length=5, decoder_lag=3),
    ],
    ids=str,
)
@pytest.mark.parametrize("causal", [True, False], ids=["causal", "look-ahead"])
def test_decoded_labels_stream_as_they_are_predicted_after_the_lag(easy_data, decoding, causal):
    clf = TCNLabeler(**FAST[TCNLabeler], causal=causal, precision="fp32", **decoding)
    clf.fit(*easy_data)
    recordings = _recordings(seed=3, lengths=(200, 1, 7, 130))
    stream = clf.start_stream(output="labels")
    assert stream.delay == clf.net_.module_.look_ahead + decoding["decoder_lag"]
    streamed = _stream_in_random_pieces(stream, recordings, seed=3)
    for got, expected in zip(
        streamed.values(), clf.predict(list(recordings.values())), strict=True
    ):
        np.testing.assert_array_equal(got, expected)


def test_whole_recording_decoding_cannot_stream_labels_but_streams_probabilities(easy_data):
    clf = TCNLabeler(**FAST[TCNLabeler], causal=True, decoder="viterbi").fit(*easy_data)
    with pytest.raises(ValueError, match="set decoder_lag"):
        clf.start_stream(output="labels")
    assert clf.start_stream().update({"a": easy_data[0][0]})["a"].shape[0] == len(easy_data[0][0])


def test_a_pipeline_with_a_scaler_streams(easy_data):
    pipe = make_pipeline(
        SequenceScaler(), TCNLabeler(n_filters=8, causal=True, precision="fp32", max_epochs=2)
    ).fit(*easy_data)
    recordings = _recordings(seed=2, lengths=(150, 90))
    streamed = _stream_in_random_pieces(start_stream(pipe), recordings, seed=2)
    offline = pipe.predict_proba(list(recordings.values()))
    for got, expected in zip(streamed.values(), offline, strict=True):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def _one_way_conv_lstm(**shape):
    return lambda: ConvLSTM(3, 4, n_filters=5, hidden_size=6, bidirectional=False, **shape)


def _rows(state, rows):
    """The carried state of the streams at ``rows``, in that order (as LabelStream selects)."""
    if isinstance(state, (list, tuple)):
        return type(state)(_rows(part, rows) for part in state)
    return state[rows]


def _put_rows(state, rows, part):
    """``state`` with the streams at ``rows`` replaced by ``part``."""
    if isinstance(state, (list, tuple)):
        return type(state)(_put_rows(a, rows, b) for a, b in zip(state, part, strict=True))
    return state.index_copy(0, rows, part)


def _leaves(state):
    if isinstance(state, (list, tuple)):
        return [leaf for part in state for leaf in _leaves(part)]
    return [state]


@pytest.mark.parametrize(
    "module",
    [
        lambda: TCN(3, 4, n_filters=8, kernel_size=3, n_blocks=3, causal=True, dropout=0.0),
        lambda: MultiStageTCN(3, 4, n_filters=8, kernel_size=3, n_blocks=2, causal=True),
        lambda: LSTM(3, 4, hidden_size=8, num_layers=2, bidirectional=False),
        _one_way_conv_lstm(),
        _one_way_conv_lstm(kernel_size=7, pool_size=3, num_layers=2),
        _one_way_conv_lstm(kernel_size=1, pool_size=1),
        _one_way_conv_lstm(kernel_size=11, pool_size=2),
    ],
    ids=["tcn", "ms-tcn", "lstm", "convlstm", "convlstm-odd", "convlstm-1x1", "convlstm-wide"],
)
def test_module_streaming_is_exact_in_float64(module):
    """Ragged pieces, rows joining each call at random; outputs as they become final."""
    torch.manual_seed(0)
    net = module().double().eval()
    lengths = [90, 61, 7, 1, 13]
    x = torch.randn(len(lengths), 90, 3, dtype=torch.float64)
    rng = np.random.default_rng(0)
    with torch.no_grad():
        whole = net(x, torch.tensor(lengths))
        state = net.initial_stream_state(len(lengths))
        shapes = [t.shape for t in _leaves(state)]
        sent, got = [0] * len(lengths), [[] for _ in lengths]
        while sent != lengths:
            rows = [i for i, n in enumerate(lengths) if sent[i] < n and rng.random() < 0.7]
            if not rows:
                continue
            sizes = [min(int(rng.integers(1, 12)), lengths[i] - sent[i]) for i in rows]
            piece = torch.full((len(rows), max(sizes), 3), torch.nan, dtype=torch.float64)
            for row, (i, n) in enumerate(zip(rows, sizes, strict=True)):
                piece[row, :n] = x[i, sent[i] : sent[i] + n]
                sent[i] += n
            index = torch.tensor(rows)
            logits, n_final, part = net.forward_stream(
                piece, torch.tensor(sizes), _rows(state, index)
            )
            state = _put_rows(state, index, part)
            for row, i in enumerate(rows):
                got[i].append(logits[row, : n_final[row]])
                if net.look_ahead == 0:
                    assert n_final[row] == sizes[row]
                else:  # whole pooling windows, once their right context has arrived
                    ready = max(0, sent[i] - net.conv.kernel_size[0] // 2)
                    assert sum(map(len, got[i])) == ready // net.pool_size * net.pool_size
        # bounded state: an update's cost does not grow with the stream's age
        assert [t.shape for t in _leaves(state)] == shapes
        if net.look_ahead:
            logits, n_final = net.flush_stream(state)
            for i in range(len(lengths)):
                got[i].append(logits[i, : n_final[i]])
    for i, n in enumerate(lengths):
        streamed = torch.cat(got[i])
        torch.testing.assert_close(streamed, whole[i, :n], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda: LSTMLabeler(hidden_size=8, max_epochs=1),
        lambda: ConvLSTMLabeler(n_filters=8, hidden_size=8, max_epochs=1),
    ],
    ids=["bidirectional-lstm", "bidirectional-convlstm"],
)
def test_models_that_need_the_whole_future_refuse_and_name_those_that_stream(make, tiny_data):
    clf = make().fit(*tiny_data)
    with pytest.raises(ValueError, match="whole future") as refused:
        clf.start_stream()
    # every registered estimator, with the keywords under which it streams
    for cls in all_estimators():
        assert f"{cls.__name__}: {cls._streams_when}" in str(refused.value)
    assert "ConvLSTMLabeler: bidirectional=False" in str(refused.value)


CONV_LSTM_SHAPES = {
    "kernel-8-pool-4": dict(kernel_size=8, pool_size=4),
    "kernel-5-pool-3-two-layers": dict(kernel_size=5, pool_size=3, num_layers=2),
}


@pytest.mark.parametrize("shape", CONV_LSTM_SHAPES.values(), ids=CONV_LSTM_SHAPES.keys())
def test_a_one_way_conv_lstm_streams_exactly_by_whole_pooling_windows(shape, easy_data):
    params = {**FAST[ConvLSTMLabeler], **shape, "bidirectional": False, "precision": "fp32"}
    clf = ConvLSTMLabeler(**params).fit(*easy_data)
    stream = clf.start_stream()
    pool, right = shape["pool_size"], shape["kernel_size"] // 2
    assert stream.delay == clf.net_.module_.look_ahead == pool - 1 + right
    recordings = _recordings(seed=4, lengths=(300, 170, 1, 45, 260, 2, 7))

    def final_after(received):  # window p is final once input (p + 1) * pool - 1 + right is in
        return max(0, received - right) // pool * pool

    streamed = _stream_in_random_pieces(stream, recordings, seed=4, final_after=final_after)
    offline = clf.predict_proba(list(recordings.values()))
    for (sid, got), expected in zip(streamed.items(), offline, strict=True):
        assert got.shape == expected.shape, sid
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5, err_msg=sid)


@pytest.mark.parametrize(
    "decoding",
    [dict(decoder="argmax"), dict(decoder="viterbi", min_segment_length=3, decoder_lag=5)],
    ids=str,
)
def test_a_one_way_conv_lstm_streams_the_labels_it_predicts(decoding, easy_data):
    params = {**FAST[ConvLSTMLabeler], "bidirectional": False, "precision": "fp32"}
    clf = ConvLSTMLabeler(**params, **decoding).fit(*easy_data)
    recordings = _recordings(seed=5, lengths=(200, 1, 9, 130))
    stream = clf.start_stream(output="labels")
    assert stream.delay == clf.net_.module_.look_ahead + decoding.get("decoder_lag", 0)
    streamed = _stream_in_random_pieces(stream, recordings, seed=5)
    for got, expected in zip(
        streamed.values(), clf.predict(list(recordings.values())), strict=True
    ):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("cls", [TCNLabeler, MultiStageTCNLabeler])
def test_a_bounded_look_ahead_streams_exactly_after_its_delay(cls, easy_data):
    clf = cls(**FAST[cls], precision="fp32").fit(*easy_data)
    recordings = _recordings(seed=3)
    stream = clf.start_stream()
    assert stream.delay == clf.net_.module_.look_ahead > 0
    rng = np.random.default_rng(3)
    sent, got = dict.fromkeys(recordings, 0), {sid: [] for sid in recordings}
    while any(sent[s] < len(x) for s, x in recordings.items()):
        chunks = {}
        for sid, x in recordings.items():
            n = int(rng.integers(0, 30))
            chunks[sid] = x[sent[sid] : sent[sid] + n]
            sent[sid] += len(chunks[sid])
        for sid, out in stream.update(chunks).items():
            # a sample's output only once `delay` samples have followed it (or at close)
            assert sum(map(len, got[sid])) + len(out) <= max(0, sent[sid] - stream.delay)
            got[sid].append(out)
    for sid, out in stream.close().items():
        got[sid].append(out)
    offline = clf.predict_proba(list(recordings.values()))
    for (sid, parts), expected in zip(got.items(), offline, strict=True):
        np.testing.assert_allclose(
            np.concatenate(parts), expected, rtol=0, atol=1e-5, err_msg=str(sid)
        )


def test_bad_stream_input_names_the_stream(tiny_data):
    clf = TCNLabeler(n_filters=8, causal=True, max_epochs=1).fit(*tiny_data)
    stream = clf.start_stream()
    with pytest.raises(ValueError, match=r"Stream 'left': new samples of shape \(4, 2\)"):
        stream.update({"left": np.zeros((4, 2))})
    with pytest.raises(ValueError, match=r"Stream 'left'.* contains NaN"):
        stream.update({"left": np.full((4, 3), np.nan)})
    with pytest.raises(TypeError, match="mapping of stream id"):
        stream.update([np.zeros((4, 3))])
    with pytest.raises(ValueError, match="no open stream 'right'"):
        stream.close(["right"])
    assert stream.update({"left": np.zeros((0, 3))})["left"].shape == (0, 3)


def test_streams_under_bf16_agree_with_offline_to_bf16_rounding(easy_data):
    # bf16 rounds each matrix product of an update and of the whole recording differently,
    # so a stream is not bit-exact there; it must stay within bf16's rounding of offline.
    clf = TCNLabeler(**{**FAST[TCNLabeler], "causal": True, "precision": "bf16"})
    clf.fit(*easy_data)
    recordings = _recordings(seed=5, lengths=(200, 90))
    streamed = _stream_in_random_pieces(clf.start_stream(), recordings, seed=5)
    offline = clf.predict_proba(list(recordings.values()))
    for got, expected in zip(streamed.values(), offline, strict=True):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=0.05)
        assert np.mean(got.argmax(1) == expected.argmax(1)) >= 0.98


@pytest.mark.parametrize(
    "make",
    [
        lambda: TCNLabeler(**FAST[TCNLabeler]),
        lambda: MultiStageTCNLabeler(**FAST[MultiStageTCNLabeler]),
        lambda: TCNLabeler(**FAST[TCNLabeler], causal=True),
    ],
    ids=["centred-tcn", "centred-ms-tcn", "causal-tcn"],
)
def test_closing_a_stream_twice_in_one_call_is_refused_and_changes_nothing(make, easy_data):
    clf = make().set_params(precision="fp32").fit(*easy_data)
    recordings = _recordings(seed=6, lengths=(30, 20))
    stream = clf.start_stream()
    first = stream.update({sid: x[:7] for sid, x in recordings.items()})
    with pytest.raises(ValueError, match="stream 's0' is named more than once"):
        stream.close(["s0", "s1", "s0"])
    with pytest.raises(ValueError, match="no open stream 'nope'"):
        stream.close(["s1", "nope"])  # s1 must not be closed by the refused call
    with pytest.raises(TypeError, match=r"close takes a list of stream ids; got str"):
        stream.close("s0")
    assert stream.stream_ids == ["s0", "s1"]
    # both streams go on exactly as if the refused calls had not happened
    got = {sid: [out] for sid, out in first.items()}
    for sid, out in stream.update({sid: x[7:] for sid, x in recordings.items()}).items():
        got[sid].append(out)
    for sid, out in stream.close(["s0", "s1"]).items():
        got[sid].append(out)
    assert stream.stream_ids == []
    offline = clf.predict_proba(list(recordings.values()))
    for (sid, parts), expected in zip(got.items(), offline, strict=True):
        np.testing.assert_allclose(np.concatenate(parts), expected, atol=1e-5, err_msg=sid)


def test_an_update_with_one_bad_chunk_starts_and_advances_no_stream(tiny_data):
    clf = TCNLabeler(n_filters=8, causal=True, max_epochs=1, precision="fp32").fit(*tiny_data)
    stream = clf.start_stream()
    x = tiny_data[0][0]
    stream.update({"a": x[:3]})
    with pytest.raises(ValueError, match="Stream 'b'"):
        stream.update({"a": x[3:6], "b": np.full((2, 3), np.inf)})
    assert stream.stream_ids == ["a"]
    rest = stream.update({"a": x[3:]})["a"]
    np.testing.assert_allclose(rest, clf.predict_proba([x])[0][3:], atol=1e-5)


def test_a_stream_refuses_complex_samples_as_predict_does(tiny_data):
    clf = TCNLabeler(n_filters=8, causal=True, max_epochs=1).fit(*tiny_data)
    complex_x = tiny_data[0][0] + 1j
    with pytest.raises(ValueError, match=r"X\[0\] has complex values"):
        clf.predict_proba([complex_x])
    stream = clf.start_stream()
    with pytest.raises(ValueError, match=r"Stream 'a' has complex values.*x\.imag"):
        stream.update({"a": complex_x})
    with pytest.raises(ValueError, match=r"Stream 'a' has complex values"):
        stream.update({"a": complex_x.astype(object)})  # Python complex numbers
    assert stream.stream_ids == []


def _frames_of(X, columns):
    return [pd.DataFrame(x, columns=columns) for x in X]


def test_dataframe_chunks_are_checked_against_the_fitted_names_as_predict_checks(tiny_data):
    X, y = tiny_data
    columns = ["acc", "gyro", "mag"]
    frames = _frames_of(X, columns)
    clf = TCNLabeler(n_filters=8, causal=True, max_epochs=1, precision="fp32").fit(frames, y)
    reordered = frames[0][["gyro", "acc", "mag"]]
    with pytest.raises(ValueError) as offline_error:
        clf.predict_proba([reordered])
    stream = clf.start_stream()
    with pytest.raises(ValueError, match=re.escape(str(offline_error.value))):
        stream.update({"a": reordered})
    assert stream.stream_ids == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fitted names, in order: no warning either
        got = stream.update({"a": frames[0]})["a"]
    np.testing.assert_allclose(got, clf.predict_proba([frames[0]])[0], atol=1e-5)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        stream.update({"a": X[1]})  # an array where names were fitted: as predict, a warning


def test_a_pipeline_stream_checks_names_at_the_scaler_and_warns_no_more_than_predict(tiny_data):
    X, y = tiny_data
    frames = _frames_of(X, ["acc", "gyro", "mag"])
    pipe = make_pipeline(
        SequenceScaler(), TCNLabeler(n_filters=8, causal=True, max_epochs=1, precision="fp32")
    ).fit(frames, y)
    stream = start_stream(pipe)
    with pytest.raises(ValueError, match="but SequenceScaler was fitted with"):
        stream.update({"a": frames[0][["mag", "gyro", "acc"]]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = stream.update({"a": frames[0]})["a"]
    np.testing.assert_allclose(got, pipe.predict_proba([frames[0]])[0], atol=1e-5)


@pytest.mark.parametrize(
    "refit",
    [
        lambda X, y: (X, y),
        lambda X, y: (X, [np.where(yi == "sit", "lie", yi) for yi in y]),  # other classes_
        lambda X, y: ([x[:, :2] for x in X], y),  # other n_features_in_
    ],
    ids=["same-data", "other-classes", "other-features"],
)
@pytest.mark.parametrize("causal", [True, False], ids=["causal", "look-ahead"])
def test_a_stream_left_open_across_a_refit_refuses_and_says_to_start_a_new_one(
    refit, causal, tiny_data
):
    X, y = tiny_data
    clf = TCNLabeler(n_filters=8, causal=causal, decoder="argmax", max_epochs=1).fit(X, y)
    stream = clf.start_stream(output="labels")
    stream.update({"a": X[0][:5]})
    clf.fit(*refit(X, y))
    for call in (lambda: stream.update({"a": X[0][5:8]}), stream.close):
        with pytest.raises(ValueError, match=r"fitted again after the stream started.*new stream"):
            call()
    fresh = clf.start_stream(output="labels")  # a new stream labels with the refitted model
    x = X[0][:, : clf.n_features_in_]
    labels = np.concatenate([fresh.update({"a": x})["a"], fresh.close()["a"]])
    np.testing.assert_array_equal(labels, clf.predict([x])[0])


def test_a_pipeline_stream_refuses_after_its_scaler_alone_is_refitted(tiny_data):
    X, y = tiny_data
    pipe = make_pipeline(SequenceScaler(), TCNLabeler(n_filters=8, causal=True, max_epochs=1))
    pipe.fit(X, y)
    stream = start_stream(pipe)
    stream.update({"a": X[0][:5]})
    pipe[0].fit([x * 3 for x in X])
    with pytest.raises(ValueError, match="fitted again"):
        stream.update({"a": X[0][5:]})


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "look-ahead"])
def test_a_stream_keeps_no_view_of_the_arrays_it_was_given(causal, easy_data):
    """A caller may refill one array for every update; what the stream kept must not change."""
    clf = TCNLabeler(**FAST[TCNLabeler], causal=causal, precision="fp32").fit(*easy_data)
    x = _recordings(seed=7, lengths=(40,))["s0"]
    stream, buffer, got = clf.start_stream(), np.empty((10, 4), np.float32), []
    for a in range(0, 40, 10):
        buffer[:] = x[a : a + 10]
        got.append(stream.update({"a": buffer})["a"])
    got.append(stream.close()["a"])
    np.testing.assert_allclose(np.concatenate(got), clf.predict_proba([x])[0], atol=1e-5)


def test_a_pipeline_with_an_unfitted_scaler_does_not_stream(tiny_data):
    labeler = TCNLabeler(n_filters=8, causal=True, max_epochs=1).fit(*tiny_data)
    pipe = make_pipeline(SequenceScaler(), labeler)  # assembled by hand, never fitted
    with pytest.raises(NotFittedError, match="SequenceScaler instance is not fitted"):
        start_stream(pipe)
