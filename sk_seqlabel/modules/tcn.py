"""Temporal convolutional network (TCN) for per-timestep classification.

Layout: blocks run channels-last, ``(batch, time, channels)``, so layer normalisation over
channels needs no transposes. Each dilated convolution has one set of parameters (an
``nn.Linear`` over the ``kernel_size`` taps) and two ways to run it: one matrix product over
``kernel_size`` shifted copies of its input ("gemm": no per-shape convolution plan on a GPU,
where every bucketed batch has a new shape), or ``F.conv1d`` with the same weights ("conv":
on a CPU about 1.1-1.4x faster for a training step, because it never materialises the
``kernel_size``-times wider input copy that the matrix product reads).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import SequenceModule

__all__ = ["TCN", "DilatedConv", "TemporalBlock", "receptive_field"]

PATHS = ("gemm", "conv")


def receptive_field(kernel_size: int, n_blocks: int) -> int:
    """Input steps one output of a :class:`TCN` depends on.

    Each block has two convolutions of dilation ``2**i``, each widening the field by
    ``(kernel_size - 1) * 2**i``.

    Examples
    --------
    >>> receptive_field(kernel_size=5, n_blocks=4)
    121
    """
    return 1 + 2 * (kernel_size - 1) * (2**n_blocks - 1)


class DilatedConv(nn.Module):
    """A dilated 1-D convolution over ``(batch, time, channels)`` written as one linear map.

    Output step ``t`` sees input steps ``t - left + j * dilation`` for ``j = 0..kernel_size-1``,
    where ``left = (kernel_size - 1) * dilation`` when causal and about half of it otherwise.
    Steps outside ``[0, T)`` read zeros. The caller zeroes steps beyond each sequence's end, so a
    padded batch computes exactly what each sequence alone would.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int
    dilation : int
    causal : bool
        Pad on the left only, so no output depends on a later input.
    path : {"gemm", "conv"}, default="conv"
        How the convolution runs: "gemm" is one matrix product over ``kernel_size`` shifted
        copies of the input, "conv" is ``F.conv1d`` with the same weights (the device policy
        chooses: "gemm" on CUDA, ``DevicePolicy.conv_path``). It changes speed only: the
        parameters and the result are the same (up to rounding), and the attribute may be
        changed after training.

    Examples
    --------
    >>> import torch
    >>> conv = DilatedConv(3, 8, kernel_size=3, dilation=2, causal=True)
    >>> conv(torch.zeros(2, 10, 3)).shape
    torch.Size([2, 10, 8])
    """

    def __init__(self, in_channels, out_channels, kernel_size, dilation, causal, path="conv"):
        super().__init__()
        if path not in PATHS:
            raise ValueError(f"path must be one of {PATHS}; got {path!r}.")
        self.kernel_size, self.dilation, self.path = kernel_size, dilation, path
        span = (kernel_size - 1) * dilation
        self.pad_left = span if causal else span // 2
        self.pad_right = span - self.pad_left
        # nn.Linear's default init over fan_in = kernel_size * in_channels is nn.Conv1d's.
        # Column j * in_channels + c of its weight is tap j of input channel c.
        self.linear = nn.Linear(kernel_size * in_channels, out_channels)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, time, in_channels)`` to ``(batch, time, out_channels)``."""
        return self.valid(F.pad(h, (0, 0, self.pad_left, self.pad_right)))

    def valid(self, hp: torch.Tensor) -> torch.Tensor:
        """The outputs that ``hp`` (batch, time', in_channels) holds every input of.

        ``time' - (kernel_size - 1) * dilation`` steps: ``forward`` pads its input with zeros
        first; streaming prepends the inputs carried from the previous update instead.
        """
        span = (self.kernel_size - 1) * self.dilation
        if self.path == "gemm":
            T, d = hp.shape[1] - span, self.dilation
            cols = torch.cat([hp[:, j * d : j * d + T] for j in range(self.kernel_size)], dim=-1)
            return self.linear(cols)
        # (out, k * in) -> (out, in, k): the same taps in nn.Conv1d's weight layout
        weight = self.linear.weight.unflatten(1, (self.kernel_size, -1)).transpose(1, 2)
        out = F.conv1d(hp.transpose(1, 2), weight, self.linear.bias, dilation=self.dilation)
        return out.transpose(1, 2)

    def stream(self, h: torch.Tensor, lengths: torch.Tensor, carried: torch.Tensor):
        """Causal outputs for new steps ``h`` of each row, after the inputs ``carried``.

        ``carried`` (batch, span, in_channels) holds each row's last ``span`` inputs (zeros
        before its first step, as the causal padding). Returns the outputs (batch, time,
        out_channels) and the new carried inputs: each row's last ``span`` real inputs.
        """
        full = torch.cat([carried, h], dim=1)
        span = carried.shape[1]
        index = lengths.to(h.device)[:, None] + torch.arange(span, device=h.device)
        kept = full.gather(1, index[..., None].expand(-1, -1, full.shape[2]))
        return self.valid(full), kept


