"""Padding-exact LSTM recurrences shared by the recurrent models (LSTM and ConvLSTM).

:func:`run_lstm` runs an ``nn.LSTM`` over a padded batch so that padding never reaches a real
step; :func:`run_lstm_chunked` runs it over long sequences chunk by chunk, exactly and in
bounded memory. Both take the parameters of a standard ``nn.LSTM``, one layer and direction at
a time through ``torch.lstm`` where needed.
"""

from contextlib import contextmanager, nullcontext

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

__all__ = [
    "PATHS",
    "contiguous_layer_weights",
    "lstm_recurrence",
    "recurrence_precision",
    "reverse_padded",
    "run_lstm",
    "run_lstm_carried",
    "run_lstm_chunked",
]

#: How a bidirectional LSTM handles padding: see :func:`run_lstm`.
PATHS = ("packed", "flip")


def reverse_padded(x, lengths):
    """Reverse each sequence of a padded batch within its own length.

    Step ``t < L_i`` of sequence ``i`` moves to ``L_i - 1 - t``; padded steps stay where they
    are. The map is its own inverse, so applying it twice restores ``x``.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, time, features)
        Padded batch.
    lengths : torch.Tensor of shape (batch,), int64
        Real length of each sequence, on the device of ``x``, each in ``[1, time]``.

    Returns
    -------
    torch.Tensor of shape (batch, time, features)
        ``x`` with each sequence reversed within its length.

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(4.0).repeat(2, 1)[..., None]
    >>> reverse_padded(x, torch.tensor([4, 2]))[..., 0]
    tensor([[3., 2., 1., 0.],
            [1., 0., 2., 3.]])
    """
    t = torch.arange(x.shape[1], device=x.device)
    lengths = lengths.to(x.device)[:, None]
    index = torch.where(t < lengths, lengths - 1 - t, t)
    return x.gather(1, index[..., None].expand_as(x))


