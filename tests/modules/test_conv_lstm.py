import pytest
import torch

from sk_seqlabel.modules.conv_lstm import ConvLSTM

# none a multiple of pool_size=4 but 64, some shorter than it
LENGTHS = [37, 121, 64, 5, 1, 3, 6]
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
    kwargs = {"n_filters": 6, "hidden_size": 8, **kwargs}
    return ConvLSTM(N_FEATURES, N_CLASSES, **kwargs).double().eval()


@pytest.mark.parametrize("n_steps", [1, 3, 4, 37])
def test_output_has_one_step_per_input_step(n_steps):
    model = ConvLSTM(N_FEATURES, N_CLASSES, n_filters=6, hidden_size=8, pool_size=4)
    x = torch.randn(2, n_steps, N_FEATURES)
    lengths = torch.tensor([n_steps, max(1, n_steps // 2)])
    assert model(x, lengths).shape == (2, n_steps, N_CLASSES)


@pytest.mark.parametrize("path", ["flip", "packed"])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("fill", [0.0, 1e3, float("nan")])
def test_output_does_not_depend_on_padding_or_batch_mates(path, bidirectional, fill):
    model = make_model(bidirectional=bidirectional, num_layers=2, path=path)
    x, lengths, seqs = make_batch(LENGTHS, fill)
    with torch.no_grad():
        out = model(x, lengths)
        for i, s in enumerate(seqs):
            alone = model(s[None], torch.tensor([len(s)]))[0]
            torch.testing.assert_close(out[i, : len(s)], alone, rtol=0, atol=1e-10)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("kernel_size", [7, 8])
def test_odd_and_even_kernels_pad_like_torch_same(kernel_size):
    model = make_model(kernel_size=kernel_size)
    x, lengths, _ = make_batch([20])
    expected = torch.nn.functional.conv1d(
        x.transpose(1, 2), model.conv.weight, model.conv.bias, padding="same"
    )
    with torch.no_grad():
        # the head's weights on the conv features, all else zero: logits = conv features
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.head.weight[:, -6:-2] = torch.eye(4, dtype=torch.float64)
        out = model(x, lengths)
    torch.testing.assert_close(out, expected.relu().transpose(1, 2)[..., :4], rtol=0, atol=1e-12)


def test_flip_path_equals_packed_path():
    model = make_model(num_layers=2)
    x, lengths, _ = make_batch(LENGTHS, fill=1e3)
    mask = torch.arange(x.shape[1]) < lengths[:, None]
    with torch.no_grad():
        model.path = "flip"
        flip = model(x, lengths)[mask]
        model.path = "packed"
        packed = model(x, lengths)[mask]
    torch.testing.assert_close(flip, packed, rtol=0, atol=1e-10)


def test_look_ahead_is_bounded_by_kernel_and_pool():
    # unidirectional: the output at t sees steps up to t + kernel_size // 2 + pool_size - 1
    # (the bound is reached when t is a multiple of pool_size)
    model = make_model(bidirectional=False, kernel_size=8, pool_size=4)
    x, lengths, _ = make_batch([60, 60])
    start = 31
    reach = 8 // 2 + 4 - 1
    changed = x.clone()
    changed[:, start:] = torch.randn_like(changed[:, start:])
    with torch.no_grad():
        before, after = model(x, lengths), model(changed, lengths)
    assert torch.equal(before[:, : start - reach], after[:, : start - reach])
    assert not torch.allclose(before[:, start - reach], after[:, start - reach])