class TemporalBlock(nn.Module):
    """Residual block: two dilated convolutions, each followed by layer norm, ReLU and dropout.

    Layer norm runs over channels at each timestep, so it mixes nothing across time (and
    nothing across batch mates). A 1x1 convolution maps the skip path when channel counts differ.

    Parameters
    ----------
    in_channels, out_channels, kernel_size, dilation : int
    dropout : float
    causal : bool
    path : {"gemm", "conv"}, default="conv"
        How the convolutions run, see :class:`DilatedConv`.
    """

    def __init__(
        self, in_channels, out_channels, kernel_size, dilation, dropout, causal, path="conv"
    ):
        super().__init__()
        self.conv1 = DilatedConv(in_channels, out_channels, kernel_size, dilation, causal, path)
        self.conv2 = DilatedConv(out_channels, out_channels, kernel_size, dilation, causal, path)
        self.norm1 = nn.LayerNorm(out_channels)
        self.norm2 = nn.LayerNorm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.skip = (
            nn.Linear(in_channels, out_channels) if in_channels != out_channels else nn.Identity()
        )

    def forward(self, h: torch.Tensor, padding: torch.Tensor | None) -> torch.Tensor:
        """Map ``(batch, time, in_channels)`` to ``(batch, time, out_channels)``.

        ``padding`` is ``(batch, time, 1)`` bool, True at padded steps. Every convolution
        input is zero-filled there (``masked_fill``, so even inf or nan padding cannot leak),
        so each layer (not only the first) sees zeros beyond a sequence's end, exactly as the
        sequence alone would. None skips the filling: right for causal convolutions, whose real
        steps never read a later (padded) step.
        """
        h_in = h if padding is None else h.masked_fill(padding, 0.0)
        z = self.dropout(F.relu(self.norm1(self.conv1(h_in))))
        if padding is not None:
            z = z.masked_fill(padding, 0.0)
        z = self.dropout(F.relu(self.norm2(self.conv2(z))))
        return z + self.skip(h)

    def stream(self, h, lengths, carried):
        """A causal block over new steps: as :meth:`forward`, carrying each convolution's inputs.

        ``carried`` is ``(inputs of conv1, inputs of conv2)``; returns the output and the new
        pair.
        """
        z, first = self.conv1.stream(h, lengths, carried[0])
        z = self.dropout(F.relu(self.norm1(z)))
        z, second = self.conv2.stream(z, lengths, carried[1])
        z = self.dropout(F.relu(self.norm2(z)))
        return z + self.skip(h), (first, second)


