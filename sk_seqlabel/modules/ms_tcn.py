"""Multi-stage TCN (after MS-TCN): a TCN, then refinement stages over its probabilities."""

from __future__ import annotations

import torch
from torch import nn

from .base import SequenceModule
from .tcn import TCN

__all__ = ["MultiStageTCN"]


#: What a refinement stage may see of the previous stage's logits (``stage_input``).
_STAGE_INPUTS = ("softmax", "sigmoid", "identity")


class MultiStageTCN(SequenceModule):
    """A :class:`~sk_seqlabel.modules.tcn.TCN` followed by refinement TCNs (as MS-TCN).

    Stage 1 maps the input features to logits; each later stage sees only the previous
    stage's outputs, read as the task's head reads them (``stage_input``: class
    probabilities, the softmax of its logits, for a labeler) and maps them to new logits. A
    refinement stage learns which label sequences are plausible (short flickers, impossible
    transitions) from the probabilities alone, which is what cleans up segment boundaries.
    The output is the last stage's logits. In training, every stage's logits count in the loss
    (:meth:`pop_auxiliary_logits`), as in MS-TCN, so each stage learns to label on its own.

    Padding never leaks: every stage is a TCN, which sees zeros beyond each sequence's end at
    every layer. Output ``t`` depends on inputs ``t - context[0] .. t + context[1]``, the
    stages' contexts added up.

    Parameters
    ----------
    n_features : int
        Input channels.
    n_outputs : int
        Output logits per timestep (and the input channels of the refinement stages).
    n_filters, kernel_size, n_blocks, dropout, causal, path
        As for :class:`~sk_seqlabel.modules.tcn.TCN`, for every stage.
    n_stages : int, default=2
        Stages in all: 1 is a plain TCN.
    stage_input : {"softmax", "sigmoid", "identity"}, default="softmax"
        What a refinement stage sees of the previous stage's logits: class probabilities
        (one class per step), independent label probabilities (several labels per step),
        or the values themselves (regression). The estimator's task chooses it.

    Attributes
    ----------
    stages : torch.nn.ModuleList of TCN
        Stage 1 first.
    receptive_field : int
        Input steps one output depends on: ``context[0] + context[1] + 1``.
    context : tuple of int
        ``(before, after)`` steps one output depends on.

    Examples
    --------
    >>> import torch
    >>> net = MultiStageTCN(n_features=3, n_outputs=4, n_filters=8, kernel_size=3, n_blocks=2)
    >>> net.receptive_field, net.look_ahead
    (25, 12)
    >>> net(torch.randn(2, 20, 3), torch.tensor([20, 7])).shape
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
        n_stages: int = 2,
        dropout: float = 0.1,
        causal: bool = False,
        path: str = "conv",
        stage_input: str = "softmax",
    ):
        super().__init__()
        if stage_input not in _STAGE_INPUTS:
            raise ValueError(f"stage_input must be one of {_STAGE_INPUTS}; got {stage_input!r}.")
        # a name, not a function: the module is pickled with the estimator
        self.stage_input = stage_input
        hyper = dict(
            n_filters=n_filters,
            kernel_size=kernel_size,
            n_blocks=n_blocks,
            dropout=dropout,
            causal=causal,
            path=path,
        )
        self.stages = nn.ModuleList(
            TCN(n_features if i == 0 else n_outputs, n_outputs, **hyper) for i in range(n_stages)
        )
        self.context = tuple(sum(stage.context[i] for stage in self.stages) for i in (0, 1))
        self.receptive_field = self.context[0] + self.context[1] + 1

    @property
    def look_ahead(self) -> int:
        """Future input steps one output depends on: the stages' look-aheads added up."""
        return self.context[1]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Map ``x`` (batch, time, n_features) to the last stage's logits.

        Returns logits of shape (batch, time, n_outputs); ``lengths`` as for :class:`TCN`.
        """
        logits = self.stages[0](x, lengths)
        earlier = []
        for stage in self.stages[1:]:
            earlier.append(logits)
            logits = stage(self._stage_input(logits), lengths)
        self._earlier_logits = earlier if self.training else []
        return logits

    def _stage_input(self, logits):
        if self.stage_input == "softmax":
            return torch.softmax(logits, dim=-1)
        if self.stage_input == "sigmoid":
            return torch.sigmoid(logits)
        return logits

    def pop_auxiliary_logits(self):
        """The earlier stages' logits of the last training-mode forward pass; then cleared."""
        earlier, self._earlier_logits = getattr(self, "_earlier_logits", []), []
        return earlier

    def initial_stream_state(self, n_streams):
        """Every stage's carried inputs (causal stages only)."""
        return [stage.initial_stream_state(n_streams) for stage in self.stages]

    def forward_stream(self, x, lengths, state):
        """The stages over new steps, each carrying its own convolutions' inputs."""
        logits, new_state = x, []
        for i, (stage, carried) in enumerate(zip(self.stages, state, strict=True)):
            logits, _, carried = stage.forward_stream(
                logits if i == 0 else self._stage_input(logits), lengths, carried
            )
            new_state.append(carried)
        return logits, lengths, new_state

    def configure_runtime(
        self,
        *,
        conv_path="conv",
        lstm_path="flip",
        low_precision_recurrence=True,
        flush_denormal=False,
        flatten_weights=False,
    ):
        """Choose how every stage's convolutions run; speed only."""
        for stage in self.stages:
            stage.configure_runtime(conv_path=conv_path)
