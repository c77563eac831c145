"""The TCN module: shapes, padding exactness, causality and the receptive field it states."""

import pytest
import torch
from torch.nn.utils.rnn import pad_sequence

from sk_seqlabel.modules.tcn import TCN


def _tcn(**kw):
    torch.manual_seed(0)
    params = dict(n_filters=8, kernel_size=3, n_blocks=3, dropout=0.0)
    return TCN(4, 5, **{**params, **kw}).double().eval()


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("kernel_size", [2, 3, 4])
@pytest.mark.parametrize("fill", [0.0, 1e3, float("nan"), float("inf")])
def test_padding_never_reaches_a_real_step(causal, kernel_size, fill):
    model = _tcn(causal=causal, kernel_size=kernel_size)
    lens = [37, 121, 64, 5, 1]
    xs = [torch.randn(L, 4, dtype=torch.float64) for L in lens]
    xb = pad_sequence(xs, batch_first=True, padding_value=fill)
    with torch.no_grad():
        out = model(xb, torch.tensor(lens))
        for i, L in enumerate(lens):
            alone = model(xs[i][None], torch.tensor([L]))[0]
            torch.testing.assert_close(out[i, :L], alone, rtol=0, atol=1e-12)


@pytest.mark.parametrize("causal", [False, True])
def test_receptive_field_is_exactly_what_is_stated(causal):
    model = _tcn(causal=causal)
    rf = model.receptive_field
    assert rf == 1 + 2 * (3 - 1) * (2**3 - 1)
    x = torch.randn(1, 200, 4, dtype=torch.float64)
    x2 = x.clone()
    t = 100
    x2[0, t] += 1.0
    with torch.no_grad():
        changed = (model(x, torch.tensor([200])) - model(x2, torch.tensor([200]))).abs()
    steps = torch.nonzero(changed[0].amax(-1) > 0).ravel()
    if causal:
        # Output s depends on inputs s - rf + 1 .. s: nothing before t moves.
        assert (steps.min().item(), steps.max().item()) == (t, t + rf - 1)
    else:
        half = (rf - 1) // 2
        assert (steps.min().item(), steps.max().item()) == (t - half, t + half)


def test_causal_output_ignores_the_future():
    model = _tcn(causal=True)
    x = torch.randn(2, 80, 4, dtype=torch.float64)
    x2 = x.clone()
    x2[:, 41:] = torch.randn(2, 39, 4, dtype=torch.float64)
    lengths = torch.tensor([80, 80])
    with torch.no_grad():
        a, b = model(x, lengths), model(x2, lengths)
    torch.testing.assert_close(a[:, :41], b[:, :41], rtol=0, atol=0)
    assert (a[:, 41:] - b[:, 41:]).abs().max() > 1e-3


def test_output_shape_and_gradients_flow():
    model = TCN(3, 7, n_filters=8, kernel_size=5, n_blocks=2)
    x = torch.randn(3, 50, 3)
    out = model(x, torch.tensor([50, 20, 1]))
    assert out.shape == (3, 50, 7)
    out[:, :1].sum().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("kernel_size", [2, 5])
def test_gemm_and_conv_paths_agree(causal, kernel_size):
    gemm = _tcn(causal=causal, kernel_size=kernel_size, path="gemm")
    conv = _tcn(causal=causal, kernel_size=kernel_size, path="conv")
    conv.load_state_dict(gemm.state_dict())
    x = torch.randn(3, 90, 4, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([90, 41, 2])
    out_gemm, out_conv = gemm(x, lengths), conv(x, lengths)
    torch.testing.assert_close(out_conv, out_gemm, rtol=0, atol=1e-10)
    (grad_gemm,) = torch.autograd.grad(out_gemm[:, :2].sum(), x)
    (grad_conv,) = torch.autograd.grad(out_conv[:, :2].sum(), x)
    torch.testing.assert_close(grad_conv, grad_gemm, rtol=0, atol=1e-10)
