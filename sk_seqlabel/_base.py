"""The estimator shared by all labelers: scikit-learn on the outside, skorch on the inside."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.model_selection import GroupShuffleSplit
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

from ._data.validation import (
    check_class_weight,
    check_feature_names,
    check_groups,
    check_label_sequences,
    check_same_lengths,
    check_sample_weight,
    check_sequences,
    check_targets,
    sequence_feature_names,
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
from ._training.batching import SequenceDataset, bucketed_loader
from ._training.device import (
    DevicePolicy,
    resolve_device,
)
from ._training.net import PlannedProgressBar, SequenceNet, TimestepAccuracy, TimestepCrossEntropy
from .formats import is_multiindex_panel, split_panel
from .metrics import timestep_accuracy_score

__all__ = ["BaseSequenceLabeler", "fill_shared_docs"]

#: Every labeler class, by name, in the order defined (see ``BaseSequenceLabeler``).
_REGISTRY: dict[str, type] = {}

_SHARED_DOCS = """
    max_epochs : int, default=30
        Passes over the training sequences.
    lr : float, default=3e-3
        Learning rate of the Adam optimizer.
    batch_size : int, default=32
        At most this many sequences per batch.
    max_batch_timesteps : int or "auto", default="auto"
        At most this many padded timesteps (rows times the longest length) per batch. Batches
        hold sequences of similar length, so padding stays small. For training, "auto" is
        8,192 on every device, so that a model trains the same way (the same batches and
        optimizer steps) on a laptop and on a GPU; set a number to train with larger batches.
        For prediction, "auto" is 8,192 on a CPU and 262,144 on a GPU, and sequences longer
        than that are predicted in chunks, with the same result as in one piece (set it after
        fitting to change prediction alone).
    max_train_length : int or "auto", default="auto"
        Training cuts longer sequences into windows of at most this many steps, at new random
        offsets each epoch (every step is seen once per epoch), so memory is bounded by the
        batch cap, not by the longest recording. "auto" is a quarter of the training batch
        cap (so a batch of windows has at least 4 rows), and for a TCN at least 4 receptive
        fields; it does not depend on the device.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, applied per timestep; "balanced" uses
        ``n_timesteps / (n_classes * np.bincount(y))`` over all training timesteps.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training *sequences* (whole sequences, never
        parts of one), stop when the validation loss has not improved for
        ``n_iter_no_change`` epochs, and keep the best epoch's weights.
    validation_fraction : float, default=0.1
        Fraction of sequences held out when ``early_stopping`` is True.
    n_iter_no_change : int, default=5
        Patience of early stopping, in epochs.
    device : str, default="auto"
        Torch device to train and predict on: "cpu", "cuda" or "cuda:N"; "auto" is CUDA when
        available, else the CPU. Other torch device types get a ``ValueError``.
    precision : {"auto", "fp32", "bf16"}, default="auto"
        Arithmetic of the forward pass. "bf16" runs matrix products and convolutions in
        bfloat16 under :func:`torch.autocast` (weights, optimizer and loss stay float32);
        LSTM layers run in bf16 only on a CPU with native bf16 (AMX or AVX512-BF16), and in
        float32 elsewhere: oneDNN has no bf16 LSTM for other CPUs, and cuDNN's would need a
        gradient scaler. ``net_.precision`` says what ``fit`` ran in (for example
        "bf16 (LSTM layers in fp32)"). "fp32" runs everything in float32 (no TF32 on a
        GPU). "auto" picks whichever was measured faster for this model on this kind of
        device (see the GPU page of the guide); it is "fp32" wherever bf16 was not measured
        faster, and on every CPU without native bf16. Read again at each ``predict``, so it
        may be changed after fitting.
    n_threads : int, "auto" or None, default="auto"
        Torch intra-op threads while fitting and predicting, set for these calls only and
        restored afterwards. "auto" is half the cores this process may use, at least 1 and
        at most 4: on a shared machine, threads that wait for a busy core slow a whole fit
        down many times (see the guide's install page). None keeps torch's own setting.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, batch shuffling and the validation split. The
        same value gives the same model on the CPU.
    verbose : int, default=0
        0 is silent; 1 prints a table of losses per epoch and a progress bar.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks (learning-rate schedules, checkpoints, ...). They are copied
        at fit, so the objects passed are left untouched.
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


_SHARED_ATTRIBUTE_DOCS = """
    classes_ : ndarray of shape (n_classes,)
        Labels seen in ``fit``, sorted.
    n_features_in_ : int
        Features per timestep seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in ``fit``, when its sequences were DataFrames with string columns.
    net_ : skorch.NeuralNet
        The fitted net; ``net_.history`` holds the per-epoch log.
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


@dataclasses.dataclass(frozen=True)
class _TrainingData:
    """What ``fit`` trains on, checked and encoded (:meth:`BaseSequenceLabeler._training_data`).

    ``X``: the sequences (a list, or recordings that load on access); ``y_codes``: class
    indices per sequence; ``weights``: per-timestep loss weights or None; ``groups``: one per
    sequence or None; ``classes``: the sorted labels; ``class_weight``: one per class or None;
    ``feature_names``: the DataFrame columns seen, or None.
    """

    X: object
    y_codes: list
    weights: list | None
    groups: np.ndarray | None
    classes: np.ndarray
    class_weight: list | None
    feature_names: np.ndarray | None


def fill_shared_docs(cls):
    """Put the shared documentation where a labeler's docstring says ``{shared}`` (keywords)
    and ``{shared_attributes}`` (fitted attributes)."""
    cls.__doc__ = cls.__doc__.replace("    {shared}\n", _SHARED_DOCS.lstrip("\n")).replace(
        "    {shared_attributes}\n", _SHARED_ATTRIBUTE_DOCS.lstrip("\n")
    )
    return cls


class BaseSequenceLabeler(ClassifierMixin, BaseEstimator):
    """Shared fit / predict / predict_proba / score over lists of variable-length sequences.

    A labeler subclasses it and sets ``_module`` (a
    :class:`~sk_seqlabel.modules.base.SequenceModule` taking ``n_features, n_classes`` and
    keyword hyperparameters) and ``_module_params`` (the names of its ``__init__`` keywords
    that go to the module), lists every keyword explicitly in ``__init__`` (scikit-learn reads
    the signature), and defines :meth:`_test_params`. Defining ``_module`` registers the class:
    :func:`~sk_seqlabel.labelers.all_labelers` lists it, and the shared tests, run it.
    """

    _module: type[torch.nn.Module]
    _module_params: tuple[str, ...] = ()
    #: When this labeler's models stream (``start_stream``), in its own keywords: what the
    #: refusal of a model that cannot stream lists for every registered labeler.
    _streams_when: str = "never"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_module" in cls.__dict__:
            _REGISTRY[cls.__name__] = cls

    @classmethod
    def _demo_params(cls, quick: bool) -> tuple[dict, dict]:
        """``(keywords, grid)`` of this labeler in the demo's grid search.

        ``quick``: tiny models and a grid of two values (the demo's ``--quick``, for tests).
        """
        raise NotImplementedError("Must be overridden in subclass")

    @classmethod
    def _test_params(cls) -> dict:
        """Keyword sets the shared tests run this labeler with.

        Returns
        -------
        dict
            ``"quick"``: a small model that trains in well under a second on 2 CPU cores;
            ``"learns"``: one that reaches 0.9 timestep accuracy on the tests' easy task in a
            few seconds; and, where the model has them, ``"causal"`` (keywords that make it
            never look ahead) and ``"one_way"`` (recurrent layers in one direction).
        """
        raise NotImplementedError("Must be overridden in subclass")

    _parameter_constraints: dict = {
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_batch_timesteps": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "max_train_length": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "precision": [StrOptions({"auto", "fp32", "bf16"})],
        "n_threads": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "smoothing": [Interval(Real, 0, None, closed="left")],
        "smoothing_truncation": [Interval(Real, 0, None, closed="neither")],
        "decoder": [StrOptions({"auto", "argmax", "viterbi"})],
        "min_segment_length": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "decoder_lag": [Interval(Integral, 0, None, closed="left"), None],
        "prior_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X is a list of (T_i, n_features) arrays or one (n, T, n_features) array; a 2-D array
        # is refused (it would be one sequence, or rows of unrelated samples).
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        # y is a list of label sequences or one (n, T) array of labels.
        tags.target_tags.two_d_labels = True
        # The same random_state gives the same model on the CPU (DESIGN.md, invariant 5); on
        # a GPU, cuDNN's and the atomics' summation order is not fixed.
        tags.non_deterministic = str(self.device) != "cpu" and torch.cuda.is_available()
        return tags

    # ------------------------------------------------------------------ fit
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
        y : list of array-like of shape (T_i,) or ndarray of shape (n_sequences, T)
            One label per timestep; any sortable labels (ints, strings, bools), of one type
            across all sequences.
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
        data = self._training_data(X, y, sample_weight, groups)
        policy = self._device_policy(resolve_device(self.device))
        net, split_seed = self._train(data, policy)
        statistics = self._label_statistics(net, policy, data, split_seed)
        # Only now, all together: a fit that raised above left the estimator as it was.
        self._set_fitted_state(
            net=net,
            classes=data.classes,
            n_features=data.X[0].shape[1],
            feature_names=data.feature_names,
            **statistics,
        )
        return self

    def _training_data(self, X, y, sample_weight, groups):
        """Check and encode what ``fit`` trains on; raise before anything is built."""
        name = type(self).__name__
        if is_multiindex_panel(X):
            X, y, _ = split_panel(X, y)
        X_list, _ = check_sequences(X, estimator_name=name)
        feature_names = sequence_feature_names(X)
        _y_list, pooled = check_targets(y, X_list)
        classes, codes = self._encode_labels(pooled)
        # a LazySequences knows its lengths without loading the recordings again
        lengths = getattr(X_list, "lengths", None)
        if lengths is None:
            lengths = [len(x) for x in X_list]
        weights = check_sample_weight(sample_weight, lengths)
        groups = check_groups(groups, len(X_list))
        self._check_early_stopping_split(len(X_list), groups)
        class_weight = check_class_weight(self.class_weight, classes, y=pooled)
        return _TrainingData(
            X=X_list,
            y_codes=np.split(codes, np.cumsum(lengths)[:-1]),
            weights=weights,
            groups=groups,
            classes=classes,
            class_weight=None if class_weight is None else class_weight.tolist(),
            feature_names=feature_names,
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

    def _check_early_stopping_split(self, n_sequences, groups):
        """Early stopping holds out whole sequences (or groups): at least two of them."""
        if not self.early_stopping:
            return
        if n_sequences < 2:
            raise ValueError(
                "early_stopping=True holds out whole sequences for validation, so it needs at "
                f"least 2 sequences; got {n_sequences}."
            )
        if groups is not None and len(np.unique(groups)) < 2:
            raise ValueError(
                "early_stopping=True with groups holds out whole groups for validation, so it "
                f"needs at least 2 groups; got {len(np.unique(groups))}."
            )

    def _train(self, data, policy):
        """A new net trained on ``data``: ``(net, split_seed)``; warns if interrupted."""
        rng = check_random_state(self.random_state)
        torch_seed, shuffle_seed, split_seed = rng.randint(np.iinfo(np.int32).max, size=3)
        net = self._make_net(
            policy,
            n_features=data.X[0].shape[1],
            n_classes=len(data.classes),
            class_weight=data.class_weight,
            shuffle_seed=int(shuffle_seed),
            split_seed=int(split_seed),
            groups=data.groups,
        )
        with _seeded(policy.device, int(torch_seed)), policy.torch_settings():
            net.fit(SequenceDataset(data.X, data.y_codes, data.weights), y=None)
        if net.interrupted_:
            kept = "the best epoch's" if self.early_stopping else "that epoch's"
            warnings.warn(
                f"{type(self).__name__}.fit was interrupted after {len(net.history)} whole "
                f"epoch(s) of {self.max_epochs}; the model keeps {kept} weights, and "
                "net_.history marks the last epoch 'interrupted'.",
                UserWarning,
                stacklevel=3,
            )
        return net, int(split_seed)

    def _label_statistics(self, net, policy, data, seed):
        """What decoding learns at fit: label counts, a temperature, the shortest segment."""
        start_count, transition_count, class_count = count_label_statistics(
            data.y_codes, len(data.classes)
        )
        return {
            "start_count": start_count,
            "transition_count": transition_count,
            "class_count": class_count,
            "temperature": self._fit_temperature(net, policy, data.X, data.y_codes, seed),
            "shortest_segment": shortest_inner_segment(data.y_codes),
        }

    def _set_fitted_state(
        self,
        *,
        net,
        classes,
        n_features,
        feature_names=None,
        start_count=None,
        transition_count=None,
        class_count=None,
        temperature=None,
        shortest_segment=None,
    ):
        """Set every fitted attribute, together: the one place ``fit`` and ``load`` both use.

        The label statistics are None only for a model file written before decoding existed
        (such a model predicts with ``decoder="argmax"`` only); attributes of a previous fit
        that the new state lacks are removed.
        """
        statistics = {
            "start_count_": start_count,
            "transition_count_": transition_count,
            "class_count_": class_count,
            "temperature_": temperature,
            "shortest_segment_": shortest_segment,
            "feature_names_in_": feature_names,
        }
        self.classes_ = classes
        self.n_features_in_ = int(n_features)
        for attr, value in statistics.items():
            if value is not None:
                setattr(self, attr, value)
            elif hasattr(self, attr):
                delattr(self, attr)
        self.net_ = net

    def _fit_temperature(self, net, policy, X_list, y_codes, seed):
        """Calibrate the trained net's probabilities for decoding, on a sample of training data.

        One inference pass over at most ``_decoding.CALIBRATION_TIMESTEPS`` training steps.
        """
        picked = calibration_sample([len(y) for y in y_codes], seed)
        log_proba = net.predict_ragged(
            SequenceDataset([X_list[i][:stop] for i, stop in picked]),
            policy,
            output="log_proba",
            batch_overhead=self._batch_overhead_timesteps,
        )
        codes = np.concatenate([y_codes[i][:stop] for i, stop in picked])
        return fit_temperature(np.concatenate(log_proba), codes)

    #: Device types ("cpu" for a CPU with native bf16 matrix units, "cuda") on which bf16
    #: autocast measured faster for this model than fp32; there ``precision="auto"`` is bf16.
    _bf16_faster_on: frozenset[str] = frozenset()
    #: Fixed cost of one batch of this model, in padded timesteps: batches are cut where the
    #: padded steps plus this per batch are fewest (``_batching.plan_batches``), the same way
    #: on every device. Against filling each batch to the caps, it trained and predicted the
    #: TCN and the BiLSTM faster (benchmarks/RESULTS.md, "Padding-aware batches").
    #: None fills each batch.
    _batch_overhead_timesteps: int | None = 2048
    #: Make the device choices of this device type instead of the real one's. Only tests set
    #: it (on a subclass), to run the CUDA choices on the CPU.
    _policy_kind: str | None = None

    def _device_policy(self, device):
        """The :class:`~sk_seqlabel._training.device.DevicePolicy` for ``device`` and the
        parameters."""
        return DevicePolicy.resolve(
            device,
            max_batch_timesteps=self.max_batch_timesteps,
            precision=self.precision,
            bf16_faster_on=self._bf16_faster_on,
            n_threads=self.n_threads,
            kind=self._policy_kind,
        )

    def _min_train_length(self):
        """Shortest window "auto" may choose; models with a receptive field raise it."""
        return 1

    def _train_length(self, policy):
        """Window length of training: ``max_train_length``, or what "auto" means for it."""
        if self.max_train_length != "auto":
            return self.max_train_length
        cap = policy.train_batch_timesteps
        return min(cap, max(cap // 4, self._min_train_length()))

    def _make_net(
        self, policy, *, n_features, n_classes, class_weight, shuffle_seed, split_seed, groups=None
    ):
        """The skorch net of one fit: module, loss, optimizer, batching and callbacks."""
        batching = {
            "max_batch_timesteps": policy.train_batch_timesteps,
            "max_length": self._train_length(policy),
            "round_lengths": policy.round_lengths,
            "pin_memory": policy.pin_memory,
            "batch_overhead": self._batch_overhead_timesteps,
        }
        return SequenceNet(
            module=self._module,
            module__n_features=n_features,
            module__n_classes=n_classes,
            **{f"module__{p}": getattr(self, p) for p in self._module_params},
            criterion=TimestepCrossEntropy,
            criterion__class_weight=class_weight,
            optimizer=torch.optim.Adam,
            # One fused kernel per step instead of a few per parameter tensor: on the CPU the
            # bare TCN loop trained faster (benchmarks/RESULTS.md, section 1); on a GPU it
            # saves ~10 launches per tensor.
            optimizer__fused=True,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train=bucketed_loader,
            iterator_train__shuffle=True,
            iterator_train__random_state=shuffle_seed,
            **{f"iterator_train__{k}": v for k, v in batching.items()},
            iterator_valid=bucketed_loader,
            **{f"iterator_valid__{k}": v for k, v in batching.items()},
            train_split=self._train_split(split_seed, groups),
            callbacks=self._callbacks(),
            device=policy.device,
            policy=policy,
            smoothing=self.smoothing,
            smoothing_truncation=self.smoothing_truncation,
            verbose=self.verbose,
        )

    def _train_split(self, seed, groups):
        """skorch's ``train_split``: whole sequences (or groups) held out for early stopping."""
        if not self.early_stopping:
            return None
        if groups is None:
            return ValidSplit(self.validation_fraction, stratified=False, random_state=seed)
        splitter = GroupShuffleSplit(
            n_splits=1, test_size=self.validation_fraction, random_state=seed
        )
        return functools.partial(ValidSplit(splitter), groups=groups)

    def _callbacks(self):
        """Early stopping and the progress bar as the parameters ask, then the user's own."""
        callbacks = []
        if self.early_stopping:
            callbacks += [
                ("valid_acc", TimestepAccuracy()),
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss", patience=self.n_iter_no_change, load_best=True
                    ),
                ),
            ]
        if self.verbose:
            callbacks.append(("progress_bar", PlannedProgressBar()))
        return callbacks + copy.deepcopy(self.callbacks or [])

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
            depend on the other sequences passed with it.
        """
        self._check_ready()
        if is_multiindex_panel(X):
            import pandas as pd

            sequences, _, order = split_panel(X)
            out = np.empty((len(X), len(self.classes_)), dtype=np.float32)
            out[order] = np.concatenate(self._predict_ragged(sequences, output="proba")[0])
            return pd.DataFrame(out, index=X.index, columns=self.classes_)
        proba, was_3d = self._predict_ragged(X, output="proba")
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
        """
        self._check_ready()
        if is_multiindex_panel(X):
            import pandas as pd

            sequences, _, order = split_panel(X)
            codes = np.empty(len(X), dtype=np.int64)
            codes[order] = np.concatenate(self._predict_codes(sequences)[0])
            return pd.Series(self.classes_[codes], index=X.index)
        codes, was_3d = self._predict_codes(X)
        labels = [self.classes_[c] for c in codes]
        return np.stack(labels) if was_3d else labels

    def _check_ready(self):
        """Once per public call: fitted, and the settings that may change after fitting
        (``max_batch_timesteps``, ``precision``, ``n_threads``, the decoder's) valid, with
        the same checks and errors as at fit."""
        check_is_fitted(self)
        self._validate_params()

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

    def _predict_ragged(self, X, output):
        """Validate X, then per-step probabilities, log-probabilities or class indices.

        The caller has run :meth:`_check_ready` (once per public call)."""
        name = type(self).__name__
        X_list, was_3d = check_sequences(X, n_features=self.n_features_in_, estimator_name=name)
        check_feature_names(
            getattr(self, "feature_names_in_", None), sequence_feature_names(X), name
        )
        policy = self._device_policy(self.net_.device)
        out = self.net_.predict_ragged(
            SequenceDataset(X_list),
            policy,
            output=output,
            batch_overhead=self._batch_overhead_timesteps,
        )
        return out, was_3d

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

        return LabelStream(self, output=output)

    def score(self, X, y, sample_weight=None):
        """Timestep accuracy pooled over all timesteps of all sequences (0..1).

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
        """
        if is_multiindex_panel(X):
            X, y, _ = split_panel(X, y)
        y_pred = self.predict(X)
        if sample_weight is None:
            return timestep_accuracy_score(y, y_pred)
        y_list = check_label_sequences(y)
        check_same_lengths(y_list, y_pred, names=("y", "X"), what=("labels", "timesteps"))
        weights = np.concatenate(check_sample_weight(sample_weight, [len(p) for p in y_pred]))
        correct = np.concatenate([np.asarray(t) == p for t, p in zip(y_list, y_pred, strict=True)])
        return float(np.sum(weights * correct) / np.sum(weights))


@contextlib.contextmanager
def _seeded(device, seed):
    """Seed torch for one fit, leaving the caller's random state as it was.

    Only the CPU generator and that of the training device are seeded (and restored):
    ``torch.manual_seed`` would reseed every CUDA device of the machine.
    """
    device = torch.device(device)
    on_cuda = device.type == "cuda"
    forked = []
    if on_cuda:
        forked = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=forked):
        torch.default_generator.manual_seed(seed)
        if on_cuda:
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield
