"""The labeling task: one class per timestep (labels in, labels and probabilities out).

Everything of a labeler that depends on its targets being classes: label encoding, class
weights, the cross-entropy (with MS-TCN's smoothing term), what decoding learns at ``fit``
(label counts, a calibration temperature, the shortest segment) and uses at ``predict``,
``predict_proba``, timestep-accuracy ``score``, and streams of labels or probabilities. The
rest is :class:`~sk_seqlabel._base.BaseSequenceEstimator`'s.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, StrOptions

from . import _multilabel
from ._base import BaseSequenceEstimator, Targets
from ._data.targets import (
    check_multilabel_targets,
    check_partial_targets,
    labelled_masks,
    target_kind,
)
from ._data.validation import (
    check_class_weight,
    check_label_sequences,
    check_same_lengths,
    check_sample_weight,
    check_sequences,
)
from ._decoding import (
    calibration_sample,
    count_label_statistics,
    decode,
    decoder_spec,
    fit_temperature,
    resolve_decoder,
    resolve_min_segment_length,
    shortest_inner_segment,
)
from ._training.batching import PAD_LABEL, SequenceDataset
from ._training.losses import TimestepBinaryCrossEntropy, TimestepCrossEntropy
from ._training.net import TimestepAccuracy
from .formats import is_multiindex_panel, split_panel
from .metrics import SkippedTimestepsWarning, timestep_accuracy_score

__all__ = ["BaseSequenceLabeler"]

_LABELING_DOCS = """
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, applied per timestep; "balanced" uses
        ``n_timesteps / (n_classes * np.bincount(y))`` over all labelled training timesteps.
        With several labels per step (multi-label ``y``), "balanced" balances each
        label's 0 and 1 entries that way, and a dict is refused (every label has two
        classes).
    missing_label : None, number or str, default=None
        Marks a timestep without a label, besides NaN (in float labels) and None (in object
        labels), which always do; for example ``-1``. Such steps are input to the model but
        out of the loss, the class weights, the decoder's counts (no transition is counted
        across a gap of them, nor a segment cut by one as the shortest), the temperature's
        calibration and ``score``. A recording without any label trains nothing (a warning
        says how many there were); ``classes_`` never holds the marker.
    smoothing : float, default=0.0
        Weight of MS-TCN's smoothing loss (Farha and Gall, 2019; 0.15 in the paper): the
        mean over adjacent real timesteps of the squared change of the log-probabilities,
        truncated at ``smoothing_truncation``, added to the cross-entropy. It penalises
        flicker between labels; 0 leaves it out.
    smoothing_truncation : float, default=4.0
        Largest change of a log-probability between adjacent steps that the smoothing loss
        counts (tau; the squared change is capped at its square).
    decoder : {"auto", "argmax", "viterbi"}, default="auto"
        How ``predict`` turns the per-step probabilities into labels. "argmax" takes the most
        probable class at each step. "viterbi" takes the most probable label *path* of an
        HMM: the network's calibrated probabilities (divided by the class frequencies to the
        power ``prior_weight``), and start and transition probabilities counted on the
        training labels at ``fit`` (add-one smoothed), so that short flickers between labels
        cost what such changes cost in the training data. It looks at the whole sequence
        (see ``decoder_lag``). "auto" is
        "viterbi" for a model that looks ahead anyway, and "argmax" for a causal one, whose
        ``predict`` thus stays causal: on real activity streams Viterbi gave every
        non-causal model cleaner segments at the same or better accuracy (the guide's
        "Clean segments" page). ``predict_proba`` is never decoded.
    min_segment_length : int or "auto", default="auto"
        Shortest segment (run of one label) ``predict`` may return, in steps: the decoded
        path is the most probable one whose segments are all at least this long (with
        "argmax", the most probable such labelling; with "viterbi", of the HMM above). 1
        adds no constraint. "auto" is, with Viterbi, the shortest segment inside a training
        sequence (one that touches neither end, at most 100 steps), so no segment shorter
        than any seen in training comes out; with "argmax" it is 1.
    decoder_lag : int or None, default=None
        None decodes each sequence as a whole. An int ``L`` decodes with a fixed lag: the
        label of step ``t`` is read off the best path up to step ``t + L``, so it never
        depends on later input (with a causal model, ``predict`` is then causal up to ``L``
        steps), and a stream emits each label ``L`` steps after its probabilities. Each
        label is then that of the best path at its time, so, unlike whole-sequence
        decoding, a segment may come out shorter than ``min_segment_length``.
    prior_weight : float, default=0.25
        How much of the class prior Viterbi divides out of the probabilities: a step's score
        is ``log_proba / temperature_ - prior_weight * log(class frequency)``. 0 scores the
        path by the network's posteriors; 1 is the hybrid HMM of speech recognition
        (posteriors over priors as scaled likelihoods), which favours rare classes and, on
        imbalanced data, cost timestep accuracy against the arg-max; with 0, the transitions
        alone merged some short rare segments away. 0.25 was the one weight measured at
        least as accurate as the arg-max (within 0.1 point) with a higher edit score for
        every labeler on every task of ``benchmarks/RESULTS.md``, section 18. Tune it like
        any other parameter, after fitting too (no refit needed). Has no effect with
        ``decoder="argmax"``.
