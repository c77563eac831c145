"""ONNX export: a fitted estimator's ``predict_proba`` (a labeler's) or ``predict`` (a
regressor's) as a graph any ONNX runtime can run.

The graph takes a padded batch and each sequence's length, so padding stays masked exactly as
in ``predict_proba``, with the batch and time axes dynamic:

- ``x``: float32 (batch, time, n_features): finite numbers at each sequence's steps (the graph
  does not check them; ``predict_proba`` refuses NaN and inf), anything beyond each length,
  NaN and inf included;
- ``lengths``: int64 (batch,), each sequence's length, in ``[1, time]``. The graph guards
  this itself: a length beyond the time axis reads as the whole axis, and 0 or a negative
  length as a sequence with no step (all its outputs zero), so no op reads out of range;
- ``proba``: float32 (batch, time, n_classes), columns in ``classes_`` order; zeros beyond
  each sequence's length, whatever ``x`` holds there. A regressor's graph outputs ``values``
  instead: float32 (batch, time, n_outputs_), in the targets' units, zeros beyond each length.

A Pipeline's ``SequenceScaler`` steps are folded into the graph. Every estimator of this
package exports. The graphs give probabilities only: decoding them into labels (``decoder``) is the
labeler's.

With ``streaming=True`` (causal models), the graph is one streaming update instead, as
:class:`~sk_seqlabel.streaming.LabelStream` runs it: inputs ``x`` (the new samples of each
stream, padded as ``x`` above, any number of steps per update), ``lengths`` (new samples per
stream, in ``[0, time]`` and guarded as above: a stream with none keeps its state) and
``state_0 .. state_k`` (each stream's carried state; zeros of the input's shape and type,
batch = streams, before a stream's first sample); outputs ``proba`` for the new samples (zeros
beyond each length) and ``next_state_0 .. next_state_k``. A device can stream without Python
by feeding each update's next state to the next. Models whose streamed outputs come after a
delay (a one-way ConvLSTM with ``kernel_size > 1`` or ``pool_size > 1``, a centred TCN) have
no such graph.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._base import _REGISTRY
from .preprocessing import SequenceScaler

__all__ = ["to_onnx"]


class _Outputs(torch.nn.Module):
    """Scaling (folded from SequenceScaler steps), the network, and the task's head (a
    softmax for a labeler, the targets' units for a regressor)."""

    def __init__(self, module, shift, scale, head):
        super().__init__()
        self.module, self.head = module, head
        self.register_buffer("shift", torch.as_tensor(shift, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))

    def forward(self, x, lengths):
        real, lengths = _real_steps(x, lengths)
        # a row with no real step still runs one (SequenceModule.forward's lengths are >= 1);
        # its outputs are zeroed with the rest of the padding
        logits = self.module((x - self.shift) / self.scale, lengths.clamp(min=1))
        return _zero_beyond(self.head(logits), real)


class _StreamingStep(torch.nn.Module):
    """One streaming update: scaling, ``forward_stream`` with a flat state, the task's head."""

    def __init__(self, module, shift, scale, head, structure):
        super().__init__()
        self.module, self.head, self.structure = module, head, structure
        self.register_buffer("shift", torch.as_tensor(shift, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))

    def forward(self, x, lengths, *state):
        state = _unflatten(list(state), self.structure)
        real, lengths = _real_steps(x, lengths)
        # causal: every new step's output is final, so forward_stream's counts are `lengths`
        logits, _, state = self.module.forward_stream((x - self.shift) / self.scale, lengths, state)
        return (_zero_beyond(self.head(logits), real), *_flatten(state)[0])


def _real_steps(x, lengths):
    """The graph's guard of its input contract: ``(real, lengths)`` with lengths in [0, time].

    ``real`` (batch, time) is True at each sequence's steps; ``lengths`` are counted from it,
    so a length beyond the time axis reads as the whole axis and one below 1 as none: no op
    of the network indexes out of range (a reverse LSTM's gather would), whatever the caller
    passes. Counting keeps the time axis dynamic where a clamp to ``x.shape[1]`` would trace
    as a constant. (It also keeps ``lengths`` an input of causal graphs, which would not read
    it otherwise.)
    """
    real = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]
    return real, real.sum(dim=1)


def _zero_beyond(proba, real):
    """``proba`` with zeros beyond each length: ``where``, not a product with the mask, since
    the padding (or a network's outputs there) may hold NaN or inf, and NaN * 0 is NaN."""
    return torch.where(real[..., None], proba, torch.zeros_like(proba))


def _flatten(tree):
    """The tensors of nested lists/tuples in order, and the nesting to rebuild it."""
    if isinstance(tree, (list, tuple)):
        parts = [_flatten(t) for t in tree]
        return [x for flat, _ in parts for x in flat], (type(tree), [s for _, s in parts])
    return [tree], None


def _unflatten(flat, structure):
    if structure is None:
        return flat.pop(0)
    kind, children = structure
    return kind(_unflatten(flat, child) for child in children)


