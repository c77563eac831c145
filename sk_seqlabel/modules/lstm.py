"""Stacked LSTM with a per-timestep linear head, exact under padding.

The padding-exact recurrence lives in :mod:`~sk_seqlabel.modules.recurrence`, shared with
:class:`ConvLSTM <sk_seqlabel.modules.conv_lstm.ConvLSTM>`.
"""

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from .base import SequenceModule
from .recurrence import PATHS, run_lstm, run_lstm_carried, run_lstm_chunked

__all__ = ["LSTM"]


class LSTM(SequenceModule):
    """Stacked LSTM with a linear layer applied at every timestep.

    With ``bidirectional=False`` the model is causal: the output at step ``t`` depends on
    steps ``<= t`` only. With ``bidirectional=True`` the reverse direction starts at each
    sequence's own last real step, whatever the padding.

    Parameters
    ----------
    n_features : int
        Number of input features per timestep.
    n_outputs : int
        Outputs per timestep: one logit per class for a labeler, one value per target for a
        regressor (the task decides the head; the module does not know it).
    hidden_size : int, default=64
        Hidden units per direction and layer.
    num_layers : int, default=2
        Number of stacked recurrent layers.
    bidirectional : bool, default=True
        Whether each layer also runs in reverse time.
    dropout : float, default=0.0
        As in :class:`torch.nn.LSTM`: dropout on the outputs of every recurrent layer but the
        last, in training mode only; no effect when ``num_layers=1``.
    path : {"packed", "flip"}, default="flip"
        How the reverse direction handles padding, see :func:`run_lstm` (the device policy
        chooses: "packed" on CUDA). It changes speed only: the parameters and the result are the
        same, and the attribute may be changed after training.

    Attributes
    ----------
    lstm : torch.nn.LSTM
        The recurrent layers (``batch_first=True``), with standard parameter names.
    head : torch.nn.Linear
        Maps ``hidden_size * num_directions`` features to ``n_outputs`` logits.
    low_precision_recurrence : bool
        Whether an enclosing autocast may run the LSTM layers in lower precision (see
        :func:`run_lstm`); set by :meth:`configure_runtime`.
    chunked_threads : int
        Intra-op threads :meth:`forward_chunked` runs best on: its recurrence over a few long
        rows is a chain of small products, too small to split (benchmarks/RESULTS.md,
        section 5). The caller applies it.

    Examples
    --------
    >>> import torch
    >>> model = LSTM(n_features=3, n_outputs=4, hidden_size=8)
    >>> x, lengths = torch.randn(2, 10, 3), torch.tensor([10, 6])
    >>> model(x, lengths).shape
    torch.Size([2, 10, 4])
    """

    exports_onnx = True
    lengths_on_host = True  # run_lstm packs batches from host lengths

    low_precision_recurrence = True
    flush_denormal = False
    flatten_weights = False
    chunked_threads = 1

    @property
    def look_ahead(self) -> int | None:
        """0 for a one-way LSTM (causal); None (the whole future) when bidirectional."""
        return None if self.lstm.bidirectional else 0

    def initial_stream_state(self, n_streams):
        """Zero ``(h, c)`` of every layer, (n_streams, num_layers, hidden_size) each."""
        if self.lstm.bidirectional:
            raise NotImplementedError("a bidirectional LSTM needs the whole sequence")
        zeros = self.head.weight.new_zeros(n_streams, self.lstm.num_layers, self.lstm.hidden_size)
        return (zeros, zeros.clone())

    def forward_stream(self, x, lengths, state):
        """Logits for the new steps of each stream (all final: causal), carrying ``(h, c)``.

        ``lengths`` (each >= 1) are the new steps per row; packing makes each row's final
        state the one after its own last step, whatever the padding.
        """
        out, state = run_lstm_carried(self.lstm, x, lengths, state, self.low_precision_recurrence)
        return self.head(out), lengths, state

    def __init__(
        self,
        n_features,
        n_outputs,
        hidden_size=64,
        num_layers=2,
        bidirectional=True,
        dropout=0.0,
        path="flip",
    ):
        super().__init__()
        if path not in PATHS:
            raise ValueError(f"path must be one of {PATHS}; got {path!r}.")
        self.path = path
        self.lstm = nn.LSTM(
            n_features,
            hidden_size,
            num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            # nn.LSTM warns about dropout with a single layer, where it is a no-op anyway
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), n_outputs)

    def forward(self, x, lengths):
        """Compute logits for every timestep.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, time, n_features)
            Padded batch; the padding values are never used.
        lengths : torch.Tensor of shape (batch,), int64
            Real length of each sequence, each in ``[1, time]``, on the CPU (best: packing
            then needs no device synchronisation) or on the device of ``x``.

        Returns
        -------
        torch.Tensor of shape (batch, time, n_outputs)
            Logits; values at padded steps are arbitrary.
        """
        return self.head(run_lstm(self.lstm, x, lengths, self.path, self.low_precision_recurrence))

    def configure_runtime(
        self,
        *,
        conv_path="conv",
        lstm_path="flip",
        low_precision_recurrence=True,
        flush_denormal=False,
        flatten_weights=False,
    ):
        """Choose code paths and the recurrence's precision; speed only, same parameters.

        Takes the choices every sequence module of this package takes; ``conv_path`` does not
        apply here. See :func:`run_lstm` for ``lstm_path`` and ``low_precision_recurrence``.
        """
        if lstm_path not in PATHS:
            raise ValueError(f"lstm_path must be one of {PATHS}; got {lstm_path!r}.")
        self.path = lstm_path
        self.low_precision_recurrence = low_precision_recurrence
        self.flush_denormal, self.flatten_weights = flush_denormal, flatten_weights

    @torch.no_grad()
    def forward_chunked(self, xs, max_batch_timesteps):
        """Logits for long sequences, computed chunk by chunk in bounded memory.

        Exact: equal (up to rounding) to ``forward`` on each whole sequence, because every
        layer and direction carries its state across chunks (:func:`run_lstm_chunked`). Up to
        ``chunked_rows`` sequences run side by side as the rows of one chunked pass, in
        chunks of ``max_batch_timesteps // rows`` steps: the recurrence is sequential in time,
        so rows come almost free where one long row would leave the hardware idle.

        Parameters
        ----------
        xs : list of torch.Tensor of shape (T_i, n_features)
            Sequences, on any device; chunks are moved to the module's device one by one.
        max_batch_timesteps : int
            Padded steps per chunk, all rows together.

        Returns
        -------
        list of torch.Tensor of shape (T_i, n_outputs), float32, on the CPU
        """
        device, out = self.head.weight.device, [None] * len(xs)
        order = sorted(range(len(xs)), key=lambda i: -len(xs[i]))
        for first in range(0, len(order), self.chunked_rows):
            group = order[first : first + self.chunked_rows]
            seqs = [xs[i] for i in group]  # longest first
            chunk = max(1, max_batch_timesteps // len(group))
            n_chunks = -(-len(seqs[0]) // chunk)
            lengths = [
                torch.tensor([min(chunk, len(s) - k * chunk) for s in seqs if len(s) > k * chunk])
                for k in range(n_chunks)
            ]

            def chunk_inputs(k, seqs=seqs, chunk=chunk, lengths=lengths):
                rows = [s[k * chunk : (k + 1) * chunk] for s in seqs[: len(lengths[k])]]
                return pad_sequence(rows, batch_first=True).to(device)

            logits = [torch.empty(len(s), self.head.out_features) for s in seqs]
            recurrent = run_lstm_chunked(
                self.lstm,
                chunk_inputs,
                n_chunks,
                lengths,
                self.low_precision_recurrence,
                flush_denormal=self.flush_denormal,
                flatten_weights=self.flatten_weights,
            )
            for k, output in recurrent:
                head = self.head(output).float().cpu()
                for row, n in enumerate(lengths[k].tolist()):
                    logits[row][k * chunk : k * chunk + n] = head[row, :n]
            for i, row_logits in zip(group, logits, strict=True):
                out[i] = row_logits
        return out
