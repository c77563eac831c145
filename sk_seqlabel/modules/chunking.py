"""Exact inference on sequences too long for one batch, shared by several modules.

- :func:`forward_chunked_by_context`: for modules with a bounded ``context`` (the TCNs), each
  chunk of outputs from its inputs and that context (what ``SequenceModule.forward_chunked``
  does by default for them);
- :func:`chunk_bounds`: consecutive chunks of a sequence, as the recurrent modules cut it
  (their state carried across chunks by
  :func:`~sk_seqlabel.modules.recurrence.run_lstm_chunked`).
"""

import torch

__all__ = ["chunk_bounds", "forward_chunked_by_context"]


def forward_chunked_by_context(module, x, chunk_length):
    """Logits of ``module`` for one long sequence, chunk by chunk, equal to one piece.

    For a module whose output ``t`` depends on inputs ``t - context[0] .. t + context[1]``
    only, and which sees zeros beyond a sequence's ends (a TCN, a stack of them):
    each chunk of outputs is computed from its inputs extended by ``context`` on both sides,
    which is everything those outputs depend on; steps beyond the piece read zeros only where
    the sequence itself ends.

    Parameters
    ----------
    module : torch.nn.Module
        Called as ``module(x, lengths)``; has ``context = (before, after)``.
    x : torch.Tensor of shape (T, n_features)
        The sequence, on any device; pieces are moved to the module's device one by one.
    chunk_length : int
        Steps per piece including the overlap; at least ``before + after + 1``.

    Returns
    -------
    torch.Tensor of shape (T, n_outputs), float32, on the CPU
    """
    before, after = module.context
    step = max(1, chunk_length - before - after)
    device, n_steps = next(module.parameters()).device, x.shape[0]
    logits = None
    for a in range(0, n_steps, step):
        b = min(a + step, n_steps)
        lo, hi = max(0, a - before), min(n_steps, b + after)
        out = module(x[lo:hi].to(device)[None], torch.tensor([hi - lo]))
        if logits is None:
            logits = torch.empty(n_steps, out.shape[-1])
        logits[a:b] = out[0, a - lo : b - lo].float().cpu()
    return logits


def chunk_bounds(n_steps, chunk_length):
    """``(start, stop)`` of consecutive chunks of at most ``chunk_length`` steps.

    Examples
    --------
    >>> chunk_bounds(10, 4)
    [(0, 4), (4, 8), (8, 10)]
    """
    return [(a, min(a + chunk_length, n_steps)) for a in range(0, n_steps, chunk_length)]