def _layer_weights(lstm, layer, reverse):
    """Weights of one layer and direction of ``lstm``, in the order ``torch.lstm`` expects."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if lstm.bias else [])
    return [getattr(lstm, name + suffix) for name in names]


def lstm_recurrence(x, weights, hx=None):
    """Run one forward LSTM layer over every step of a padded batch.

    The building block of the "flip" path of :func:`run_lstm`: step ``t`` depends only on steps
    ``<= t``, so padding after a sequence's end never reaches its real steps. The reverse
    direction runs it on :func:`reverse_padded` input.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, time, input_size)
        Padded batch.
    weights : list of torch.Tensor
        ``[weight_ih, weight_hh]`` plus ``[bias_ih, bias_hh]`` when the layer has biases, shaped
        as in :class:`torch.nn.LSTM`.
    hx : tuple of two torch.Tensor of shape (1, batch, hidden_size), optional
        Initial ``(h, c)``; zeros when omitted.

    Returns
    -------
    output : torch.Tensor of shape (batch, time, hidden_size)
        Hidden state at every step.
    (h, c) : tuple of two torch.Tensor of shape (1, batch, hidden_size)
        State after the last step of the padded batch, i.e. after any padding too: it is a
        sequence's own final state only for sequences that fill the batch's time axis.

    Examples
    --------
    >>> import torch
    >>> lstm = torch.nn.LSTM(3, 5, batch_first=True)
    >>> x = torch.randn(2, 7, 3)
    >>> weights = [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0]
    >>> out, (h, c) = lstm_recurrence(x, weights)
    >>> torch.allclose(out, lstm(x)[0])
    True
    """
    if hx is None:
        zeros = x.new_zeros(1, x.shape[0], weights[1].shape[1])
        hx = (zeros, zeros)
    # torch.lstm is the ATen op behind nn.LSTM (nn.LSTM calls it through torch._VF): it takes
    # the weights as a plain list, so one layer and direction of a standard nn.LSTM can run on
    # its own without copying parameters or building a helper module per call, and autograd
    # flows back to the nn.LSTM's own parameters. Its signature has been stable across torch
    # releases (TorchScript and ONNX export depend on it); torch.func.functional_call on a
    # one-layer helper would do the same with more machinery.
    output, h, c = torch.lstm(
        x,
        hx,
        weights,
        len(weights) == 4,  # has_biases
        1,  # num_layers
        0.0,  # dropout
        False,  # train (only matters for dropout)
        False,  # bidirectional
        True,  # batch_first
    )
    return output, (h, c)


def recurrence_precision(x, low_precision):
    """The context a recurrence on ``x`` runs in: autocast switched off unless ``low_precision``.

    Off, the LSTM runs in its weights' dtype (float32) while the rest of the model stays under
    autocast: oneDNN has no bf16 LSTM on CPUs without native bf16, and on CUDA autocast would
    run cuDNN's LSTM in half precision, which needs a gradient scaler to train.
    """
    if low_precision or not torch.is_autocast_enabled(x.device.type):
        return nullcontext()
    return torch.autocast(x.device.type, enabled=False)


def _run_packed(lstm, x, lengths):
    # pack_padded_sequence wants host lengths (cuDNN plans batch sizes per step on the host);
    # callers pass them on the host, so .cpu() costs no device synchronisation
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    output, _ = lstm(packed)
    output, _ = pad_packed_sequence(output, batch_first=True, total_length=x.shape[1])
    return output


def _run_flip(lstm, x, lengths):
    for layer in range(lstm.num_layers):
        if layer > 0:
            # where and how nn.LSTM applies its dropout: on every layer's input but the first
            x = F.dropout(x, lstm.dropout, lstm.training)
        forward, _ = lstm_recurrence(x, _layer_weights(lstm, layer, reverse=False))
        backward, _ = lstm_recurrence(
            reverse_padded(x, lengths), _layer_weights(lstm, layer, reverse=True)
        )
        x = torch.cat([forward, reverse_padded(backward, lengths)], dim=-1)
    return x


def run_lstm(lstm, x, lengths, path="flip", low_precision=True):
    """Run ``lstm`` over a padded batch so that padding never reaches a real step.

    A forward direction is causal, so it runs over the padded batch as is. A reverse direction
    must start at each sequence's own last real step; two exact ways do that with the same
    parameters:

    - ``"packed"``: :func:`~torch.nn.utils.rnn.pack_padded_sequence` through ``lstm`` itself
      (cuDNN on a GPU, where it is fast).
    - ``"flip"``: each layer and direction runs as a forward recurrence
      (:func:`lstm_recurrence`) with ``lstm``'s weights, the reverse one on each sequence
      reversed within its length (:func:`reverse_padded`) and reversed back. On the CPU its
      backward pass is far faster than that of a packed sequence of unequal lengths.

    Parameters
    ----------
    lstm : torch.nn.LSTM
        Holds the parameters; must have ``batch_first=True`` and ``proj_size=0``.
    x : torch.Tensor of shape (batch, time, input_size)
        Padded batch; the values beyond each length are never read into a real step.
    lengths : torch.Tensor of shape (batch,), int64
        Real length of each sequence, each in ``[1, time]``; on the CPU (best: the packed path
        then needs no device synchronisation) or on the device of ``x``.
    path : {"packed", "flip"}, default="flip"
        How a bidirectional ``lstm`` runs; both give the same result up to rounding. Which is
        faster depends on the device: the device policy chooses (``DevicePolicy.lstm_path``).
    low_precision : bool, default=True
        Let an enclosing :func:`torch.autocast` run the LSTM in lower precision; False runs it
        in float32 (:func:`recurrence_precision`).

    Returns
    -------
    torch.Tensor of shape (batch, time, hidden_size * num_directions)
        Output of the last layer; values at padded steps are arbitrary.

    Examples
    --------
    >>> import torch
    >>> lstm = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    >>> x, lengths = torch.randn(2, 7, 3), torch.tensor([7, 4])
    >>> run_lstm(lstm, x, lengths).shape
    torch.Size([2, 7, 10])
    >>> torch.allclose(run_lstm(lstm, x, lengths)[1, :4], lstm(x[1:, :4])[0][0], atol=1e-6)
    True
    """
    if path not in PATHS:
        raise ValueError(f"path must be one of {PATHS}; got {path!r}.")
    if not lstm.batch_first or lstm.proj_size:
        raise ValueError(
            "run_lstm needs an nn.LSTM with batch_first=True and proj_size=0; got "
            f"batch_first={lstm.batch_first}, proj_size={lstm.proj_size}."
        )
    # give the LSTM its weights' dtype: under CUDA autocast cuDNN's RNN wrapper then casts to
    # fp16 itself, whereas a bf16 input would miss cuDNN
    x = x.to(lstm.weight_ih_l0.dtype)
    with recurrence_precision(x, low_precision):
        if not lstm.bidirectional:
            return lstm(x)[0]
        if path == "packed":
            return _run_packed(lstm, x, lengths)
        return _run_flip(lstm, x, lengths)


def _flush_denormal_is_on():
    """Whether this thread flushes denormal floats to zero (torch has a setter, no getter)."""
    # 1e-39 is a denormal float32: with flushing on it is read (or stored) as 0.
    return float(torch.tensor([1e-39]) * 2) == 0.0


@contextmanager
def _chunked_recurrence_mode(flush_denormal):
    """Flush denormal floats to zero in this thread for the chunked recurrence, if asked.

    The cell state of a long sequence drifts into the denormal range, where each multiply is
    many times slower; flushing made an untrained BiLSTM(64) over 200,000 steps run 2.2x faster
    (benchmarks/RESULTS.md, section 5). The values flushed are below 1.2e-38, far under any
    tolerance of the result. The flag is per thread; it is restored on exit. Whether to flush
    is the device policy's choice (``DevicePolicy.flush_denormal``: on a CPU).
    """
    if not flush_denormal:
        yield
        return
    flushing = _flush_denormal_is_on()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(flushing)


def run_lstm_chunked(
    lstm,
    chunk_inputs,
    n_chunks,
    chunk_lengths=None,
    low_precision=True,
    *,
    flush_denormal=False,
    flatten_weights=False,
):
    """Run ``lstm`` over one long sequence chunk by chunk, exactly and in bounded memory.

    Each layer and direction carries its ``(h, c)`` state from chunk to chunk: forward
    directions from the first chunk on, reverse directions from the last chunk back. Only the
    states entering each chunk are kept; a layer's output on a chunk is recomputed from them
    when the layer above needs it. Keeping every step of every layer instead would cost
    ``time * hidden_size * num_directions`` floats per layer (5 GB for 10 million steps of a
    BiLSTM(64)). The cost is arithmetic: layer ``l`` (from 1) is run ``l`` times per sweep,
    one sweep per direction and layer, and the output is emitted during the last sweep; for
    2 bidirectional layers that is 9 layer-direction passes against 4 for the whole sequence
    in one piece, for 1 unidirectional layer 1 against 1.

    With ``flush_denormal``, the calling thread flushes denormal floats to zero while it runs
    (restored when the generator is exhausted or closed): see ``_chunked_recurrence_mode``.
    The recurrence of a few long rows is a chain of small products, best run on one intra-op thread
    (``SequenceModule.chunked_threads``); the caller sets that.

    Parameters
    ----------
    lstm : torch.nn.LSTM
        ``batch_first=True``, ``proj_size=0``; run in inference (no dropout).
    chunk_inputs : callable
        ``chunk_inputs(k)`` returns the input of chunk ``k``, a tensor (1, T_k, input_size) on
        ``lstm``'s device; it is called several times per chunk, so it should be cheap (a
        slice) or itself computed in bounded memory.
    n_chunks : int
        Number of chunks; together they form the whole sequence, in order.
    chunk_lengths : list of torch.Tensor, optional
        Several sequences at once, one batch row each (the recurrence of one row is sequential,
        so more rows run at nearly the cost of one). ``chunk_lengths[k]`` (rows of chunk ``k``,)
        int64 gives each row's real steps in chunk ``k``, and ``chunk_inputs(k)`` is then a
        padded (rows of chunk ``k``, T_k, input_size) tensor. Rows are sequences sorted by
        length, longest first: every row that goes on to chunk ``k + 1`` fills chunk ``k``, and
        the rows of chunk ``k + 1`` are the first rows of chunk ``k``. None: one row that fills
        every chunk.
    low_precision : bool, default=True
        As in :func:`run_lstm`.
    flush_denormal : bool, default=False
        Flush denormal floats to zero meanwhile (the device policy's choice on a CPU).
    flatten_weights : bool, default=False
        Give each layer and direction a flat copy of its weights once
        (:func:`contiguous_layer_weights`; the device policy's choice on CUDA).

    Yields
    ------
    k : int
        Chunk index; every chunk comes exactly once, in no fixed order (a bidirectional LSTM
        gives them from the last chunk back).
    output : torch.Tensor of shape (rows of chunk k, T_k, hidden_size * num_directions)
        The last layer's output on chunk ``k``, equal (up to rounding) at each row's real steps
        to the matching steps of ``lstm`` run over that row's whole sequence at once.

    Examples
    --------
    >>> import torch
    >>> lstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    >>> x = torch.randn(1, 10, 3)
    >>> outputs = dict(run_lstm_chunked(lstm, lambda k: x[:, 4 * k : 4 * k + 4], 3))
    >>> chunked = torch.cat([outputs[k] for k in range(3)], dim=1)
    >>> torch.allclose(chunked, lstm(x)[0], atol=1e-6)
    True
    """
    weights = contiguous_layer_weights(lstm, flatten=flatten_weights)
    chunked = _ChunkedPass(lstm, weights, chunk_inputs, n_chunks, chunk_lengths, low_precision)
    last = chunked.n_layers - 1
    with _chunked_recurrence_mode(flush_denormal):
        for layer in range(last):
            for direction in range(chunked.n_dirs):
                chunked.sweep(layer, direction)
        if chunked.n_dirs > 1:
            chunked.sweep(last, 0)
        yield from chunked.emit_last_layer()


class _ChunkedPass:
    """The state of one :func:`run_lstm_chunked` pass: the carried ``(h, c)`` at every chunk.

    ``entering[layer][direction][k]`` is the state entering chunk ``k`` in that direction's
    time order, one row per row of chunk ``k`` (None: zeros). :meth:`sweep` fills it for one
    layer and direction; a layer's output on a chunk is recomputed from it when the layer
    above needs it (:meth:`layer_output`), so memory stays bounded by a chunk.
    """

    def __init__(self, lstm, weights, chunk_inputs, n_chunks, chunk_lengths, low_precision):
        self.n_layers, self.n_dirs = lstm.num_layers, 2 if lstm.bidirectional else 1
        self.dtype = lstm.weight_ih_l0.dtype
        self.chunk_inputs, self.chunk_lengths = chunk_inputs, chunk_lengths
        self.low_precision = low_precision
        self.weights = weights
        self.entering = [
            [[None] * n_chunks for _ in range(self.n_dirs)] for _ in range(self.n_layers)
        ]
        self.orders = (range(n_chunks), range(n_chunks - 1, -1, -1))  # by direction

    def rows(self, k):
        return 1 if self.chunk_lengths is None else len(self.chunk_lengths[k])

    def enter(self, direction, hx, k):
        """The carried state ``hx`` fitted to chunk k's rows."""
        if hx is None:
            return None
        if direction == 0:  # the rows that go on are the first ones
            return tuple(state[:, : self.rows(k)] for state in hx)
        # Going backwards, rows whose sequence ends in chunk k join here, from zeros.
        extra = self.rows(k) - hx[0].shape[1]
        return tuple(F.pad(state, (0, 0, 0, extra)) for state in hx)

    def run(self, layer, direction, inputs, hx, k):
        """One layer and direction over chunk ``k`` from state ``hx``: (output, final state)."""
        # per call, not around the generator: the caller's code between two yields keeps its
        # own autocast state
        with recurrence_precision(inputs, self.low_precision):
            weights = self.weights[layer, direction]
            if direction == 0:
                return lstm_recurrence(inputs, weights, hx)
            lengths = None if self.chunk_lengths is None else self.chunk_lengths[k]
            if lengths is None or bool((lengths == inputs.shape[1]).all()):
                out, hx = lstm_recurrence(inputs.flip(1), weights, hx)
                return out.flip(1), hx
            return _reverse_ragged(inputs, lengths, weights, hx)

    def layer_input(self, layer, k):
        if layer == 0:
            return self.chunk_inputs(k).to(self.dtype)
        return self.layer_output(layer - 1, k)

    def layer_output(self, layer, k):
        inputs = self.layer_input(layer, k)
        outs = [
            self.run(layer, d, inputs, self.entering[layer][d][k], k)[0] for d in range(self.n_dirs)
        ]
        return torch.cat(outs, dim=-1)

    def sweep(self, layer, direction):
        """Carry one layer and direction over all chunks, recording the entering states."""
        hx = None
        for k in self.orders[direction]:
            self.entering[layer][direction][k] = hx = self.enter(direction, hx, k)
            _, hx = self.run(layer, direction, self.layer_input(layer, k), hx, k)

    def emit_last_layer(self):
        """The last sweep (the reverse one when bidirectional), yielding ``(k, output)``."""
        last, direction, hx = self.n_layers - 1, self.n_dirs - 1, None
        for k in self.orders[direction]:
            inputs = self.layer_input(last, k)
            out, hx = self.run(last, direction, inputs, self.enter(direction, hx, k), k)
            if direction == 1:
                ahead = self.run(last, 0, inputs, self.entering[last][0][k], k)[0]
                out = torch.cat([ahead, out], dim=-1)
            yield k, out


def contiguous_layer_weights(lstm, flatten=False):
    """Each layer's and direction's weights for ``torch.lstm``, keyed ``(layer, direction)``.

    cuDNN takes the weights of one call as a single flat buffer; handed one layer's slice of
    an ``nn.LSTM``'s buffer it warns about non-contiguous weights and copies them at every
    call. With ``flatten`` (the device policy's choice on CUDA) each layer and direction gets
    its own flat copy once, which every chunk then reuses; without, the parameters are returned
    as they are.

    Examples
    --------
    >>> import torch
    >>> lstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    >>> flat = contiguous_layer_weights(lstm, flatten=True)
    >>> sorted(flat)
    [(0, 0), (0, 1), (1, 0), (1, 1)]
    >>> torch.equal(flat[1, 1][0], lstm.weight_ih_l1_reverse)
    True
    """
    n_dirs = 2 if lstm.bidirectional else 1
    weights = {
        (layer, d): _layer_weights(lstm, layer, reverse=d == 1)
        for layer in range(lstm.num_layers)
        for d in range(n_dirs)
    }
    if not flatten:
        return weights
    flat = {}
    for key, layer_weights in weights.items():
        w_ih = layer_weights[0]
        one = nn.LSTM(w_ih.shape[1], lstm.hidden_size, bias=lstm.bias, batch_first=True)
        one = one.to(device=w_ih.device, dtype=w_ih.dtype)
        with torch.no_grad():
            for target, source in zip(_layer_weights(one, 0, False), layer_weights, strict=True):
                target.copy_(source)
        one.flatten_parameters()
        flat[key] = [w.detach() for w in _layer_weights(one, 0, False)]
    return flat


def _reverse_ragged(x, lengths, weights, hx):
    """One reverse-direction layer over a chunk whose rows end at different steps.

    Each row runs from its own last real step back to the chunk's first step, starting from its
    row of ``hx`` (zeros for a row whose sequence ends in this chunk), and its final state is
    the state after its own steps: a packed sequence gives exactly that, where a padded batch
    would run the padding into the state of the shorter rows.
    """
    # lengths stay on the host: packing reads them there, reverse_padded moves its own copy
    packed = pack_padded_sequence(reverse_padded(x, lengths), lengths.cpu(), batch_first=True)
    if hx is None:
        zeros = x.new_zeros(1, x.shape[0], weights[1].shape[1])
        hx = (zeros, zeros)
    # torch.lstm's packed form (data, batch_sizes), as nn.LSTM calls it for a PackedSequence
    data, h, c = torch.lstm(
        packed.data, packed.batch_sizes, hx, weights, len(weights) == 4, 1, 0.0, False, False
    )
    out, _ = pad_packed_sequence(
        PackedSequence(data, packed.batch_sizes), batch_first=True, total_length=x.shape[1]
    )
    return reverse_padded(out, lengths), (h, c)


def run_lstm_carried(lstm, x, n_steps, hx, low_precision=True):
    """Run a one-way ``lstm`` over each row's first ``n_steps`` steps from its own state.

    What a live stream needs: packing makes each row's final state the one after its own last
    real step, whatever the padding; a row with no step (``n_steps == 0``) runs one, because
    packing needs it, and keeps its state.

    Parameters
    ----------
    lstm : torch.nn.LSTM
        One direction, ``batch_first=True``.
    x : torch.Tensor of shape (rows, time, input_size)
    n_steps : torch.Tensor of shape (rows,), int64
        Real steps per row, each in ``[0, time]``.
    hx : tuple of torch.Tensor
        ``(h, c)``, each (rows, num_layers, hidden_size): batch first, as streams carry them.
    low_precision : bool, default=True
        As in :func:`run_lstm`.

    Returns
    -------
    out : torch.Tensor of shape (rows, time, hidden_size)
        Values beyond each row's ``n_steps`` are arbitrary.
    hx : tuple of torch.Tensor
        The state after each row's steps, batch first.
    """
    h, c = hx
    packed = pack_padded_sequence(
        x.to(lstm.weight_ih_l0.dtype),
        n_steps.clamp(min=1).cpu(),
        batch_first=True,
        enforce_sorted=False,
    )
    start = (h.transpose(0, 1).contiguous(), c.transpose(0, 1).contiguous())
    with recurrence_precision(x, low_precision):
        out, (h_next, c_next) = lstm(packed, start)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    moved = (n_steps.to(h.device) > 0)[:, None, None]
    h = torch.where(moved, h_next.transpose(0, 1), h)
    return out, (h, torch.where(moved, c_next.transpose(0, 1), c))
