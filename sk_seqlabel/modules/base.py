"""The contract between the skorch net and a sequence module: everything the net relies on.

A module of this package subclasses :class:`SequenceModule` and defines

- ``forward(x, lengths)``: logits for a padded batch, exact under padding (a sequence's
  outputs never depend on its batch mates or on padded values);
- ``forward_chunked(xs, max_batch_timesteps)``: logits for sequences too long for one batch,
  computed in bounded memory with the same result as ``forward`` on each whole sequence;
- ``look_ahead``: how many future input steps one output depends on (0: causal; a bound; or
  None: unbounded). Tests check it, and streaming and decoding build on it;
- optionally ``configure_runtime(...)``, the device policy's code-path choices (speed only),
  ``chunked_threads``, the intra-op threads its ``forward_chunked`` runs best on, and
  ``pop_auxiliary_logits()``, intermediate outputs of a training step that the loss counts
  too (deep supervision, as MS-TCN's earlier stages).

Nothing here knows about scikit-learn: this file imports torch only.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SequenceModule"]


class SequenceModule(nn.Module):
    """Base class of the sequence modules: the methods and attributes the net calls.

    Subclasses take ``n_features`` and ``n_classes`` as their first two arguments (the net
    passes them) and any hyperparameters as keywords.

    Attributes
    ----------
    chunked_threads : int or None
        Torch intra-op threads :meth:`forward_chunked` runs best on; None: the caller's. The
        net applies it around the call (and restores it).
    """

    chunked_threads: int | None = None

    @property
    def look_ahead(self) -> int | None:
        """Future input steps one output step depends on: 0 (causal), a bound, or None.

        The output at step ``t`` depends on inputs at steps ``<= t + look_ahead`` only (and
        on all future steps when None).
        """
        raise NotImplementedError("Must be overridden in subclass")

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits for every step of a padded batch.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, time, n_features)
            Padded batch; values beyond each length must never reach a real step.
        lengths : torch.Tensor of shape (batch,), int64
            Real length of each sequence, each in ``[1, time]``; on the CPU (the net passes
            them there, so that no batch waits for the device) or on ``x``'s device.

        Returns
        -------
        torch.Tensor of shape (batch, time, n_classes)
            Logits; values at padded steps are arbitrary.
        """
        raise NotImplementedError("Must be overridden in subclass")

    def forward_chunked(self, xs, max_batch_timesteps: int):
        """Logits for long sequences, computed in bounded memory, equal to :meth:`forward`.

        Parameters
        ----------
        xs : list of torch.Tensor of shape (T_i, n_features)
            Sequences on any device; pieces are moved to the module's device as needed.
        max_batch_timesteps : int
            Padded timesteps per piece the module runs at once (all rows together).

        Returns
        -------
        list of torch.Tensor of shape (T_i, n_classes), float32, on the CPU
        """
        raise NotImplementedError("Must be overridden in subclass")

    def initial_stream_state(self, n_streams: int):
        """The carried state of ``n_streams`` new live streams, batch first in every tensor.

        A nested tuple/list of tensors whose first dimension is the stream: the last inputs of
        each causal convolution, each LSTM layer's ``(h, c)``. Modules that cannot stream
        (they look ahead) raise ``NotImplementedError``, which callers turn into a clear error.
        """
        raise NotImplementedError("Must be overridden in subclass")

    def forward_stream(self, x: torch.Tensor, lengths: torch.Tensor, state):
        """Logits for the new steps of live streams, and their state after those steps.

        Parameters
        ----------
        x : torch.Tensor of shape (n_streams, time, n_features)
            The new steps of each stream, padded at the end.
        lengths : torch.Tensor of shape (n_streams,), int64
            New steps of each stream, each in ``[1, time]``.
        state
            From :meth:`initial_stream_state` or the previous call, rows in the order of ``x``.

        Returns
        -------
        logits : torch.Tensor of shape (n_streams, time, n_classes)
            Equal at each row's real steps to :meth:`forward` on the whole stream so far.
        state
            Each row advanced by its own ``lengths``.
        """
        raise NotImplementedError("Must be overridden in subclass")

    def pop_auxiliary_logits(self) -> list[torch.Tensor]:
        """Intermediate logits of the last training-mode forward pass, for the loss; cleared.

        The net adds the same loss, over the same real timesteps, for each of them to the loss
        of the output (deep supervision). Each is (batch, time, n_classes). Modules without
        intermediate outputs keep this default: none.
        """
        return []

    def configure_runtime(
        self, *, conv_path="auto", lstm_path="auto", low_precision_recurrence=True
    ) -> None:
        """Take the device policy's code-path choices; speed only, the parameters stay.

        Parameters
        ----------
        conv_path : {"auto", "gemm", "conv"}
            How dilated convolutions run (see :class:`~sk_seqlabel.modules.tcn.DilatedConv`).
        lstm_path : {"auto", "packed", "flip"}
            How a bidirectional LSTM handles padding (see
            :func:`~sk_seqlabel.modules.recurrence.run_lstm`).
        low_precision_recurrence : bool
            Whether an enclosing autocast may run LSTM layers in lower precision.

        Modules without such choices keep this default, which does nothing.
        """
