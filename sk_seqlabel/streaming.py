"""Live streams: label many recordings as their samples arrive, exactly as offline.

:func:`start_stream` (or a labeler's :meth:`start_stream`) returns a :class:`LabelStream`.
Each :meth:`LabelStream.update` takes the new samples of any number of streams (any count,
zero included; streams start at their first update and end at :meth:`LabelStream.close`),
runs every stream that has new samples as one batch, and returns the labels (or
probabilities) of the samples that became final. Each stream keeps a state of bounded size
between updates, so an update costs the same however old the stream, and what a stream gets,
update after update and at :meth:`LabelStream.close`, equals ``predict_proba`` on its whole
recording.

- Causal models label each sample at once, carrying the module's state (the last inputs of
  every causal convolution, every LSTM layer's ``(h, c)``): ``TCNLabeler(causal=True)``,
  ``MultiStageTCNLabeler(causal=True)``, ``LSTMLabeler(bidirectional=False)``.
- ``ConvLSTMLabeler(bidirectional=False)`` carries its LSTM's ``(h, c)`` and the inputs of
  the pooling window not yet finished, with the convolution's context; the labels of a
  window come together, once the convolution's right context of its last sample has arrived
  (at most :attr:`LabelStream.delay`, the look-ahead, samples later).
- A TCN or multi-stage TCN that looks ahead by a bounded number of samples keeps its last
  samples and recomputes each sample's context window; its labels come ``delay`` samples
  later.

With a look-ahead, :meth:`LabelStream.close` returns the last labels, computed as offline
prediction computes a recording's end. Labels of a labeler that decodes come from fixed-lag
decoding of those outputs (``decoder_lag`` more samples later). Models that need the whole
future (a bidirectional LSTM or ConvLSTM) get a ``ValueError`` naming those that stream.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._data.validation import _check_sequence, check_feature_names, sequence_feature_names
from ._decoding import FixedLagState
from .preprocessing import SequenceScaler

__all__ = ["LabelStream", "start_stream"]


def start_stream(estimator, *, output="proba"):
    """Start labelling live streams with a fitted labeler, or a Pipeline ending in one.

    Parameters
    ----------
    estimator : fitted labeler, or Pipeline of SequenceScaler steps and a labeler
        A model that streams: causal, or with a bounded look-ahead (see the module's
        description).
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
    """Many live streams of one fitted labeler; see :func:`start_stream`.

    Attributes
    ----------
    stream_ids : list
        The open streams, in the order they started.
    delay : int
        The most samples that must follow a sample before its label comes back: 0 for a
        causal model, the model's look-ahead otherwise, plus ``decoder_lag`` for labels of a
        decoding labeler. (A one-way ConvLSTM labels a pooling window at once, so its earlier
        samples come sooner.) :meth:`close` returns the labels a stream still owes,
        computed as offline prediction computes a recording's end.
    """

    def __init__(self, labeler, *, transforms=(), output="proba"):
        check_is_fitted(labeler)
        for step in transforms:
            check_is_fitted(step)
        # The same checks, and errors, as predict: the decoder's kernels index with these.
        labeler._validate_params()
        kinds = labeler._stream_output_kinds
        if output not in kinds:
            raise ValueError(
                f"output of a {type(labeler).__name__}'s stream must be one of {kinds}; got "
                f"{output!r}."
            )
        self._labeler, self._transforms, self._output = labeler, list(transforms), output
        # what the carried state and the outputs belong to: a refit replaces these objects
        self._fitted = _fitted_objects([*self._transforms, labeler])
        module = labeler.net_.module_
        try:
            self._core = _CarriedState(labeler)
        except NotImplementedError:
            if module.look_ahead is None or module.context is None:
                name = type(labeler).__name__
                why = (
                    f"This {name} looks at the whole future (look_ahead=None): it needs a "
                    "recording's end to label any sample."
                    if module.look_ahead is None
                    else f"This {name} has no streaming form (look_ahead={module.look_ahead}, "
                    "but neither a carried state nor a bounded context)."
                )
                from ._base import _REGISTRY

                which = "; ".join(f"{c.__name__}: {c._streams_when}" for c in _REGISTRY.values())
                raise ValueError(f"{why} Estimators that stream ({which}).") from None
            self._core = _Windows(labeler)
        self.delay = module.look_ahead
        # Labels of a decoding labeler come from fixed-lag decoding, one state per stream,
        # the same code predict runs (so they equal predict's, lag for lag).
        self._decoder = labeler._decoder_spec() if output == "labels" else None
        if self._decoder is not None:
            if self._decoder.lag is None:
                raise ValueError(
                    f"decoder={labeler.decoder!r} with min_segment_length="
                    f"{self._decoder.min_segment_length} decodes whole recordings, so a "
                    "stream cannot give its labels before the end; set decoder_lag (each "
                    "label then comes that many samples later), set decoder='argmax', or "
                    "stream output='proba'."
                )
            self.delay += self._decoder.lag
        self._decoding = {}  # stream id -> FixedLagState
        self.stream_ids = []

    def update(self, chunks):
        """Feed new samples; get the labels (or probabilities) that have become final.

        Parameters
        ----------
        chunks : mapping of stream id to array-like of shape (n_new, n_features) or (n_new,)
            New samples per stream, in time order; ``n_new`` may be 0. An id not seen before
            starts a stream.

        Returns
        -------
        dict
            For each id of ``chunks``: the outputs of the samples that became final, in
            order, an ndarray of shape (n_final, n_classes) of probabilities or (n_final,) of
            labels with ``output="labels"``. For a causal model ``n_final == n_new``; with a
            look-ahead, a sample's output comes at most ``delay`` samples later.

        Raises
        ------
        ValueError or TypeError
            For samples ``predict`` would refuse (named by their stream: NaN or infinity,
            complex values, another feature count, a DataFrame's columns other than those
            seen in ``fit``), before any stream starts or advances; and for every call once
            the estimator was fitted again after the stream started (start a new one).
        """
        self._check_not_refitted()
        if not isinstance(chunks, Mapping):
            raise TypeError(
                f"update takes a mapping of stream id to new samples; got {type(chunks).__name__}."
            )
        new = {sid: self._check_chunk(sid, x) for sid, x in chunks.items()}
        started = [sid for sid in new if sid not in self._core.rows]
        if started:
            self._core.start(started)
            self.stream_ids.extend(started)
            if self._decoder is not None:
                self._decoding.update((sid, FixedLagState(self._decoder)) for sid in started)
        return self._finish(new, self._core.advance({s: x for s, x in new.items() if len(x)}))

    def close(self, ids=None):
        """End streams (all when ``ids`` is None); return what their last samples still owed.

        Parameters
        ----------
        ids : iterable of stream ids, optional
            Open streams, each named once. A call that refuses its ids (an unknown or
            repeated id) changes nothing: every stream stays open.

        Returns
        -------
        dict
            For each closed id, the outputs of its samples still owed (at most ``delay``),
            computed as offline prediction computes a recording's end (empty for causal
            models).
        """
        self._check_not_refitted()
        ids = list(self.stream_ids) if ids is None else self._check_close_ids(ids)
        closing = set(ids)
        flushed = self._core.close(ids)
        self.stream_ids = [sid for sid in self.stream_ids if sid not in closing]
        return self._finish(dict.fromkeys(ids), flushed, closing=True)

    # ------------------------------------------------------------------ internals
    def _check_not_refitted(self):
        """Refuse every call once the estimator was fitted again after the stream started."""
        if not _same_objects(_fitted_objects([*self._transforms, self._labeler]), self._fitted):
            raise ValueError(
                f"The {type(self._labeler).__name__} (or a step before it) this stream labels "
                "with was fitted again after the stream started; the streams' carried state "
                "and outputs belong to the network it had then. Start a new stream "
                "(start_stream) to label with the refitted model."
            )

    def _check_close_ids(self, ids):
        """``ids`` as a list, or the error, before anything changes."""
        if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
            raise TypeError(
                f"close takes a list of stream ids; got {type(ids).__name__}. To close one "
                "stream, pass [id]."
            )
        ids, seen = list(ids), set()
        for sid in ids:
            if not isinstance(sid, Hashable):
                raise TypeError(f"Stream ids must be hashable; got {type(sid).__name__}.")
            if sid in seen:
                raise ValueError(
                    f"close: stream {sid!r} is named more than once; name each stream once."
                )
            seen.add(sid)
            if sid not in self._core.rows:
                raise ValueError(f"close: no open stream {sid!r}; open: {self.stream_ids}.")
        return ids

    def _check_chunk(self, sid, x):
        """New samples of stream ``sid`` as predict checks a sequence, then scaled."""
        if not isinstance(sid, Hashable):
            raise TypeError(f"Stream ids must be hashable; got {type(sid).__name__}.")
        first = self._transforms[0] if self._transforms else self._labeler
        check_feature_names(
            getattr(first, "feature_names_in_", None),
            sequence_feature_names([x]),
            type(first).__name__,
        )
        n_features = self._labeler.n_features_in_
        x = _check_sequence(None, x, name=f"Stream {sid!r}", allow_empty=True)
        if x.shape == (0, 1):  # an empty 1-D chunk: no samples, whatever n_features
            x = x.reshape(0, n_features)
        if x.shape[1] != n_features:
            raise ValueError(
                f"Stream {sid!r}: new samples of shape {x.shape}; expected "
                f"(n_new, {n_features}), the features the model was fitted with."
            )
        for step in self._transforms:
            # the scaler's own arithmetic, as its transform runs it, without checking the
            # samples a second time (a DataFrame's names were checked above)
            if len(x):
                x = step._scaler.transform(x, copy=True).astype(np.float32, copy=False)
        return x

    def _finish(self, ids, logits, closing=False):
        """The outputs per id from the module's outputs (n, n_outputs) per id (missing: none):
        labels here (decoding is per stream), anything else the estimator's task's."""
        labeler = self._labeler
        out = {}
        for sid in ids:
            z = logits.get(sid)
            if z is None:
                z = torch.zeros(0, labeler._n_net_outputs)
            if self._output != "labels":
                out[sid] = labeler._stream_outputs(z, self._output)
                continue
            classes = labeler.classes_
            if self._decoder is None:
                out[sid] = labeler._undecoded_labels(z)
            else:
                state = self._decoding[sid]
                log_proba = torch.log_softmax(z.float(), dim=-1).cpu().numpy()
                codes = state.update(log_proba)
                if closing:
                    codes = np.concatenate([codes, state.close()])
                    del self._decoding[sid]
                out[sid] = classes[codes]
        return out


