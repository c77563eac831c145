import pytest
import torch

from sk_seqlabel.modules import recurrence as lstm_module
from sk_seqlabel.modules.lstm import LSTM
from sk_seqlabel.modules.recurrence import reverse_padded, run_lstm, run_lstm_chunked

LENGTHS = [37, 121, 64, 5, 1]
N_FEATURES, N_CLASSES = 3, 4


def make_batch(lengths, fill=0.0, seed=0):
    """Random float64 sequences, padded with ``fill``; returns (padded, lengths, sequences)."""
    gen = torch.Generator().manual_seed(seed)
    seqs = [torch.randn(n, N_FEATURES, generator=gen, dtype=torch.float64) for n in lengths]
    x = torch.full((len(seqs), max(lengths), N_FEATURES), fill, dtype=torch.float64)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = s
    return x, torch.tensor(lengths), seqs


def make_model(seed=0, **kwargs):
    torch.manual_seed(seed)
    kwargs.setdefault("hidden_size", 8)
    return LSTM(N_FEATURES, N_CLASSES, **kwargs).double().eval()


def masked_loss(logits, lengths):
    mask = torch.arange(logits.shape[1]) < lengths[:, None]
    return (logits.logsumexp(-1) * mask).sum()


def test_output_shape():
    model = LSTM(N_FEATURES, N_CLASSES, hidden_size=8)
    x = torch.randn(5, 121, N_FEATURES)
    assert model(x, torch.tensor(LENGTHS)).shape == (5, 121, N_CLASSES)


