"""ONNX graphs give predict_proba's probabilities on ragged batches of any size."""

import numpy as np
import onnxruntime
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from sk_seqlabel import (
    ConvLSTMLabeler,
    LSTMLabeler,
    MultiStageTCNLabeler,
    SequenceScaler,
    TCNLabeler,
)
from sk_seqlabel.export import to_onnx
from sk_seqlabel.labelers import all_labelers

EXPORTED = {
    "tcn": lambda: TCNLabeler(n_filters=8, kernel_size=3, n_blocks=2),
    "tcn-causal": lambda: TCNLabeler(n_filters=8, kernel_size=3, n_blocks=2, causal=True),
    "ms-tcn": lambda: MultiStageTCNLabeler(n_filters=8, kernel_size=3, n_blocks=2),
    "ms-tcn-causal": lambda: MultiStageTCNLabeler(
        n_filters=8, kernel_size=3, n_blocks=2, causal=True
    ),
    "bilstm": lambda: LSTMLabeler(hidden_size=8, num_layers=2),
    "lstm-one-way": lambda: LSTMLabeler(hidden_size=8, num_layers=1, bidirectional=False),
    "convlstm": lambda: ConvLSTMLabeler(n_filters=8, hidden_size=8),
    "convlstm-one-way": lambda: ConvLSTMLabeler(n_filters=8, hidden_size=8, bidirectional=False),
}


def _ragged_batch(seed, n_features=4, padding=1e6):
    rng = np.random.default_rng(seed)
    lengths = np.array([97, 60, 1, 33])
    x = rng.standard_normal((len(lengths), lengths.max(), n_features)).astype(np.float32)
    for row, n in enumerate(lengths):
        x[row, n:] = padding  # padding never reaches a real step
    return x, lengths


@pytest.fixture(scope="module", params=EXPORTED.values(), ids=EXPORTED.keys())
def exported(request, easy_data, tmp_path_factory):
    """(fitted labeler, ONNX Runtime session of its graph), for each labeler of EXPORTED."""
    clf = request.param().set_params(max_epochs=2, precision="fp32", random_state=0)
    clf.fit(*easy_data)
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    to_onnx(clf, path)
    return clf, onnxruntime.InferenceSession(str(path))


@pytest.mark.parametrize("padding", [1e6, np.nan, np.inf, -np.inf], ids=str)
def test_the_onnx_graph_equals_predict_proba_whatever_the_padding_holds(exported, padding):
    clf, session = exported
    for seed in (0, 1):
        x, lengths = _ragged_batch(seed, padding=padding)
        proba = session.run(None, {"x": x, "lengths": lengths})[0]
        expected = clf.predict_proba([x[i, :n] for i, n in enumerate(lengths)])
        for row, (n, p) in enumerate(zip(lengths, expected, strict=True)):
            np.testing.assert_allclose(proba[row, :n], p, rtol=0, atol=1e-4)
            np.testing.assert_array_equal(proba[row, n:], 0.0)  # zeros, not NaN


def test_lengths_outside_the_time_axis_read_as_its_nearest_end(exported):
    """Beyond the time axis: the whole axis; 0 or negative: no real step, zeros out."""
    clf, session = exported
    x, _ = _ragged_batch(2)
    lengths = np.array([500, 98, 0, -7])  # the time axis has 97 steps
    proba = session.run(None, {"x": x, "lengths": lengths})[0]
    whole = clf.predict_proba([x[0], x[1]])
    for row in (0, 1):
        np.testing.assert_allclose(proba[row], whole[row], rtol=0, atol=1e-4)
    np.testing.assert_array_equal(proba[2:], 0.0)


def test_an_unfitted_pipeline_or_labeler_does_not_export(tmp_path):
    for estimator in (make_pipeline(SequenceScaler(), TCNLabeler()), TCNLabeler()):
        with pytest.raises(NotFittedError, match="TCNLabeler instance is not fitted"):
            to_onnx(estimator, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


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


#: Where each of two streams is cut into the pieces of its updates: the pieces differ in length
#: from each other, between the streams and from the traced example (16 steps); some are empty.
CUTS = ([0, 1, 14, 15, 15, 60], [0, 0, 23, 24, 41, 60])


@pytest.mark.parametrize(
    "make",
    [
        lambda: TCNLabeler(n_filters=8, kernel_size=3, n_blocks=2, causal=True),
        lambda: MultiStageTCNLabeler(n_filters=8, kernel_size=3, n_blocks=2, causal=True),
        lambda: LSTMLabeler(hidden_size=8, num_layers=2, bidirectional=False),
        lambda: ConvLSTMLabeler(
            n_filters=8, hidden_size=8, kernel_size=1, pool_size=1, bidirectional=False
        ),
    ],
    ids=["tcn", "ms-tcn", "lstm", "convlstm-causal"],
)
def test_a_streaming_step_graph_streams_as_offline_for_any_pieces(make, easy_data, tmp_path):
    clf = make().set_params(max_epochs=2, precision="fp32", random_state=0).fit(*easy_data)
    assert clf.net_.module_.look_ahead == 0
    to_onnx(clf, tmp_path / "step.onnx", streaming=True)
    session = onnxruntime.InferenceSession(str(tmp_path / "step.onnx"))
    state_inputs = [i for i in session.get_inputs() if i.name.startswith("state_")]
    # zeros before a stream's first sample
    dtypes = {"tensor(float)": np.float32, "tensor(int64)": np.int64}
    state = [np.zeros((2, *i.shape[1:]), dtypes[i.type]) for i in state_inputs]
    x, _ = _ragged_batch(4)
    outputs = [[], []]
    for update in range(len(CUTS[0]) - 1):
        pieces = [x[row, cut[update] : cut[update + 1]] for row, cut in enumerate(CUTS)]
        lengths = np.array([len(p) for p in pieces])
        chunk = np.full((2, max(1, lengths.max()), x.shape[2]), np.nan, np.float32)
        for row, piece in enumerate(pieces):
            chunk[row, : len(piece)] = piece
        feed = {"x": chunk, "lengths": lengths}
        feed.update({i.name: s for i, s in zip(state_inputs, state, strict=True)})
        proba, *state = session.run(None, feed)
        for row, n in enumerate(lengths):
            outputs[row].append(proba[row, :n])
            np.testing.assert_array_equal(proba[row, n:], 0.0)  # zeros beyond, not NaN
    offline = clf.predict_proba([x[0, :60], x[1, :60]])
    for row in (0, 1):
        streamed = np.concatenate(outputs[row])
        np.testing.assert_allclose(streamed, offline[row], rtol=0, atol=1e-4)


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


def test_every_labeler_whose_module_exports_is_checked_here():
    # What exports is declared by the modules (SequenceModule.exports_onnx); each labeler
    # whose module declares it must have a configuration in EXPORTED, so the tests above
    # hold its promise.
    declared = {cls for cls in all_labelers() if cls._module.exports_onnx}
    assert declared == {type(make()) for make in EXPORTED.values()}


def test_a_module_that_does_not_declare_export_is_refused(tiny_data, tmp_path):
    clf = TCNLabeler(n_filters=4, kernel_size=3, n_blocks=1, max_epochs=1).fit(*tiny_data)
    clf.net_.module_.exports_onnx = False
    with pytest.raises(ValueError, match=r"does not export to ONNX yet; .*LSTMLabeler"):
        to_onnx(clf, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