class _Runner:
    """What both ways of streaming share: the labeler's net, its device and call context."""

    def __init__(self, labeler):
        self.labeler, self.module = labeler, labeler.net_.module_
        self.device = labeler.net_.device
        self.rows = {}  # stream id -> its row in the state (or its buffer)

    def run(self, fn):
        """``fn()`` as ``predict`` runs: the device policy, no grad, eval mode, autocast."""
        net = self.labeler.net_
        with net.inference(self.labeler._device_policy(net.device)):
            return fn()


class _CarriedState(_Runner):
    """Modules that carry a state: each update advances it over the new samples only.

    Outputs come as the module makes them final (``forward_stream``'s counts): at once for a
    causal module, by whole pooling windows for a one-way ConvLSTM; ``close`` asks a module
    that looks ahead for what its streams still owe (``flush_stream``).
    """

    def __init__(self, labeler):
        super().__init__(labeler)
        self.state = self.module.initial_stream_state(0)

    def start(self, ids):
        self.state = _tree_map(
            lambda a, b: torch.cat([a, b]), self.state, self.module.initial_stream_state(len(ids))
        )
        first = len(self.rows)
        self.rows.update((sid, first + i) for i, sid in enumerate(ids))

    def advance(self, new):
        if not new:
            return {}
        ids = list(new)
        rows = torch.tensor([self.rows[sid] for sid in ids], dtype=torch.long)
        lengths = torch.tensor([len(x) for x in new.values()], dtype=torch.long)
        x = _padded(list(new.values()))

        def step():
            logits, n_final, state = self.module.forward_stream(
                x.to(self.device),
                self.module.place_lengths(lengths, self.device),
                self._select(rows),
            )
            self.state = _tree_map(
                lambda full, part: full.index_copy(0, rows.to(full.device), part.to(full.dtype)),
                self.state,
                state,
            )
            return logits, n_final

        return _per_stream(ids, *self.run(step))

    def close(self, ids):
        out = {}
        if ids and self.module.look_ahead:
            rows = torch.tensor([self.rows[sid] for sid in ids], dtype=torch.long)
            out = _per_stream(ids, *self.run(lambda: self.module.flush_stream(self._select(rows))))
        closing = set(ids)
        keep = [sid for sid in self.rows if sid not in closing]
        self.state = self._select(torch.tensor([self.rows[sid] for sid in keep], dtype=torch.long))
        self.rows = {sid: i for i, sid in enumerate(keep)}
        return out

    def _select(self, rows):
        """The state of the streams at ``rows`` (int64), in that order."""
        return _tree_map(lambda t: t[rows.to(t.device)], self.state)