def to_onnx(estimator, path, *, streaming=False, opset_version=17):
    """Write a fitted labeler (or a Pipeline of SequenceScaler steps and one) as ONNX.

    Parameters
    ----------
    estimator : fitted labeler, or a Pipeline of SequenceScaler steps ending in one
    path : str or pathlib.Path
        The ``.onnx`` file to write.
    streaming : bool, default=False
        Export one streaming update with the carried state as inputs and outputs (causal
        models only) instead of ``predict_proba`` over whole sequences.
    opset_version : int, default=17
        ONNX operator set.

    Raises
    ------
    NotFittedError
        For a labeler, or a Pipeline, not fitted yet.
    ValueError
        For a labeler or step that does not export.

    Notes
    -----
    The graph's inputs: ``x``, float32 (batch, time, n_features), finite at each sequence's
    steps and anything (NaN, inf) beyond; ``lengths``, int64 (batch,), each in ``[1, time]``
    (``[0, time]`` for a streaming step). The graph guards the lengths itself: one beyond the
    time axis reads as the whole axis, 0 or a negative one as no step, so nothing reads out of
    range; ``proba`` is zero beyond each length. See the module's description for the
    streaming step's state.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> import onnxruntime
    >>> from sk_seqlabel import TCNLabeler
    >>> from sk_seqlabel.datasets import make_sequence_labeling
    >>> from sk_seqlabel.export import to_onnx
    >>> X, y = make_sequence_labeling(n_sequences=10, random_state=0)
    >>> clf = TCNLabeler(n_filters=8, max_epochs=1, precision="fp32").fit(X, y)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tcn.onnx"
    >>> to_onnx(clf, path)
    >>> session = onnxruntime.InferenceSession(str(path))
    >>> x = np.stack([X[0][:40], X[1][:40]])
    >>> proba = session.run(None, {"x": x, "lengths": np.array([40, 25])})[0]
    >>> np.allclose(proba[1, :25], clf.predict_proba([X[1][:25]])[0], atol=1e-4)
    True
    """
    shift, scale, labeler = _unpack(estimator)
    name = type(labeler).__name__
    if not labeler.net_.module_.exports_onnx:  # declared by the module (modules/base.py)
        exporting = [cls.__name__ for cls in _REGISTRY.values() if cls._module.exports_onnx]
        raise ValueError(f"{name} does not export to ONNX yet; {', '.join(exporting)} do.")
    module = copy.deepcopy(labeler.net_.module_).float().cpu().eval()
    # the code paths without data-dependent host work: conv for the TCN, flip for the LSTM
    module.configure_runtime(conv_path="conv", lstm_path="flip", low_precision_recurrence=False)
    n_features = labeler.n_features_in_
    example = (torch.zeros(2, 16, n_features), torch.tensor([16, 9]))
    axes = {
        "x": {0: "batch", 1: "time"},
        "lengths": {0: "batch"},
        labeler._export_output: {0: "batch", 1: "time"},
    }
    inputs, outputs = ["x", "lengths"], [labeler._export_output]
    if streaming:
        if module.look_ahead != 0:
            raise ValueError(
                f"This {name} looks ahead (look_ahead={module.look_ahead}): only causal "
                "models export a streaming step (one whose outputs all come at once)."
            )
        state = module.initial_stream_state(2)
        flat, structure = _flatten(state)
        graph = _StreamingStep(module, shift, scale, labeler._export_head, structure).eval()
        example = (*example, *flat)
        for i in range(len(flat)):
            inputs.append(f"state_{i}")
            outputs.append(f"next_state_{i}")
            axes[f"state_{i}"] = axes[f"next_state_{i}"] = {0: "batch"}
    else:
        graph = _Outputs(module, shift, scale, labeler._export_head).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's tracer warnings and deprecations
        torch.onnx.export(
            graph,
            example,
            str(path),
            dynamo=False,
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=opset_version,
        )


def _unpack(estimator):
    """(shift, scale, labeler): the scaling of a Pipeline's SequenceScaler steps, folded."""
    steps, labeler = [], estimator
    if isinstance(estimator, Pipeline):
        *steps, (_, labeler) = estimator.steps
    check_is_fitted(labeler)
    shift, scale = np.zeros(labeler.n_features_in_), np.ones(labeler.n_features_in_)
    for name, step in steps:
        if not isinstance(step, SequenceScaler):
            raise ValueError(
                f"Pipeline step {name!r} ({type(step).__name__}) does not export: only "
                "SequenceScaler steps fold into the graph."
            )
        check_is_fitted(step)
        mean = step.mean_ if step.mean_ is not None else np.zeros_like(shift)
        std = step.scale_ if step.scale_ is not None else np.ones_like(scale)
        # (x - s) / c, then (. - m) / d  ==  (x - (s + m c)) / (c d)
        shift, scale = shift + mean * scale, scale * std
    return shift, scale, labeler
