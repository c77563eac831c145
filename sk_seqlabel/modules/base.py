"""The contract between the skorch net and a sequence module: everything the net relies on.

A module of this package subclasses :class:`SequenceModule` and defines

- ``forward(x, lengths)``: logits for a padded batch, exact under padding (a sequence's
  outputs never depend on its batch mates or on padded values);
- ``forward_chunked(xs, max_batch_timesteps)``: logits for sequences too long for one batch,
  computed in bounded memory with the same result as ``forward`` on each whole sequence
  (given by this class to modules with a bounded ``context``);
- ``look_ahead``: how many future input steps one output depends on (0: causal; a bound; or
  None: unbounded). Tests check it, and streaming and decoding build on it;
- optionally ``context``, ``(before, after)`` input steps one output depends on, for modules
  whose outputs depend on a bounded window of inputs only (the TCNs): exact chunked inference
  and streams without carried state recompute such windows;
- optionally, to stream with a carried state (causal modules, and modules with a bounded
  look-ahead that must carry a recurrence, as the one-way ConvLSTM):
  ``initial_stream_state(n_streams)``, ``forward_stream(x, lengths, state)``, which returns
  the outputs that became final and how many per stream, and, when ``look_ahead > 0``,
  ``flush_stream(state)``, the outputs still owed at a stream's end;
- ``lengths_on_host``: whether it reads ``lengths`` on the host (packing an LSTM batch);
  the net and streams place them by :meth:`SequenceModule.place_lengths`;
- optionally ``configure_runtime(...)``, the device policy's code-path choices (speed only),
  ``chunked_threads``, the intra-op threads its ``forward_chunked`` runs best on, and
  ``pop_auxiliary_logits()``, intermediate outputs of a training step that the loss counts
  too (deep supervision, as MS-TCN's earlier stages).

Nothing here knows about scikit-learn: this file imports torch only.
"""

from __future__ import annotations

import torch
from torch import nn

from .chunking import forward_chunked_by_context

__all__ = ["SequenceModule"]


