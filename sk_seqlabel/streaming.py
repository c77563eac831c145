"""Live streams: label many recordings as their samples arrive, exactly as offline.

:func:`start_stream` (or a labeler's :meth:`start_stream`) returns a :class:`LabelStream`.
Each :meth:`LabelStream.update` takes the new samples of any number of streams (any count,
zero included; streams start at their first update and end at :meth:`LabelStream.close`),
runs every stream that has new samples as one batch, and returns the labels (or
probabilities) of those samples. Each stream carries its model's state between updates (the
last inputs of every causal convolution, every LSTM layer's ``(h, c)``), so an update costs
the same however old the stream, and what a stream gets, update after update, equals
``predict_proba`` on its whole recording.

Causal models stream: ``TCNLabeler(causal=True)``, ``MultiStageTCNLabeler(causal=True)``,
``LSTMLabeler(bidirectional=False)``. Models that look ahead cannot label a sample before
later ones arrive; they get a ``ValueError`` naming the causal options (a delayed form for
bounded look-ahead is not built yet).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .preprocessing import SequenceScaler

__all__ = ["LabelStream", "start_stream"]


def start_stream(estimator, *, output="proba"):
    """Start labelling live streams with a fitted causal labeler, or a Pipeline ending in one.

    Parameters
    ----------
    estimator : fitted labeler, or Pipeline of SequenceScaler steps and a labeler
        A causal model (see the module's description).
    output : {"proba", "labels"}, default="proba"
        What :meth:`LabelStream.update` returns per stream: (n_new, n_classes) probabilities
        (columns follow ``classes_``) or (n_new,) labels.

    Returns
    -------
    LabelStream

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel import TCNLabeler
    >>> from sk_seqlabel.datasets import make_sequence_labeling
    >>> from sk_seqlabel.streaming import start_stream
    >>> X, y = make_sequence_labeling(n_sequences=20, random_state=0)
    >>> clf = TCNLabeler(n_filters=8, causal=True, precision="fp32", max_epochs=2).fit(X, y)
    >>> stream = start_stream(clf)
    >>> first = stream.update({"wrist": X[0][:10], "ankle": X[1][:3]})
    >>> later = stream.update({"wrist": X[0][10:25]})  # "ankle" sends nothing this time
    >>> [p.shape for p in first.values()], later["wrist"].shape
    ([(10, 3), (3, 3)], (15, 3))
    >>> offline = clf.predict_proba([X[0][:25]])[0]
    >>> np.allclose(np.concatenate([first["wrist"], later["wrist"]]), offline, atol=1e-5)
    True
    """
    transforms = []
    labeler = estimator
    if isinstance(estimator, Pipeline):
        *steps, (_, labeler) = estimator.steps
        for name, step in steps:
            if not isinstance(step, SequenceScaler):
                raise ValueError(
                    f"Pipeline step {name!r} ({type(step).__name__}) cannot stream: only "
                    "steps that act on each timestep alone (SequenceScaler) can."
                )
            transforms.append(step)
    if not hasattr(labeler, "net_") and not hasattr(labeler, "_device_policy"):
        raise TypeError(f"{type(labeler).__name__} is not an sk_seqlabel labeler.")
    return LabelStream(labeler, transforms=transforms, output=output)


class LabelStream:
    """Many live streams of one fitted causal labeler; see :func:`start_stream`.

    Attributes
    ----------
    stream_ids : list
        The open streams, in the order they started.
    delay : int
        Samples a stream must send after a sample before that sample's label comes back:
        0, every model that streams is causal.
    """

    def __init__(self, labeler, *, transforms=(), output="proba"):
        check_is_fitted(labeler)
        if output not in ("proba", "labels"):
            raise ValueError(f"output must be 'proba' or 'labels'; got {output!r}.")
        self._labeler, self._transforms, self._output = labeler, list(transforms), output
        self._module = labeler.net_.module_
        name = type(labeler).__name__
        try:
            self._state = self._module.initial_stream_state(0)
        except NotImplementedError:
            raise ValueError(
                f"This {name} looks ahead (look_ahead={self._module.look_ahead}): it cannot "
                "label a sample before later samples arrive, so it cannot stream. Stream with "
                "a causal model: TCNLabeler(causal=True), MultiStageTCNLabeler(causal=True) "
                "or LSTMLabeler(bidirectional=False)."
            ) from None
        self.stream_ids = []
        self._rows = {}  # stream id -> its row in the state
        self.delay = 0

    def update(self, chunks):
        """Feed new samples; get the labels (or probabilities) of exactly those samples.

        Parameters
        ----------
        chunks : mapping of stream id to array-like of shape (n_new, n_features) or (n_new,)
            New samples per stream, in time order; ``n_new`` may be 0. An id not seen before
            starts a stream.

        Returns
        -------
        dict
            For each id of ``chunks``: an ndarray of shape (n_new, n_classes) of
            probabilities, or (n_new,) of labels with ``output="labels"``.
        """
        if not isinstance(chunks, Mapping):
            raise TypeError(
                f"update takes a mapping of stream id to new samples; got {type(chunks).__name__}."
            )
        new = {sid: self._check_chunk(sid, x) for sid, x in chunks.items()}
        started = [sid for sid in new if sid not in self._rows]
        if started:
            self._state = _tree_map(
                lambda a, b: torch.cat([a, b]),
                self._state,
                self._module.initial_stream_state(len(started)),
            )
            self._rows.update((sid, len(self.stream_ids) + i) for i, sid in enumerate(started))
            self.stream_ids.extend(started)
        active = [sid for sid, x in new.items() if len(x)]
        out = {sid: self._empty() for sid in new}
        if active:
            results = self._run([new[sid] for sid in active], active)
            for sid, result in zip(active, results, strict=True):
                out[sid] = result
        return out

    def close(self, ids=None):
        """End streams (all when ``ids`` is None); their state is dropped.

        Returns
        -------
        dict
            For each closed id, what its last samples still owed: empty for causal models,
            whose every label came back at once.
        """
        ids = list(self.stream_ids if ids is None else ids)
        unknown = [sid for sid in ids if sid not in self._rows]
        if unknown:
            raise ValueError(f"close: no open stream {unknown[0]!r}; open: {self.stream_ids}.")
        keep = [i for i, sid in enumerate(self.stream_ids) if sid not in set(ids)]
        index = torch.tensor(keep, dtype=torch.long)
        self._state = _tree_map(lambda t: t[index.to(t.device)], self._state)
        self.stream_ids = [self.stream_ids[i] for i in keep]
        self._rows = {sid: i for i, sid in enumerate(self.stream_ids)}
        return {sid: self._empty() for sid in ids}

    # ------------------------------------------------------------------ internals
    def _check_chunk(self, sid, x):
        if not isinstance(sid, Hashable):
            raise TypeError(f"Stream ids must be hashable; got {type(sid).__name__}.")
        n_features = self._labeler.n_features_in_
        try:
            x = (
                x.to_numpy(dtype=np.float32)
                if hasattr(x, "to_numpy")
                else np.asarray(x, dtype=np.float32)
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Stream {sid!r}: new samples are not numbers ({exc}).") from None
        if x.ndim == 1 and (n_features == 1 or len(x) == 0):
            x = x.reshape(-1, n_features)
        if x.ndim != 2 or x.shape[1] != n_features:
            raise ValueError(
                f"Stream {sid!r}: new samples of shape {x.shape}; expected "
                f"(n_new, {n_features}), the features the model was fitted with."
            )
        if not np.isfinite(x).all():
            raise ValueError(f"Stream {sid!r}: new samples contain NaN or infinity.")
        for step in self._transforms:
            x = step.transform([x])[0] if len(x) else x
            x = np.asarray(x, dtype=np.float32)
        return x

    def _empty(self):
        n_classes = len(self._labeler.classes_)
        if self._output == "labels":
            return self._labeler.classes_[:0]
        return np.zeros((0, n_classes), dtype=np.float32)

    def _run(self, pieces, active):
        labeler, net = self._labeler, self._labeler.net_
        policy = labeler._device_policy(net.device)
        rows = torch.tensor([self._rows[sid] for sid in active], dtype=torch.long)
        lengths = torch.tensor([len(p) for p in pieces], dtype=torch.long)
        x = np.zeros((len(pieces), int(lengths.max()), pieces[0].shape[1]), dtype=np.float32)
        for row, piece in enumerate(pieces):
            x[row, : len(piece)] = piece
        net.configure_module(policy)
        self._module.eval()
        with policy.torch_settings(), torch.no_grad(), net.autocast(policy):
            state = _tree_map(lambda t: t[rows.to(t.device)], self._state)
            logits, state = self._module.forward_stream(
                torch.from_numpy(x).to(net.device), lengths, state
            )
            self._state = _tree_map(
                lambda full, part: full.index_copy(0, rows.to(full.device), part.to(full.dtype)),
                self._state,
                state,
            )
            if self._output == "labels":
                codes = logits.argmax(-1).cpu().numpy()
                return [labeler.classes_[codes[r, :n]] for r, n in enumerate(lengths.tolist())]
            proba = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return [proba[r, :n] for r, n in enumerate(lengths.tolist())]


def _tree_map(fn, *trees):
    """``fn`` over the tensors of nested lists/tuples of the same shape."""
    first = trees[0]
    if isinstance(first, (list, tuple)):
        return type(first)(_tree_map(fn, *parts) for parts in zip(*trees, strict=True))
    return fn(*trees)