class _Windows(_Runner):
    """Modules with a bounded context ``(before, after)``: outputs come ``after`` late.

    Each stream keeps its last samples; an update computes the outputs whose whole context
    has arrived from a window of the samples they depend on (what ``forward_chunked`` does
    offline), so an update costs its new samples plus the context, however old the stream.
    """

    def __init__(self, labeler):
        super().__init__(labeler)
        self.before, self.after = self.module.context
        self.buffers, self.first, self.emitted = {}, {}, {}

    def start(self, ids):
        for sid in ids:
            self.rows[sid] = len(self.rows)
            self.buffers[sid] = None
            self.first[sid] = self.emitted[sid] = 0  # absolute positions

    def advance(self, new):
        for sid, x in new.items():
            buffer = self.buffers[sid]
            # a copy, never a view of the caller's array, which it may refill for the next update
            self.buffers[sid] = x.copy() if buffer is None else np.concatenate([buffer, x])
        return self._emit(list(new), ending=False)

    def close(self, ids):
        out = self._emit([sid for sid in ids if self.buffers[sid] is not None], ending=True)
        for sid in ids:
            del self.rows[sid], self.buffers[sid], self.first[sid], self.emitted[sid]
        return out

    def _emit(self, ids, ending):
        """Outputs of ``ids`` whose context has arrived (all of them when ``ending``)."""
        jobs = []
        for sid in ids:
            received = self.first[sid] + len(self.buffers[sid])
            stop = received if ending else received - self.after
            if stop <= self.emitted[sid]:
                continue
            lo = max(self.first[sid], self.emitted[sid] - self.before)
            hi = received if ending else stop + self.after
            window = self.buffers[sid][lo - self.first[sid] : hi - self.first[sid]]
            jobs.append((sid, window, self.emitted[sid] - lo, stop - lo))
        if not jobs:
            return {}
        lengths = torch.tensor([len(w) for _, w, _, _ in jobs], dtype=torch.long)
        x = _padded([w for _, w, _, _ in jobs])
        logits = self.run(
            lambda: self.module(x.to(self.device), self.module.place_lengths(lengths, self.device))
        )
        out = {}
        for row, (sid, _, a, b) in enumerate(jobs):
            out[sid] = logits[row, a:b]
            self.emitted[sid] += b - a
            keep_from = max(self.first[sid], self.emitted[sid] - self.before)
            self.buffers[sid] = self.buffers[sid][keep_from - self.first[sid] :]
            self.first[sid] = keep_from
        return out


