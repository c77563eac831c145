"""Convolutional front end, LSTM over pooled steps, per-timestep head: exact under padding."""

import torch
from torch import nn
from torch.nn import functional as F

from .base import SequenceModule
from .chunking import chunk_bounds
from .recurrence import PATHS, run_lstm, run_lstm_carried, run_lstm_chunked

__all__ = ["ConvLSTM"]


class ConvLSTM(SequenceModule):
    """Conv1d front end, LSTM over max-pooled steps, and a per-timestep linear head.

    A ``'same'`` convolution with ReLU extracts features at every timestep; max-pooling by
    ``pool_size`` shortens the sequence ``pool_size`` times for the LSTM; the LSTM output is
    repeated back to every timestep and, joined with the full-resolution convolution features
    (which keep segment boundaries sharp), mapped to logits by a linear layer.

    The model is not causal, even with ``bidirectional=False``: the convolution and the pooling
    look ahead by up to ``kernel_size // 2 + pool_size - 1`` steps, and a reverse direction
    sees the whole sequence.

    Padding never leaks: the input is zeroed beyond each length (so the convolution sees the
    zeros a lone sequence sees at its end), the convolution output is zeroed there too (ReLU
    outputs are >= 0, so those zeros never win a max-pool over a real value, which makes the
    pooling equal to ceil-mode pooling of the lone sequence), and the LSTM runs over the
    ``ceil(length / pool_size)`` pooled steps of each sequence through
    :func:`~sk_seqlabel.modules.recurrence.run_lstm`.

    With ``bidirectional=False`` it streams (:meth:`forward_stream`): each stream carries the
    inputs of its unfinished pooling window with the convolution's context, and every LSTM
    layer's ``(h, c)``; a window's outputs come once the convolution's right context of its
    last step has arrived, and :meth:`flush_stream` gives the last ones.

    Parameters
    ----------
    n_features : int
        Number of input features per timestep.
    n_outputs : int
        Outputs per timestep: one logit per class for a labeler, one value per target for a
        regressor (the task decides the head; the module does not know it).
    n_filters : int, default=32
        Output channels of the convolution.
    kernel_size : int, default=8
        Width of the convolution, in timesteps.
    pool_size : int, default=4
        Max-pooling window and stride: the LSTM runs over ``ceil(time / pool_size)`` steps.
    hidden_size : int, default=64
        Hidden units per direction and layer of the LSTM.
    num_layers : int, default=1
        Number of stacked LSTM layers.
    bidirectional : bool, default=True
        Whether each LSTM layer also runs in reverse time.
    dropout : float, default=0.0
        As in :class:`torch.nn.LSTM`: dropout between LSTM layers in training mode only; no
        effect when ``num_layers=1``.
    path : {"packed", "flip"}, default="flip"
        How the LSTM's reverse direction handles padding, see
        :func:`~sk_seqlabel.modules.recurrence.run_lstm`; it changes speed only.

    Attributes
    ----------
    conv : torch.nn.Conv1d
        The front end, ``n_features`` to ``n_filters`` channels; its ``'same'`` zero padding
        (``(kernel_size - 1) // 2`` steps before, ``kernel_size // 2`` after) is added in
        ``forward``.
    lstm : torch.nn.LSTM
        The recurrent part (``batch_first=True``) over pooled steps.
    head : torch.nn.Linear
        Maps ``hidden_size * num_directions + n_filters`` features to ``n_outputs`` logits.
    low_precision_recurrence : bool
        Whether an enclosing autocast may run the LSTM in lower precision; set by
        :meth:`configure_runtime`.
    chunked_threads : int
        Intra-op threads :meth:`forward_chunked` runs best on (as
        :attr:`~sk_seqlabel.modules.lstm.LSTM.chunked_threads`); the caller applies it.

    Examples
    --------
    >>> import torch
    >>> model = ConvLSTM(n_features=3, n_outputs=4, n_filters=8, hidden_size=8)
    >>> x, lengths = torch.randn(2, 10, 3), torch.tensor([10, 3])
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
        """None when bidirectional; else what the convolution and the pooling see ahead.

        Output ``t`` reads the LSTM at pooled step ``t // pool_size``, whose window ends at
        most ``pool_size - 1`` steps after ``t``, and the convolution reads
        ``kernel_size // 2`` steps beyond each step it sees.
        """
        if self.lstm.bidirectional:
            return None
        return self.pool_size - 1 + self.conv.kernel_size[0] // 2

    def __init__(
        self,
        n_features,
        n_outputs,
        n_filters=32,
        kernel_size=8,
        pool_size=4,
        hidden_size=64,
        num_layers=1,
        bidirectional=True,
        dropout=0.0,
        path="flip",
    ):
        super().__init__()
        if path not in PATHS:
            raise ValueError(f"path must be one of {PATHS}; got {path!r}.")
        self.pool_size = pool_size
        self.path = path
        # 'same' padding is applied in forward, as torch's padding="same" would (an extra step
        # on the right for even kernels), without its warning about copying the input
        self.conv = nn.Conv1d(n_features, n_filters, kernel_size)
        self.lstm = nn.LSTM(
            n_filters,
            hidden_size,
            num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            # nn.LSTM warns about dropout with a single layer, where it is a no-op anyway
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1) + n_filters, n_outputs)

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
        n_steps, pool = x.shape[1], self.pool_size
        # (batch, time); lengths may come on the host (run_lstm's packing wants them there)
        steps = torch.arange(n_steps, device=x.device)
        padding = steps >= lengths.to(x.device, non_blocking=True)[:, None]
        features = self._features(x, padding)
        pooled = self._pool(features)
        pooled_lengths = (lengths + pool - 1) // pool
        recurrent = run_lstm(
            self.lstm, pooled, pooled_lengths, self.path, self.low_precision_recurrence
        )
        return self._head(recurrent, features)

    def configure_runtime(
        self,
        *,
        conv_path="conv",
        lstm_path="flip",
        low_precision_recurrence=True,
        flush_denormal=False,
        flatten_weights=False,
    ):
        """Choose the LSTM's path and precision; speed only, same parameters.

        Takes the choices every sequence module of this package takes; ``conv_path`` does not
        apply here (the front end is one ``nn.Conv1d``).
        """
        if lstm_path not in PATHS:
            raise ValueError(f"lstm_path must be one of {PATHS}; got {lstm_path!r}.")
        self.path = lstm_path
        self.low_precision_recurrence = low_precision_recurrence
        self.flush_denormal, self.flatten_weights = flush_denormal, flatten_weights

    def initial_stream_state(self, n_streams):
        """``(pending, n_pending, h, c)`` of ``n_streams`` new streams (one-way only).

        ``pending`` (n_streams, left + pool_size - 1 + right, n_features) holds a stream's
        inputs from ``left`` steps before its first unfinished pooling window to its last
        input (``left``, ``right``: the convolution's context, see :attr:`conv`); before a
        stream's first input it holds the ``left`` zeros of the convolution's padding.
        ``n_pending`` (n_streams,) int64 counts its filled steps. ``h`` and ``c``
        (n_streams, num_layers, hidden_size) are each LSTM layer's state after the last
        finished window.
        """
        if self.lstm.bidirectional:
            raise NotImplementedError("a bidirectional LSTM needs the whole sequence")
        left, right = self._conv_context()
        weight = self.head.weight
        width = left + self.pool_size - 1 + right  # the most a stream waits on (see above)
        pending = weight.new_zeros(n_streams, width, self.conv.in_channels)
        n_pending = torch.full((n_streams,), left, dtype=torch.long, device=weight.device)
        zeros = weight.new_zeros(n_streams, self.lstm.num_layers, self.lstm.hidden_size)
        return (pending, n_pending, zeros, zeros.clone())

    def forward_stream(self, x, lengths, state):
        """Logits of the pooling windows the new steps complete, and the state after them.

        Window ``p`` (steps ``p * pool_size`` to ``(p + 1) * pool_size - 1``) is complete once
        the inputs up to ``(p + 1) * pool_size - 1 + kernel_size // 2`` have arrived: its
        last step's right context. The LSTM runs over each stream's completed windows from its
        carried ``(h, c)``; a stream that completes none keeps its state. ``n_final`` is
        ``pool_size`` times the windows completed, so outputs come in whole windows, at most
        :attr:`look_ahead` steps after their input.
        """
        if self.look_ahead == 0:
            return self._stream_causal(x, lengths, state)
        pending, n_pending, h, c = state
        left, right = self._conv_context()
        inputs, n_inputs = _append_new_steps(
            pending, n_pending, x.to(pending.dtype), lengths.to(pending.device)
        )
        n_windows = (n_inputs - left - right).clamp(min=0) // self.pool_size
        logits, (h, c) = self._stream_windows(inputs, n_inputs, n_windows, (h, c))
        n_final = n_windows * self.pool_size
        # keep the next window's inputs and its left context: steps n_final .. n_inputs
        pending = _steps_from(inputs, n_final, n_inputs - n_final, pending.shape[1])
        return logits, n_final, (pending, n_inputs - n_final, h, c)

    def _stream_causal(self, x, lengths, state):
        """:meth:`forward_stream` when nothing waits (``kernel_size=1``, ``pool_size=1``).

        Every new step is a whole pooling window with all its convolution's context, so all
        its outputs are final at once and only ``(h, c)`` carries over (``pending`` is empty).
        One pass over the new steps, with no shape taken from the values of ``lengths``: the
        traced graph (the ONNX streaming step) keeps a dynamic time axis, which the general
        path, sized by the windows completed, would not.
        """
        pending, n_pending, h, c = state
        lengths = lengths.to(x.device)
        padding = torch.arange(x.shape[1], device=x.device) >= lengths[:, None]
        features = self._features(x.to(pending.dtype), padding)
        recurrent, (h, c) = run_lstm_carried(
            self.lstm, self._pool(features), lengths, (h, c), self.low_precision_recurrence
        )
        return self._head(recurrent, features), lengths, (pending, n_pending, h, c)

    def flush_stream(self, state):
        """Logits of each stream's last steps, as :meth:`forward` computes a sequence's end.

        The convolution reads zeros beyond the end, and the last pooling window holds what is
        left of the stream (ceil mode).
        """
        pending, n_pending, h, c = state
        n_owed = n_pending - self._conv_context()[0]
        n_windows = (n_owed + self.pool_size - 1) // self.pool_size
        logits, _ = self._stream_windows(pending, n_pending, n_windows, (h, c))
        return logits, n_owed

    def _stream_windows(self, inputs, n_inputs, n_windows, hx):
        """Logits of each row's first ``n_windows`` pooling windows, and the LSTM state after.

        ``inputs`` (n_streams, time, n_features) start ``left`` steps before the first window;
        each row's steps from ``n_inputs`` on read as zeros (as beyond a sequence's end).
        """
        left, right = self._conv_context()
        steps = int(n_windows.max()) * self.pool_size if len(n_windows) else 0
        if steps == 0:
            return inputs.new_zeros(len(inputs), 0, self.head.out_features), hx
        needed = left + steps + right
        inputs = F.pad(inputs, (0, 0, 0, max(0, needed - inputs.shape[1])))[:, :needed]
        beyond = torch.arange(needed, device=inputs.device) >= n_inputs[:, None]
        # the same convolution as forward's; each kept step reads only real or zero inputs
        features = self._features(inputs, beyond)[:, left : left + steps]
        recurrent, hx = run_lstm_carried(
            self.lstm, self._pool(features), n_windows, hx, self.low_precision_recurrence
        )
        return self._head(recurrent, features), hx

    def _conv_context(self):
        """``(left, right)``: the input steps the convolution reads before and after a step."""
        left = (self.conv.kernel_size[0] - 1) // 2
        return left, self.conv.kernel_size[0] - 1 - left

    def _features(self, x, padding):
        """Convolution features (batch, time, n_filters), zero at the ``padding`` steps."""
        # masked_fill rather than a product with the mask: padding may hold inf or nan
        x = x.masked_fill(padding[..., None], 0.0)
        left, right = self._conv_context()
        x = F.pad(x.transpose(1, 2), (left, right))  # (batch, n_features, left + time + right)
        features = F.relu(self.conv(x))  # (batch, n_filters, time)
        return features.masked_fill(padding[:, None, :], 0.0).transpose(1, 2)

    def _pool(self, features):
        """Max-pool (batch, time, n_filters) by ``pool_size`` into (batch, ceil(time/pool), ...).

        Ceil mode: the last window holds what is left of the time axis. Features are zero at
        padded steps and >= 0 elsewhere, so a sequence's windows equal those of it alone. No
        Python arithmetic on the shape: the size comes from the op, so the graph traces with a
        dynamic time axis (ONNX export).
        """
        return F.max_pool1d(features.transpose(1, 2), self.pool_size, ceil_mode=True).transpose(
            1, 2
        )

    def _head(self, recurrent, features):
        """Logits from pooled-rate LSTM output and full-rate features."""
        upsampled = recurrent.repeat_interleave(self.pool_size, dim=1)[:, : features.shape[1]]
        # (batch, time, hidden * directions + n_filters)
        return self.head(torch.cat([upsampled, features.to(upsampled.dtype)], dim=-1))

    @torch.no_grad()
    def forward_chunked(self, xs, max_batch_timesteps):
        """Logits for long sequences, computed chunk by chunk in bounded memory.

        Exact: chunks hold whole pooling windows, the convolution of each chunk sees the
        neighbouring input steps it needs, and the LSTM carries its state across chunks in
        both directions (:func:`~sk_seqlabel.modules.recurrence.run_lstm_chunked`). Sequences run
        one after the other (the recurrence runs on ``pool_size`` times fewer steps).

        Parameters
        ----------
        xs : list of torch.Tensor of shape (T_i, n_features)
            Sequences, on any device; chunks are moved to the module's device one by one.
        max_batch_timesteps : int
            Input steps per chunk (rounded down to a multiple of ``pool_size``).

        Returns
        -------
        list of torch.Tensor of shape (T_i, n_outputs), float32, on the CPU
        """
        return [self._forward_chunked_one(x, max_batch_timesteps) for x in xs]

    def _forward_chunked_one(self, x, chunk_length):
        device, n_steps, pool = self.head.weight.device, x.shape[0], self.pool_size
        bounds = chunk_bounds(n_steps, max(1, chunk_length // pool) * pool)
        left, right = self._conv_context()

        def features(k):
            a, b = bounds[k]
            lo, hi = max(0, a - left), min(n_steps, b + right)
            piece = x[lo:hi].to(device)[None]
            no_padding = torch.zeros(1, hi - lo, dtype=torch.bool, device=device)
            # Steps beyond the piece read zeros: right at the sequence's ends, and never
            # reaching the kept steps a..b elsewhere, since the piece extends by the kernel.
            return self._features(piece, no_padding)[:, a - lo : b - lo]

        recurrent = run_lstm_chunked(
            self.lstm,
            lambda k: self._pool(features(k)),
            len(bounds),
            low_precision=self.low_precision_recurrence,
            flush_denormal=self.flush_denormal,
            flatten_weights=self.flatten_weights,
        )
        logits = torch.empty(n_steps, self.head.out_features)
        for k, output in recurrent:
            logits[slice(*bounds[k])] = self._head(output, features(k))[0].float().cpu()
        return logits


def _append_new_steps(pending, n_pending, x, lengths):
    """Each row's first ``n_pending`` steps of ``pending``, then its ``lengths`` steps of ``x``.

    Returns the joined rows (n, pending time + time, n_features), zero after each row's
    steps, and their lengths ``n_pending + lengths``.
    """
    joined = torch.cat([pending, x], dim=1)
    steps = torch.arange(joined.shape[1], device=x.device)[None, :]
    into_x = steps - n_pending[:, None] + pending.shape[1]
    index = torch.where(steps < n_pending[:, None], steps, into_x).clamp(max=joined.shape[1] - 1)
    n_joined = n_pending + lengths
    out = joined.gather(1, index[..., None].expand(-1, -1, joined.shape[2]))
    # masked_fill rather than a product: x beyond each length may hold inf or nan
    return out.masked_fill((steps >= n_joined[:, None])[..., None], 0.0), n_joined


def _steps_from(x, start, n_steps, width):
    """Each row's steps ``start .. start + n_steps - 1`` of ``x``, zero-padded to ``width``."""
    steps = torch.arange(width, device=x.device)[None, :]
    index = (start[:, None] + steps).clamp(max=max(x.shape[1] - 1, 0))
    out = x.gather(1, index[..., None].expand(-1, -1, x.shape[2]))
    return out.masked_fill((steps >= n_steps[:, None])[..., None], 0.0)