"""

_LABELING_ATTRIBUTE_DOCS = """
    classes_ : ndarray of shape (n_classes,)
        Labels seen in ``fit``, sorted; ``np.arange(n_labels)`` after a multi-label fit, as
        scikit-learn's multilabel classifiers have it.
    label_names_ : ndarray of shape (n_labels,)
        After a multi-label fit on DataFrames with string columns: the column names.
    target_type_ : str
        "multilabel-indicator" after a multi-label fit (several 0/1 labels per step; the
        decoder's fitted counts and ``temperature_`` are then per label); absent otherwise.
    start_count_, transition_count_, class_count_ : ndarray
        First labels (n_classes,), label changes (n_classes, n_classes; ``[i, j]``: class
        ``j`` right after class ``i``) and labels (n_classes,) counted over the training
        sequences: what ``decoder="viterbi"`` learns.
    temperature_ : float
        Temperature that calibrates the network's probabilities on (a sample of at most
        262,144 steps of) the training data; Viterbi divides the log-probabilities by it.
    shortest_segment_ : int
        The shortest training segment that touches neither end of its sequence (0: none):
        what ``min_segment_length="auto"`` uses.
"""


class BaseSequenceLabeler(ClassifierMixin, BaseSequenceEstimator):
    """The labeling task: fit / predict / predict_proba / score over labelled sequences.

    A public labeler is a model of ``_models.py`` and this class
    (``class TCNLabeler(TCNModel, BaseSequenceLabeler)``); see
    :class:`~sk_seqlabel._base.BaseSequenceEstimator` for what each part defines.
    """

    _criterion = TimestepCrossEntropy
    _stage_input = "softmax"
    _fitted_attributes = (
        "classes",
        "start_count",
        "transition_count",
        "class_count",
        "temperature",
        "shortest_segment",
        "label_names",
        "target_type",
    )
    _task_docs = _LABELING_DOCS
    _attribute_docs = _LABELING_ATTRIBUTE_DOCS
    _parameter_constraints: dict = {
        **BaseSequenceEstimator._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "smoothing": [Interval(Real, 0, None, closed="left")],
        "smoothing_truncation": [Interval(Real, 0, None, closed="neither")],
        "decoder": [StrOptions({"auto", "argmax", "viterbi"})],
        "min_segment_length": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "decoder_lag": [Interval(Integral, 0, None, closed="left"), None],
        "prior_weight": [Interval(Real, 0, None, closed="left")],
        # bool passes as a Real here; check_missing_label refuses it with a TypeError
        "missing_label": [None, Real, str],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # y is a list of label sequences or one (n, T) array of labels.
        tags.target_tags.two_d_labels = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, groups=None):
        """Fit the model to labelled sequences.

        Transactional: the fitted attributes are set only when training succeeds. A fit that
        fails (bad input, an unavailable device, an exception in a callback) leaves an
        unfitted estimator unfitted and a fitted one as it was. A fit interrupted with
        ``KeyboardInterrupt`` (Ctrl-C) keeps the last whole epoch's weights (with early
        stopping, the best epoch's), marks that epoch ``interrupted`` in ``net_.history`` and
        warns.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features) or (T_i,), or ndarray of shape \