def _fitted_objects(estimators):
    """``(position, name, object)`` of every fitted attribute (``name_``) of the estimators."""
    return [
        (i, name, obj)
        for i, est in enumerate(estimators)
        for name, obj in vars(est).items()
        if name.endswith("_") and not name.startswith("_")
    ]


def _same_objects(a, b):
    """Whether two :func:`_fitted_objects` lists hold the very same objects.

    Identity, not equality: a refit replaces every fitted attribute (the network first), and
    the new network may have the same classes_ and features but other weights.
    """
    return len(a) == len(b) and all(
        x[:2] == y[:2] and x[2] is y[2] for x, y in zip(a, b, strict=True)
    )


def _per_stream(ids, logits, n_final):
    """Each id's final logits: its row's first ``n_final`` steps."""
    pairs = zip(ids, n_final.tolist(), strict=True)
    return {sid: logits[row, :n] for row, (sid, n) in enumerate(pairs)}


def _padded(pieces):
    """(n, T_max, n_features) float32 tensor of the pieces, zeros beyond each."""
    x = np.zeros((len(pieces), max(len(p) for p in pieces), pieces[0].shape[1]), np.float32)
    for row, piece in enumerate(pieces):
        x[row, : len(piece)] = piece
    return torch.from_numpy(x)


def _tree_map(fn, *trees):
    """``fn`` over the tensors of nested lists/tuples of the same shape."""
    first = trees[0]
    if isinstance(first, (list, tuple)):
        return type(first)(_tree_map(fn, *parts) for parts in zip(*trees, strict=True))
    return fn(*trees)