@pytest.mark.parametrize("path", ["flip", "packed"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("fill", [0.0, 1e3, float("nan")])
def test_output_does_not_depend_on_padding_or_batch_mates(path, num_layers, bidirectional, fill):
    model = make_model(num_layers=num_layers, bidirectional=bidirectional, path=path)
    x, lengths, seqs = make_batch(LENGTHS, fill)
    with torch.no_grad():
        out = model(x, lengths)
        for i, s in enumerate(seqs):
            alone = model(s[None], torch.tensor([len(s)]))[0]
            torch.testing.assert_close(out[i, : len(s)], alone, rtol=0, atol=1e-10)


@pytest.mark.parametrize("path", ["flip", "packed"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_reverse_direction_starts_at_each_sequences_last_step(path, num_layers):
    # reference: torch's own bidirectional nn.LSTM on the lone, unpadded sequence
    model = make_model(num_layers=num_layers, bidirectional=True)
    x, lengths, seqs = make_batch(LENGTHS, fill=1e3)
    with torch.no_grad():
        out = run_lstm(model.lstm, x, lengths, path)
        for i, s in enumerate(seqs):
            reference = model.lstm(s[None])[0][0]
            torch.testing.assert_close(out[i, : len(s)], reference, rtol=0, atol=1e-10)


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_flip_path_equals_packed_path(num_layers, bidirectional):
    model = make_model(num_layers=num_layers, bidirectional=bidirectional)
    x, lengths, _ = make_batch(LENGTHS, fill=1e3)
    results = {}
    for path in ["flip", "packed"]:
        model.path = path
        model.zero_grad()
        logits = model(x, lengths)
        masked_loss(logits, lengths).backward()
        mask = torch.arange(x.shape[1]) < lengths[:, None]
        grads = {name: p.grad.clone() for name, p in model.named_parameters()}
        results[path] = logits.detach()[mask], grads
    (flip_out, flip_grads), (packed_out, packed_grads) = results["flip"], results["packed"]
    torch.testing.assert_close(flip_out, packed_out, rtol=0, atol=1e-10)
    assert flip_grads.keys() == packed_grads.keys()
    for name in flip_grads:
        assert flip_grads[name].abs().max() > 0, name
        torch.testing.assert_close(flip_grads[name], packed_grads[name], rtol=0, atol=1e-10)


def test_parameters_have_standard_lstm_names():
    model = LSTM(N_FEATURES, N_CLASSES, hidden_size=8, num_layers=2, bidirectional=True)
    reference = torch.nn.LSTM(N_FEATURES, 8, 2, batch_first=True, bidirectional=True)
    keys = {k for k in model.state_dict() if k.startswith("lstm.")}
    assert keys == {"lstm." + k for k in reference.state_dict()}


@pytest.mark.parametrize("num_layers", [1, 2])
def test_unidirectional_is_causal(num_layers):
    model = make_model(num_layers=num_layers, bidirectional=False)
    x, lengths, _ = make_batch([50, 50])
    t = 20
    changed = x.clone()
    changed[:, t + 1 :] = torch.randn_like(changed[:, t + 1 :])
    with torch.no_grad():
        before, after = model(x, lengths), model(changed, lengths)
    assert torch.equal(before[:, : t + 1], after[:, : t + 1])
    assert (before[:, t + 1 :] - after[:, t + 1 :]).abs().amin(dim=-1).gt(0).all()


def test_bidirectional_output_sees_the_future():
    model = make_model(num_layers=1, bidirectional=True)
    x, lengths, _ = make_batch([8])
    changed = x.clone()
    changed[:, -1] += 1.0
    with torch.no_grad():
        difference = model(x, lengths)[:, 0] - model(changed, lengths)[:, 0]
    assert difference.abs().min() > 1e-8


@pytest.mark.parametrize("bidirectional", [True, False])
def test_dropout_between_layers_matches_torch(bidirectional):
    # dropout=1 zeroes the input of the second layer exactly, so the flip path (own dropout
    # call) and nn.LSTM (packed, or plain when unidirectional) must agree in train mode
    model = make_model(num_layers=2, bidirectional=bidirectional, dropout=1.0).train()
    x, lengths, _ = make_batch(LENGTHS)
    mask = torch.arange(x.shape[1]) < lengths[:, None]
    with torch.no_grad():
        flip = run_lstm(model.lstm, x, lengths, "flip")[mask]
        packed = run_lstm(model.lstm, x, lengths, "packed")[mask]
        torch.testing.assert_close(flip, packed, rtol=0, atol=1e-10)
        model.eval()
        assert not torch.allclose(flip, run_lstm(model.lstm, x, lengths, "flip")[mask])


@pytest.mark.parametrize("path", ["flip", "packed"])
def test_dropout_is_active_in_train_mode_only(path):
    model = make_model(num_layers=2, dropout=0.5, path=path)
    x, lengths, _ = make_batch(LENGTHS)
    with torch.no_grad():
        assert torch.equal(model(x, lengths), model(x, lengths))
        model.train()
        assert not torch.allclose(model(x, lengths), model(x, lengths))


def test_dropout_has_no_effect_with_one_layer():
    model = make_model(num_layers=1, dropout=0.5, path="flip")
    x, lengths, _ = make_batch(LENGTHS)
    with torch.no_grad():
        expected = model(x, lengths)
        assert torch.equal(model.train()(x, lengths), expected)


def test_reverse_padded_reverses_within_each_length_and_is_its_own_inverse():
    x, lengths, seqs = make_batch(LENGTHS, fill=1e3)
    flipped = reverse_padded(x, lengths)
    for i, s in enumerate(seqs):
        assert torch.equal(flipped[i, : len(s)], s.flip(0))
        assert torch.equal(flipped[i, len(s) :], x[i, len(s) :])
    assert torch.equal(reverse_padded(flipped, lengths), x)


def test_unknown_path_is_rejected():
    with pytest.raises(ValueError, match="path must be one of"):
        LSTM(N_FEATURES, N_CLASSES, path="cudnn")
    lstm = torch.nn.LSTM(N_FEATURES, 8, batch_first=True)
    with pytest.raises(ValueError, match="path must be one of"):
        run_lstm(lstm, torch.randn(1, 3, N_FEATURES), torch.tensor([3]), path="cudnn")


@pytest.mark.parametrize(
    ("num_layers", "bidirectional"), [(1, False), (2, False), (1, True), (3, True)]
)
def test_chunked_run_yields_every_chunk_once_and_matches_whole(num_layers, bidirectional):
    model = make_model(num_layers=num_layers, bidirectional=bidirectional)
    x = make_batch([50])[0]
    bounds = [(0, 7), (7, 20), (20, 21), (21, 50)]
    threads = torch.get_num_threads()
    pieces = list(run_lstm_chunked(model.lstm, lambda k: x[:, slice(*bounds[k])], len(bounds)))
    assert sorted(k for k, _ in pieces) == list(range(len(bounds)))
    chunked = torch.cat([out for _, out in sorted(pieces, key=lambda p: p[0])], dim=1)
    torch.testing.assert_close(chunked, model.lstm(x)[0], rtol=0, atol=1e-12)
    # the runner drops to one intra-op thread while it works; it must give the setting back
    assert torch.get_num_threads() == threads


def test_chunked_run_restores_threads_and_denormal_flushing_and_keeps_no_grad():
    torch.set_flush_denormal(False)
    threads = torch.get_num_threads()
    model = make_model(num_layers=2, bidirectional=True)
    x = make_batch([40])[0]
    flushing = []

    def chunk(k):
        flushing.append(lstm_module._flush_denormal_is_on())
        return x[:, 10 * k : 10 * k + 10]

    with torch.no_grad():
        pieces = list(run_lstm_chunked(model.lstm, chunk, 4, flush_denormal=True))
    assert flushing and all(flushing)  # while it runs, as asked
    assert not any(out.requires_grad for _, out in pieces)
    assert torch.get_num_threads() == threads
    assert not lstm_module._flush_denormal_is_on()  # restored
    flushing.clear()
    list(run_lstm_chunked(model.lstm, chunk, 4))  # not asked: the thread's setting stays
    assert flushing and not any(flushing)
    torch.set_flush_denormal(True)
    try:
        list(run_lstm_chunked(model.lstm, chunk, 4, flush_denormal=True))
        assert lstm_module._flush_denormal_is_on()
    finally:
        torch.set_flush_denormal(False)


@pytest.mark.parametrize(("num_layers", "bidirectional"), [(1, False), (2, True), (3, True)])
def test_chunked_run_of_several_sequences_matches_each_alone(num_layers, bidirectional):
    # rows end in different chunks, one on a chunk boundary, one within the first chunk
    model = make_model(num_layers=num_layers, bidirectional=bidirectional)
    lengths, chunk = [53, 40, 37, 6], 10
    _, _, seqs = make_batch(lengths)
    n_chunks = -(-max(lengths) // chunk)
    chunk_lengths = [
        torch.tensor([min(chunk, n - k * chunk) for n in lengths if n > k * chunk])
        for k in range(n_chunks)
    ]

    def chunk_inputs(k):
        rows = [s[k * chunk : (k + 1) * chunk] for s in seqs if len(s) > k * chunk]
        return torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)

    outputs = dict(run_lstm_chunked(model.lstm, chunk_inputs, n_chunks, chunk_lengths))
    assert sorted(outputs) == list(range(n_chunks))
    for row, seq in enumerate(seqs):
        whole = model.lstm(seq[None])[0][0]
        pieces = [
            outputs[k][row, : chunk_lengths[k][row]]
            for k in range(n_chunks)
            if row < len(chunk_lengths[k])
        ]
        torch.testing.assert_close(torch.cat(pieces), whole, rtol=0, atol=1e-12)
