"""ONNX graphs give predict_proba's probabilities on ragged batches of any size."""

import numpy as np
import onnxruntime
import pytest
from sklearn.pipeline import make_pipeline

from sk_seqlabel import (
    ConvLSTMLabeler,
    LSTMLabeler,
    MultiStageTCNLabeler,
    SequenceScaler,
    TCNLabeler,
)
from sk_seqlabel.export import to_onnx

EXPORTED = {
    "tcn": lambda: TCNLabeler(n_filters=8, kernel_size=3, n_blocks=2),
    "tcn-causal": lambda: TCNLabeler(n_filters=8, kernel_size=3, n_blocks=2, causal=True),
    "ms-tcn": lambda: MultiStageTCNLabeler(n_filters=8, kernel_size=3, n_blocks=2),
    "bilstm": lambda: LSTMLabeler(hidden_size=8, num_layers=2),
    "lstm-one-way": lambda: LSTMLabeler(hidden_size=8, num_layers=1, bidirectional=False),
    "convlstm": lambda: ConvLSTMLabeler(n_filters=8, hidden_size=8),
    "convlstm-one-way": lambda: ConvLSTMLabeler(n_filters=8, hidden_size=8, bidirectional=False),
}


def _ragged_batch(seed, n_features=4):
    rng = np.random.default_rng(seed)
    lengths = np.array([97, 60, 1, 33])
    x = rng.standard_normal((len(lengths), lengths.max(), n_features)).astype(np.float32)
    x[1, 60:] = 1e6  # padding never reaches a real step
    return x, lengths


@pytest.mark.parametrize("make", EXPORTED.values(), ids=EXPORTED.keys())
def test_the_onnx_graph_equals_predict_proba(make, easy_data, tmp_path):
    clf = make().set_params(max_epochs=2, precision="fp32", random_state=0).fit(*easy_data)
    to_onnx(clf, tmp_path / "model.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
    for seed in (0, 1):
        x, lengths = _ragged_batch(seed)
        proba = session.run(None, {"x": x, "lengths": lengths})[0]
        expected = clf.predict_proba([x[i, :n] for i, n in enumerate(lengths)])
        for row, (n, p) in enumerate(zip(lengths, expected, strict=True)):
            np.testing.assert_allclose(proba[row, :n], p, rtol=0, atol=1e-4)
            assert not proba[row, n:].any()


def test_a_pipeline_exports_with_its_scaler_folded_in(easy_data, tmp_path):
    X, y = easy_data
    X = [x * 10 + 3 for x in X]
    pipe = make_pipeline(
        SequenceScaler(), TCNLabeler(n_filters=8, max_epochs=2, precision="fp32")
    ).fit(X, y)
    to_onnx(pipe, tmp_path / "pipe.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "pipe.onnx"))
    x, lengths = _ragged_batch(2)
    x = x * 10 + 3
    proba = session.run(None, {"x": x, "lengths": lengths})[0]
    for row, n in enumerate(lengths):
        expected = pipe.predict_proba([x[row, :n]])[0]
        np.testing.assert_allclose(proba[row, :n], expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize(
    "make",
    [
        lambda: TCNLabeler(n_filters=8, kernel_size=3, n_blocks=2, causal=True),
        lambda: MultiStageTCNLabeler(n_filters=8, kernel_size=3, n_blocks=2, causal=True),
        lambda: LSTMLabeler(hidden_size=8, num_layers=2, bidirectional=False),
    ],
    ids=["tcn", "ms-tcn", "lstm"],
)
def test_a_streaming_step_graph_streams_as_offline(make, easy_data, tmp_path):
    clf = make().set_params(max_epochs=2, precision="fp32", random_state=0).fit(*easy_data)
    to_onnx(clf, tmp_path / "step.onnx", streaming=True)
    session = onnxruntime.InferenceSession(str(tmp_path / "step.onnx"))
    state_inputs = [i for i in session.get_inputs() if i.name.startswith("state_")]
    # two streams, fed in pieces of different sizes; zeros before the first sample
    state = [np.zeros((2, *i.shape[1:]), np.float32) for i in state_inputs]
    x, _ = _ragged_batch(4)
    outputs = []
    for a, b in [(0, 1), (1, 14), (14, 15), (15, 60)]:
        feed = {"x": x[:2, a:b], "lengths": np.array([b - a, b - a])}
        feed.update({i.name: s for i, s in zip(state_inputs, state, strict=True)})
        proba, *state = session.run(None, feed)
        outputs.append(proba)
    streamed = np.concatenate(outputs, axis=1)
    offline = clf.predict_proba([x[0, :60], x[1, :60]])
    for row in (0, 1):
        np.testing.assert_allclose(streamed[row], offline[row], rtol=0, atol=1e-4)


@pytest.mark.parametrize(
    "make",
    [
        lambda: TCNLabeler(n_filters=8),
        lambda: ConvLSTMLabeler(n_filters=8, hidden_size=8, bidirectional=False),
    ],
    ids=["tcn", "convlstm-one-way"],
)
def test_models_that_look_ahead_export_no_streaming_step(make, tiny_data, tmp_path):
    # a one-way ConvLSTM streams in Python, but its outputs come after a delay
    clf = make().set_params(max_epochs=1).fit(*tiny_data)
    with pytest.raises(ValueError, match="only causal models export a streaming step"):
        to_onnx(clf, tmp_path / "m.onnx", streaming=True)
