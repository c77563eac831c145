"""Live streams equal offline prediction, for any chunking, with streams coming and going."""

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline

from sk_seqlabel import (
    ConvLSTMLabeler,
    LSTMLabeler,
    MultiStageTCNLabeler,
    SequenceScaler,
    TCNLabeler,
)
from sk_seqlabel.modules.lstm import LSTM
from sk_seqlabel.modules.ms_tcn import MultiStageTCN
from sk_seqlabel.modules.tcn import TCN
from sk_seqlabel.streaming import start_stream

from .conftest import FAST


def _recordings(seed=0, lengths=(300, 170, 1, 45, 260)):
    rng = np.random.default_rng(seed)
    return {f"s{i}": rng.standard_normal((n, 4)).astype(np.float32) for i, n in enumerate(lengths)}


def _stream_in_random_pieces(stream, recordings, seed=0):
    """Feed every recording in random pieces (0 to 40 samples), starting at different updates.

    Streams are closed at random once complete, the rest at the end; what ``close`` returns
    is part of a stream's output.
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


@pytest.mark.parametrize(
    "module",
    [
        lambda: TCN(3, 4, n_filters=8, kernel_size=3, n_blocks=3, causal=True, dropout=0.0),
        lambda: MultiStageTCN(3, 4, n_filters=8, kernel_size=3, n_blocks=2, causal=True),
        lambda: LSTM(3, 4, hidden_size=8, num_layers=2, bidirectional=False),
    ],
    ids=["tcn", "ms-tcn", "lstm"],
)
def test_module_streaming_is_exact_in_float64(module):
    torch.manual_seed(0)
    net = module().double().eval()
    x = torch.randn(3, 90, 3, dtype=torch.float64)
    lengths = torch.tensor([90, 61, 7])
    with torch.no_grad():
        whole = net(x, lengths)
        state, outputs, position = net.initial_stream_state(3), [], 0
        for size in (1, 13, 30, 2, 44):
            piece = x[:, position : position + size]
            logits, state = net.forward_stream(piece, torch.full((3,), piece.shape[1]), state)
            outputs.append(logits)
            position += size
    streamed = torch.cat(outputs, dim=1)
    for row, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(streamed[row, :n], whole[row, :n], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda: LSTMLabeler(hidden_size=8, max_epochs=1),
        lambda: ConvLSTMLabeler(hidden_size=8, max_epochs=1, bidirectional=False),
    ],
    ids=["bidirectional-lstm", "convlstm"],
)
def test_models_that_need_the_whole_future_refuse_and_name_the_causal_ones(make, tiny_data):
    clf = make().fit(*tiny_data)
    with pytest.raises(ValueError, match=r"(whole future|no streaming form).*causal=True"):
        clf.start_stream()


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
    with pytest.raises(ValueError, match=r"Stream 'left': new samples contain NaN"):
        stream.update({"left": np.full((4, 3), np.nan)})
    with pytest.raises(TypeError, match="mapping of stream id"):
        stream.update([np.zeros((4, 3))])
    with pytest.raises(ValueError, match="no open stream 'right'"):
        stream.close(["right"])
    assert stream.update({"left": np.zeros((0, 3))})["left"].shape == (0, 3)