class SequenceModule(nn.Module):
    """Base class of the sequence modules: the methods and attributes the net calls.

    Subclasses take ``n_features`` and ``n_outputs`` as their first two arguments (the net
    passes them) and any hyperparameters as keywords.

    Attributes
    ----------
    chunked_threads : int or None
        Torch intra-op threads :meth:`forward_chunked` runs best on; None: the caller's. The
        net applies it around the call (and restores it).
    exports_onnx : bool
        Whether :meth:`forward` (and :meth:`forward_stream`, for a causal module) traces to
        an ONNX graph with dynamic batch and time axes, equal to it: what
        :func:`sk_seqlabel.export.to_onnx` exports, and what ``tests/test_export.py`` checks
        for every module that declares it.
    chunked_rows : int
        Sequences :meth:`forward_chunked` runs side by side at most (a recurrent module's rows
        of one chunked pass). The net passes it at most that many at a time, so recordings
        that load on access are held a group at a time.
    context : tuple of (int, int) or None
        ``(before, after)``: output ``t`` depends on inputs ``t - before .. t + after`` only.
        None (the default): no such bound, as in any recurrent module. A stream of a module
        with a context but no carried state recomputes each output from that window.
    lengths_on_host : bool
        Whether :meth:`forward` and :meth:`forward_stream` read ``lengths`` on the host (to
        pack an LSTM batch, which torch does from host lengths): callers then leave them
        there, since a copy to the device and back would make the batch wait for the device.
        False (the default): callers move them to the inputs' device with the inputs
        (:meth:`place_lengths`).
    """

    chunked_threads: int | None = None
    chunked_rows: int = 16
    exports_onnx: bool = False
    context: tuple[int, int] | None = None
    lengths_on_host: bool = False

    def place_lengths(self, lengths: torch.Tensor, device) -> torch.Tensor:
        """``lengths`` (on the host) where this module reads them: see ``lengths_on_host``.

        The one place the net and live streams decide where a batch's lengths go.

        Examples
        --------
        >>> import torch
        >>> from sk_seqlabel.modules.lstm import LSTM
        >>> from sk_seqlabel.modules.tcn import TCN
        >>> lengths = torch.tensor([5, 3])
        >>> LSTM(2, 3).place_lengths(lengths, torch.device("meta")).device.type
        'cpu'
        >>> TCN(2, 3).place_lengths(lengths, torch.device("meta")).device.type
        'meta'
        """
        if self.lengths_on_host:
            return lengths
        return lengths.to(device, non_blocking=True)

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
        torch.Tensor of shape (batch, time, n_outputs)
            Logits; values at padded steps are arbitrary.
        """
        raise NotImplementedError("Must be overridden in subclass")

    @torch.no_grad()
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
        list of torch.Tensor of shape (T_i, n_outputs), float32, on the CPU

        A module with a bounded ``context`` gets this for free: each chunk of outputs is
        computed from its inputs extended by the context on both sides, which is everything
        they depend on (:func:`~sk_seqlabel.modules.chunking.forward_chunked_by_context`;
        ``max_batch_timesteps`` steps per chunk including that overlap). Others override it.
        """
        if self.context is None:
            raise NotImplementedError("Must be overridden in subclass")
        return [forward_chunked_by_context(self, x, max_batch_timesteps) for x in xs]

    def initial_stream_state(self, n_streams: int):
        """The carried state of ``n_streams`` new live streams, batch first in every tensor.

        A nested tuple/list of tensors whose first dimension is the stream: the last inputs of
        each causal convolution, each LSTM layer's ``(h, c)``, the inputs an output still
        waits on. Its shapes never change as a stream ages, so an update costs the same however
        old the stream. Modules that cannot stream (they need the whole future, or recompute
        windows instead: see ``context``) raise ``NotImplementedError``, which callers turn
        into a clear error.
        """
        raise NotImplementedError("Must be overridden in subclass")

    def forward_stream(self, x: torch.Tensor, lengths: torch.Tensor, state):
        """The outputs that became final with the new steps of live streams, and the state after.

        A stream's outputs come in order, each once: concatenated over the calls (and
        :meth:`flush_stream` at its end) they equal :meth:`forward` on the whole stream. A causal
        module returns every new step's output at once; a module with a bounded look-ahead
        returns each output once the inputs it depends on have arrived (at most
        ``look_ahead`` steps later), keeping what it needs for the rest in ``state``.

        Parameters
        ----------
        x : torch.Tensor of shape (n_streams, time, n_features)
            The new steps of each stream, padded at the end.
        lengths : torch.Tensor of shape (n_streams,), int64
            New steps of each stream, each in ``[0, time]``: a row with none keeps its state
            (an exported streaming step may be fed a stream with nothing new).
        state
            From :meth:`initial_stream_state` or the previous call, rows in the order of ``x``.

        Returns
        -------
        logits : torch.Tensor of shape (n_streams, time_out, n_outputs)
            Row ``i`` holds, at its first ``n_final[i]`` steps, the outputs that became final,
            following those of the previous calls; the rest is arbitrary. ``time_out == time``
            for a causal module.
        n_final : torch.Tensor of shape (n_streams,), int64
            Outputs that became final per stream: ``lengths`` for a causal module; for a
            one-way ConvLSTM, whole pooling windows (possibly none).
        state
            Each row advanced by its own ``lengths``.

        A causal module takes no shape from the values of ``lengths`` (only from ``x``'s
        shape), so that its traced form, the ONNX streaming step, runs on pieces of any length.
        """
        raise NotImplementedError("Must be overridden in subclass")

    def flush_stream(self, state):
        """The outputs still owed at the end of each stream, as :meth:`forward` ends a sequence.

        Called when streams end, for modules with ``look_ahead > 0`` only (a causal module owes
        nothing): the inputs beyond a stream's end are treated as :meth:`forward` treats the end
        of a sequence (zeros read by a convolution, a last pooling window cut short).

        Parameters
        ----------
        state
            The ending streams' rows of the carried state.

        Returns
        -------
        logits : torch.Tensor of shape (n_streams, time_out, n_outputs)
            Row ``i`` holds the outputs still owed at its first ``n_final[i]`` steps.
        n_final : torch.Tensor of shape (n_streams,), int64
            Outputs still owed per stream.
        """
        raise NotImplementedError("Must be overridden in subclass")

    def pop_auxiliary_logits(self) -> list[torch.Tensor]:
        """Intermediate logits of the last training-mode forward pass, for the loss; cleared.

        The net adds the same loss, over the same real timesteps, for each of them to the loss
        of the output (deep supervision). Each is (batch, time, n_outputs). Modules without
        intermediate outputs keep this default: none.
        """
        return []

    def configure_runtime(
        self,
        *,
        conv_path="conv",
        lstm_path="flip",
        low_precision_recurrence=True,
        flush_denormal=False,
        flatten_weights=False,
    ) -> None:
        """Take the device policy's code-path choices; speed only, the parameters stay.

        Parameters
        ----------
        conv_path : {"gemm", "conv"}
            How dilated convolutions run (see :class:`~sk_seqlabel.modules.tcn.DilatedConv`).
        lstm_path : {"packed", "flip"}
            How a bidirectional LSTM handles padding (see
            :func:`~sk_seqlabel.modules.recurrence.run_lstm`).
        low_precision_recurrence : bool
            Whether an enclosing autocast may run LSTM layers in lower precision.
        flush_denormal : bool
            Whether ``forward_chunked``'s long recurrences flush denormal floats to zero (a
            CPU's choice: see :func:`~sk_seqlabel.modules.recurrence.run_lstm_chunked`).
        flatten_weights : bool
            Whether they give each LSTM layer a flat copy of its weights (a CUDA choice).

        The defaults are what a module does when nobody configures it (any device, the CPU's
        choices); the net passes its device policy's (``DevicePolicy``), the one place that
        looks at the device.

        Modules without such choices keep this default, which does nothing.
        """