(n_sequences, T, n_features)
            Sequences of any lengths; DataFrames are accepted as elements.
        y : list of array-like of shape (T_i,) or (T_i, n_labels), or ndarray of shape \
(n_sequences, T) or (n_sequences, T, n_labels)
            One label per timestep; any sortable labels (ints, strings, bools), of one type
            across all sequences. Or several 0/1 labels per timestep (scikit-learn's
            "multilabel-indicator"; a DataFrame per sequence with one column per label works
            too; NaN marks an entry without a value): one sigmoid per label is then trained
            with a binary cross-entropy over the entries given (see the guide's "Several
            labels per timestep").
            A step without a label holds None or NaN (or the ``missing_label`` marker): it
            is input, but out of the loss and of what decoding learns.
        sample_weight : array-like of shape (n_sequences,), or list of array-like of shape \
(T_i,), optional
            Non-negative weights of the loss: one per sequence (all its timesteps), or one per
            timestep. The loss is the weighted mean over real timesteps (times the class
            weights); with early stopping, the validation loss is weighted too.
        groups : array-like of shape (n_sequences,), optional
            A group per sequence (a subject, a recording session): with early stopping, the
            validation sequences are whole groups, never parts of one.

        Returns
        -------
        self : object
            The fitted estimator, with ``classes_``, ``n_features_in_`` and ``net_`` (the
            skorch net, whose ``history`` holds the training log).
        """
        return self._fit(X, y, sample_weight, groups)

    @property
    def _multilabel(self):
        """Whether the fitted model has several 0/1 labels per step (``_multilabel.py``)."""
        return getattr(self, "target_type_", None) == _multilabel.MULTILABEL

    def _head(self, target_kind):
        if target_kind == _multilabel.MULTILABEL:
            return TimestepBinaryCrossEntropy, {}, "sigmoid"
        return super()._head(target_kind)

    def _encode_targets(self, y, X_list):
        """Labels checked against the sequences, encoded as class codes with class weights.

        Steps without a label (``missing_label``) get ``PAD_LABEL``, so the loss skips them
        as it skips padding; classes and class weights come from the labelled steps only.
        """
        missing_label = self.missing_label
        # Several values per step are multi-label targets, whose check names any value
        # other than 0 and 1 (type_of_target calls those "...-multioutput").
        kind = target_kind(y, missing_label=missing_label)
        if kind == _multilabel.MULTILABEL or kind.endswith("-multioutput"):
            return _multilabel.encode_multilabel_targets(
                y,
                X_list,
                class_weight=self.class_weight,
                missing_label=missing_label,
                estimator_name=type(self).__name__,
            )
        _y_list, masks, pooled = check_partial_targets(y, X_list, missing_label=missing_label)
        classes, codes = self._encode_labels(pooled)
        class_weight = check_class_weight(self.class_weight, classes, y=pooled)
        values = np.split(codes, np.cumsum([int(m.sum()) for m in masks])[:-1])
        for i, mask in enumerate(masks):
            if not mask.all():
                padded = np.full(len(mask), PAD_LABEL, dtype=np.int64)
                padded[mask] = values[i]
                values[i] = padded
        unlabelled = sum(not m.any() for m in masks)
        if unlabelled:
            warnings.warn(
                f"{unlabelled} of {len(masks)} sequences in y have no labelled timestep; they "
                f"train nothing (every label is missing: NaN, None or "
                f"missing_label={self.missing_label!r}).",
                UserWarning,
                stacklevel=6,
            )
        return Targets(
            values=values,
            n_outputs=len(classes),
            state={"classes": classes},
            loss_params={"class_weight": None if class_weight is None else class_weight.tolist()},
        )

    def _encode_labels(self, pooled):
        """``(classes, codes)`` of the pooled training labels; at least two classes."""
        # fit then transform, not fit_transform: its np.unique(return_inverse=True) took about
        # 5x the peak memory on 10 M labels for the same codes (benchmarks/RESULTS.md, sec. 5).
        encoder = LabelEncoder().fit(pooled)
        classes = encoder.classes_
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes in y; got only "
                f"{classes.tolist()[0]!r}."
            )
        return classes, encoder.transform(pooled).astype(np.int64, copy=False)

    def _criterion_params(self):
        return {"smoothing": self.smoothing, "smoothing_truncation": self.smoothing_truncation}

    def _validation_scores(self):
        return [("valid_acc", TimestepAccuracy())]

    def _learn_after_training(self, net, policy, data, seed):
        """What decoding learns at fit: label counts, a temperature, the shortest segment."""
        if data.targets.kind == _multilabel.MULTILABEL:
            return self._learn_label_decoders(net, policy, data, seed)
        y_codes = data.targets.values
        start_count, transition_count, class_count = count_label_statistics(
            y_codes, data.targets.n_outputs
        )
        return {
            "start_count": start_count,
            "transition_count": transition_count,
            "class_count": class_count,
            "temperature": self._fit_temperature(net, policy, data.X, y_codes, seed),
            "shortest_segment": shortest_inner_segment(y_codes),
        }

    def _learn_label_decoders(self, net, policy, data, seed):
        """Per label, as for one class per step: counts, a temperature, the shortest segment."""
        y_list = data.targets.values
        picked = calibration_sample([len(y) for y in y_list], seed)
        logits = net.predict_ragged(
            SequenceDataset([data.X[i][:stop] for i, stop in picked]),
            policy,
            output="logits",
            batch_overhead=self._batch_overhead_timesteps,
        )
        y = np.concatenate([y_list[i][:stop] for i, stop in picked])
        return {
            **_multilabel.label_statistics(y_list),
            "temperature": _multilabel.fit_label_temperatures(np.concatenate(logits), y),
        }

    def _fit_temperature(self, net, policy, X_list, y_codes, seed):
        """Calibrate the trained net's probabilities for decoding, on a sample of training data.

        One inference pass over at most ``_decoding.CALIBRATION_TIMESTEPS`` training steps,
        from sequences with a label (those without one add nothing to the fit); the steps
        without a label are left out of it.
        """
        lengths = [len(y) if (y != PAD_LABEL).any() else 0 for y in y_codes]
        picked = calibration_sample(lengths, seed)
        log_proba = net.predict_ragged(
            SequenceDataset([X_list[i][:stop] for i, stop in picked]),
            policy,
            output="log_proba",
            batch_overhead=self._batch_overhead_timesteps,
        )
        codes = np.concatenate([y_codes[i][:stop] for i, stop in picked])
        labelled = codes != PAD_LABEL
        if not labelled.any():  # the budget ended before the picked prefixes' first label
            return 1.0
        return fit_temperature(np.concatenate(log_proba)[labelled], codes[labelled])

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X):
        """Class probabilities at every timestep.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features), or ndarray of shape \