class TCN(SequenceModule):
    """Stack of temporal blocks with dilations ``1, 2, 4, ...`` and a per-timestep linear head.

    Parameters
    ----------
    n_features : int
        Input channels.
    n_outputs : int
        Output logits per timestep.
    n_filters : int, default=64
        Channels of every block.
    kernel_size : int, default=5
    n_blocks : int, default=4
        Block ``i`` uses dilation ``2**i`` in both its convolutions.
    dropout : float, default=0.1
    causal : bool, default=False
        Pad on the left only: the output at step ``t`` depends on inputs ``<= t`` alone.
    path : {"gemm", "conv"}, default="conv"
        How the dilated convolutions run (see :class:`DilatedConv`): one matrix product per
        convolution, or ``F.conv1d``. Speed only; the attribute
        of each :class:`DilatedConv` may be changed after training.

    Attributes
    ----------
    receptive_field : int
        Number of input steps that one output step depends on,
        ``1 + 2 * (kernel_size - 1) * (2**n_blocks - 1)``. Causal: all of them at or before
        ``t``; otherwise about half on each side of ``t``.
    context : tuple of int
        ``(before, after)``: output ``t`` depends on inputs ``t - before .. t + after``;
        ``before + after + 1 == receptive_field``.

    Examples
    --------
    >>> import torch
    >>> net = TCN(n_features=3, n_outputs=4, n_filters=8, kernel_size=3, n_blocks=2)
    >>> net.receptive_field
    13
    >>> x = torch.randn(2, 20, 3)
    >>> net(x, torch.tensor([20, 7])).shape
    torch.Size([2, 20, 4])
    """

    exports_onnx = True

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        n_filters: int = 64,
        kernel_size: int = 5,
        n_blocks: int = 4,
        dropout: float = 0.1,
        causal: bool = False,
        path: str = "conv",
    ):
        super().__init__()
        if path not in PATHS:
            raise ValueError(f"path must be one of {PATHS}; got {path!r}.")
        self.causal = causal
        self.blocks = nn.ModuleList(
            TemporalBlock(
                n_features if i == 0 else n_filters,
                n_filters,
                kernel_size,
                2**i,
                dropout,
                causal,
                path,
            )
            for i in range(n_blocks)
        )
        self.head = nn.Linear(n_filters, n_outputs)
        self.receptive_field = receptive_field(kernel_size, n_blocks)
        convs = [conv for block in self.blocks for conv in (block.conv1, block.conv2)]
        # Output t depends on inputs t - context[0] .. t + context[1], nothing else.
        self.context = (sum(c.pad_left for c in convs), sum(c.pad_right for c in convs))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Map ``x`` (batch, time, n_features) to logits (batch, time, n_outputs).

        ``lengths`` (batch,) gives each sequence's real length, on the CPU or on ``x``'s
        device; outputs at padded steps are arbitrary, and padded input values never reach a
        real step.
        """
        padding = None
        # Padding only ever follows a sequence's real steps, and a causal convolution's real
        # outputs read only earlier steps, so causal blocks need no masking.
        if not self.causal:
            steps = torch.arange(x.shape[1], device=x.device)
            lengths = lengths.to(x.device, non_blocking=True)  # may come on the host
            padding = (steps[None, :] >= lengths[:, None]).unsqueeze(-1)
        h = x
        for block in self.blocks:
            h = block(h, padding)
        return self.head(h)

    @property
    def look_ahead(self) -> int:
        """Future input steps one output depends on: 0 when causal, else ``context[1]``."""
        return self.context[1]

    def initial_stream_state(self, n_streams):
        """Zeros: what each causal convolution reads before a stream's first step."""
        if not self.causal:
            raise NotImplementedError("only a causal TCN streams so far")
        param = self.head.weight
        return [
            tuple(
                param.new_zeros(
                    n_streams, conv.pad_left, conv.linear.in_features // conv.kernel_size
                )
                for conv in (block.conv1, block.conv2)
            )
            for block in self.blocks
        ]

    def forward_stream(self, x, lengths, state):
        """Logits for the new steps of each stream (all final: causal only), the state after."""
        h, new_state = x, []
        for block, carried in zip(self.blocks, state, strict=True):
            h, carried = block.stream(h, lengths, carried)
            new_state.append(carried)
        return self.head(h), lengths, new_state

    def configure_runtime(
        self,
        *,
        conv_path="conv",
        lstm_path="flip",
        low_precision_recurrence=True,
        flush_denormal=False,
        flatten_weights=False,
    ):
        """Choose how the dilated convolutions run (:class:`DilatedConv`); speed only.

        Takes the choices every sequence module of this package takes; only ``conv_path``
        applies here.
        """
        if conv_path not in PATHS:
            raise ValueError(f"conv_path must be one of {PATHS}; got {conv_path!r}.")
        for block in self.blocks:
            block.conv1.path = block.conv2.path = conv_path