(n_sequences, T, n_features)

        Returns
        -------
        proba : list of ndarray of shape (T_i, n_classes), or ndarray of shape \
(n_sequences, T, n_classes) when X is 3-D
            Columns follow ``classes_``; each row sums to 1. A sequence's probabilities do not
            depend on the other sequences passed with it. After a multi-label fit, each
            label's probability, independently of the others (rows need not sum to 1), as
            scikit-learn's multilabel ``MLPClassifier`` gives them.
        """
        self._check_ready()
        if is_multiindex_panel(X):
            return self._predict_panel(
                X, "proba", columns=getattr(self, "label_names_", self.classes_)
            )
        proba, was_3d = self._predict_outputs(X, "proba")
        return np.stack(proba) if was_3d else proba

    def predict(self, X):
        """Most probable label at every timestep.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features), or ndarray of shape \
(n_sequences, T, n_features)

        Returns
        -------
        y_pred : list of ndarray of shape (T_i,), or ndarray of shape (n_sequences, T) when X
            is 3-D. Labels are of the type seen in ``fit`` (``classes_``), in input order.
            After a multi-label fit, (T_i, n_labels) 0/1 ints, each label decoded on its own.
        """
        self._check_ready()
        if is_multiindex_panel(X):
            return self._predict_panel(X, "labels")
        labels, was_3d = self._predict_outputs(X, "labels")
        return np.stack(labels) if was_3d else labels

    def _predict_outputs(self, X, output):
        """``"proba"``: probabilities; ``"labels"``: decoded labels (``classes_``)."""
        if self._multilabel:
            return self._predict_label_outputs(X, output)
        if output == "proba":
            return self._predict_ragged(X, output="proba")
        codes, was_3d = self._predict_codes(X)
        return [self.classes_[c] for c in codes], was_3d

    def _predict_label_outputs(self, X, output):
        """Multi-label: each label's probability, or 0/1 decoded per label."""
        logits, was_3d = self._predict_ragged(X, output="logits")
        if output == "proba":
            return [_sigmoid(z) for z in logits], was_3d
        specs = self._label_decoder_specs()
        return [_multilabel.decode_labels(specs, z) for z in logits], was_3d

    def _label_decoder_specs(self):
        """One decoder spec per label (None: the threshold), as :meth:`_decoder_spec`."""
        decoder = resolve_decoder(self.decoder, self.net_.module_.look_ahead)
        fitted = {
            name: getattr(self, f"{name}_")
            for name in (
                "start_count",
                "transition_count",
                "class_count",
                "temperature",
                "shortest_segment",
            )
        }
        return _multilabel.label_decoder_specs(
            decoder, self.min_segment_length, self.decoder_lag, self.prior_weight, fitted
        )

    #: What a stream may give per sample (``start_stream(output=...)``).
    _stream_output_kinds = ("proba", "labels")

    @property
    def _n_net_outputs(self):
        return len(self.classes_)

    def _stream_outputs(self, logits, output):
        """A stream's probabilities from the module's outputs (a (n, n_classes) tensor);
        its labels are the stream's (it decodes per stream)."""
        if self._multilabel:
            return torch.sigmoid(logits.float()).cpu().numpy()
        return torch.softmax(logits.float(), dim=-1).cpu().numpy()

    #: The name of the ONNX graph's output.
    _export_output = "proba"

    def _export_head(self, logits):
        """The ONNX graph's output: class probabilities (decoding is not in the graph), or
        each label's probability for a multi-label fit."""
        if self._multilabel:
            return torch.sigmoid(logits)
        return torch.softmax(logits, dim=-1)

    def _undecoded_labels(self, logits):
        """Labels of (n, n_outputs) module outputs without decoding: the most probable class,
        or for a multi-label fit each label whose probability is over 0.5 (0/1 ints)."""
        if self._multilabel:
            return (logits > 0).to(torch.int64).cpu().numpy()
        return self.classes_[logits.argmax(-1).cpu().numpy()]

    def _predict_codes(self, X):
        """Class indices per step: the arg-max, or the path of the decoder hyperparameters."""
        spec = self._decoder_spec()
        if spec is None:
            return self._predict_ragged(X, output="labels")
        log_proba, was_3d = self._predict_ragged(X, output="log_proba")
        return [decode(spec, p) for p in log_proba], was_3d

    def _decoder_spec(self):
        """The :class:`~sk_seqlabel._decoding.DecoderSpec` of this call, or None (the arg-max).

        The one place where the decoding hyperparameters and fitted counts are read: "auto"
        values are resolved here, once per ``predict`` or stream, so that they follow
        ``set_params`` after fit.
        """
        if self._multilabel:  # decoded per label (_label_decoder_specs); streams threshold
            return None
        decoder = resolve_decoder(self.decoder, self.net_.module_.look_ahead)
        d = resolve_min_segment_length(
            self.min_segment_length, decoder, getattr(self, "shortest_segment_", 0)
        )
        if decoder == "viterbi" and not hasattr(self, "transition_count_"):
            raise ValueError(
                f"decoder={decoder!r} needs the label counts of fit, which this "
                f"{type(self).__name__} lacks (a model file written before decoding "
                "existed); refit it, or use decoder='argmax'."
            )
        return decoder_spec(
            decoder,
            len(self.classes_),
            min_segment_length=d,
            lag=self.decoder_lag,
            start_count=getattr(self, "start_count_", None),
            transition_count=getattr(self, "transition_count_", None),
            class_count=getattr(self, "class_count_", None),
            prior_weight=self.prior_weight,
            temperature=getattr(self, "temperature_", 1.0),
        )

    def start_stream(self, *, output="proba"):
        """Label live streams as their samples arrive, exactly as offline.

        Causal models label each sample at once, models with a bounded look-ahead after it
        (``delay``); a bidirectional LSTM or ConvLSTM, which needs the whole future, refuses.

        Parameters
        ----------
        output : {"proba", "labels"}, default="proba"
            What each update returns per stream.

        Returns
        -------
        LabelStream
            See :func:`sk_seqlabel.streaming.start_stream`, which also takes a Pipeline.
        """
        from .streaming import LabelStream

        if (
            self._multilabel
            and output == "labels"
            and any(spec is not None for spec in self._label_decoder_specs())
        ):
            raise ValueError(
                f"This {type(self).__name__} was fitted with several labels per timestep and "
                "decodes each (decoder, min_segment_length); streams of such labels are not "
                "implemented yet. Set decoder='argmax' and min_segment_length=1 (each label's "
                "probability over 0.5), or stream output='proba'."
            )
        return LabelStream(self, output=output)

    def score(self, X, y, sample_weight=None):
        """Timestep accuracy pooled over all timesteps of all sequences (0..1).

        After a multi-label fit: the subset accuracy over timesteps (the share of steps
        whose labels are all right, as scikit-learn's ``ClassifierMixin.score`` for
        multilabel rows), comparing the entries given.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features)
        y : list of array-like of shape (T_i,)
        sample_weight : array-like of shape (n_sequences,), or list of array-like of shape \
(T_i,), optional
            One weight per sequence or per timestep: the weighted fraction of correct steps.

        Returns
        -------
        score : float
            Over the labelled steps: those without a label (``missing_label``) are skipped,
            and a :class:`~sk_seqlabel.metrics.SkippedTimestepsWarning` says how many.
        """
        if is_multiindex_panel(X):
            X, y, _ = split_panel(X, y)
        y_pred = self.predict(X)
        if self._multilabel:
            return self._subset_accuracy(X, y, y_pred, sample_weight)
        if sample_weight is None:
            return timestep_accuracy_score(y, y_pred, missing_label=self.missing_label)
        y_list = check_label_sequences(y)
        check_same_lengths(y_list, y_pred, names=("y", "X"), what=("labels", "timesteps"))
        weights = check_sample_weight(sample_weight, [len(p) for p in y_pred])
        masks = labelled_masks(y_list, missing_label=self.missing_label)
        skipped = sum(int((~m).sum()) for m in masks)
        if skipped:
            warnings.warn(
                f"score skipped {skipped} of {sum(len(m) for m in masks)} timesteps without a "
                "label.",
                SkippedTimestepsWarning,
                stacklevel=2,
            )
        weights = np.concatenate([w * m for w, m in zip(weights, masks, strict=True)])
        correct = np.concatenate([np.asarray(t) == p for t, p in zip(y_list, y_pred, strict=True)])
        return float(np.sum(weights * correct) / np.sum(weights))

    def _subset_accuracy(self, X, y, y_pred, sample_weight):
        """Multi-label ``score``: the fraction of timesteps whose labels are all right (subset
        accuracy, as scikit-learn's ``ClassifierMixin.score`` for multilabel rows), over the
        steps with at least one entry given, comparing the entries given."""
        X_list, _ = check_sequences(X, n_features=self.n_features_in_)
        y_list, _ = check_multilabel_targets(
            y, X_list, missing_label=getattr(self, "missing_label", None)
        )
        given = [~np.isnan(t) for t in y_list]
        right = np.concatenate(
            [np.all((t == p) | ~g, axis=1) for t, p, g in zip(y_list, y_pred, given, strict=True)]
        )
        counted = np.concatenate([g.any(axis=1) for g in given])
        weights = np.ones(len(right))
        if sample_weight is not None:
            weights = np.concatenate(check_sample_weight(sample_weight, [len(p) for p in y_pred]))
        weights = weights * counted
        return float(np.sum(weights * right) / np.sum(weights))


def _sigmoid(z):
    """Each label's probability from its logit (float32, as the other outputs)."""
    from scipy.special import expit

    return expit(z).astype(np.float32, copy=False)
