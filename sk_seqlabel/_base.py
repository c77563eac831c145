"""What every estimator of the package shares: scikit-learn outside, skorch inside.

:class:`BaseSequenceEstimator` owns everything that does not depend on what a timestep's target
is: checking ``X``, ``sample_weight`` and ``groups``, the device policy, the skorch net and its
training (windows, batches, early stopping on whole sequences, an interrupted fit), the one
inference path, fitted state set in one place, scikit-learn's tags, and live streams. What
*is* a target's business (how ``y`` is checked and encoded, the loss, what the outputs mean,
``predict``, ``score``) is a task's, one class per task: labelers
(:class:`~sk_seqlabel._labeling.BaseSequenceLabeler`: one class per step) and regressors
(:class:`~sk_seqlabel._regression.BaseSequenceRegressor`: values per step). A public estimator
is a task and a model (``_models.py``: the module and its hyperparameters) put together.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.model_selection import GroupShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

from ._data.validation import (
    check_feature_names,
    check_groups,
    check_sample_weight,
    check_sequences,
    sequence_feature_names,
)
from ._training.batching import SequenceDataset, bucketed_loader
from ._training.device import DevicePolicy, resolve_device
from ._training.net import PlannedProgressBar, SequenceNet
from .formats import is_multiindex_panel, split_panel

__all__ = ["BaseSequenceEstimator", "Targets", "all_estimators", "fill_shared_docs"]

#: Every public estimator class, by name, in the order defined (see ``BaseSequenceEstimator``).
_REGISTRY: dict[str, type] = {}


def all_estimators():
    """Every estimator class of the package, labelers first: what the shared tests run.

    Returns
    -------
    list of type

    Examples
    --------
    >>> from sk_seqlabel import all_estimators
    >>> names = [cls.__name__ for cls in all_estimators()]
    >>> names[0], "TCNRegressor" in names
    ('TCNLabeler', True)
    """
    from . import labelers, regressors  # noqa: F401  (defining a class registers it)

    return list(_REGISTRY.values())


_TRAINING_DOCS = """
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
"""


@dataclasses.dataclass(frozen=True)
class Targets:
    """A task's checked and encoded ``y`` (what :meth:`BaseSequenceEstimator._encode_targets`
    returns).

    ``values``: one array per sequence, what the loss compares the outputs with (class codes
    with ``PAD_LABEL`` at unlabelled steps, or float values with NaN where there is none);
    ``kind``: which of the task's kinds of target these are (``type_of_target``'s word, e.g.
    "multilabel-indicator"; None: the task's only one), from which :meth:`_head` decides the
    loss and what refinement stages read;
    ``n_outputs``: outputs per step the module must give; ``state``: the task's fitted
    attributes learnt from ``y`` (names without the trailing underscore, as
    :meth:`BaseSequenceEstimator._set_fitted_state` takes them); ``loss_params``: keywords of
    the loss that come from the data (class weights).
    """

    values: list
    n_outputs: int
    state: dict
    loss_params: dict = dataclasses.field(default_factory=dict)
    kind: str | None = None


@dataclasses.dataclass(frozen=True)
class _TrainingData:
    """What ``fit`` trains on, checked and encoded (:meth:`BaseSequenceEstimator._training_data`).

    ``X``: the sequences (a list, or recordings that load on access); ``targets``: the task's
    :class:`Targets`; ``weights``: per-timestep loss weights or None; ``groups``: one per
    sequence or None; ``feature_names``: the DataFrame columns seen, or None.
    """

    X: object
    targets: Targets
    weights: list | None
    groups: np.ndarray | None
    feature_names: np.ndarray | None


#: The fitted attributes every estimator has, after its task's own in the docstrings.
_SHARED_ATTRIBUTE_DOCS = """
    n_features_in_ : int
        Features per timestep seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in ``fit``, when its sequences were DataFrames with string columns.
    net_ : skorch.NeuralNet
        The fitted net; ``net_.history`` holds the per-epoch log.
"""


def fill_shared_docs(cls):
    """Put the shared documentation into a public estimator's docstring.

    ``{model}``: the model's keywords (``_model_docs`` of its model in ``_models.py``);
    ``{shared}``: the training keywords and the task's own (``_task_docs``);
    ``{shared_attributes}``: the task's fitted attributes (``_attribute_docs``), then those
    every estimator has.
    """
    cls.__doc__ = (
        cls.__doc__.replace("    {model}\n", cls._model_docs.strip("\n") + "\n")
        .replace("    {shared}\n", (_TRAINING_DOCS + cls._task_docs).lstrip("\n"))
        .replace(
            "    {shared_attributes}\n",
            (cls._attribute_docs.rstrip("\n") + _SHARED_ATTRIBUTE_DOCS).lstrip("\n"),
        )
    )
    return cls


class BaseSequenceEstimator(BaseEstimator):
    """Shared fit, the net and its inference path, over lists of variable-length sequences.

    Two kinds of subclass complete it. A *task* (``_labeling.py``, ``_regression.py``)
    defines, in one place, what a target is: :meth:`_encode_targets`, the loss
    (:attr:`_criterion`, :meth:`_criterion_params`), how a refinement stage reads outputs
    (:attr:`_stage_input`), the fitted attributes (:attr:`_fitted_attributes`), ``fit``'s
    documentation, ``predict`` and ``score``. A *model* (``_models.py``) sets ``_module`` (a
    :class:`~sk_seqlabel.modules.base.SequenceModule` taking ``n_features, n_outputs`` and
    keyword hyperparameters), ``_module_params`` (the names of its ``__init__`` keywords that
    go to the module) and :meth:`_test_params`. A public estimator subclasses both, lists
    every keyword explicitly in ``__init__`` (scikit-learn reads the signature) and is
    registered by defining it: the shared tests, the demo and the benchmarks enumerate the
    registry (:func:`~sk_seqlabel.labelers.all_labelers`,
    :func:`~sk_seqlabel.regressors.all_regressors`).
    """

    _module: type[torch.nn.Module]
    _module_params: tuple[str, ...] = ()
    #: When this model streams (``start_stream``), in its own keywords: what the refusal of
    #: a model that cannot stream lists for every registered estimator.
    _streams_when: str = "never"
    #: The task's loss (a module of ``_training/losses.py``).
    _criterion: type[torch.nn.Module]
    #: What a refinement stage of a multi-stage model sees of the previous stage's outputs.
    _stage_input: str = "identity"
    #: The task's fitted attributes learnt from ``y`` (without the trailing underscore), set
    #: by :meth:`_set_fitted_state` with the shared ones.
    _fitted_attributes: tuple[str, ...] = ()
    _model_docs: str = ""
    _task_docs: str = ""
    _attribute_docs: str = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__ and hasattr(cls, "_module"):
            _REGISTRY[cls.__name__] = cls

    @classmethod
    def _demo_params(cls, quick: bool) -> tuple[dict, dict]:
        """``(keywords, grid)`` of this model in the demo's grid search.

        ``quick``: tiny models and a grid of two values (the demo's ``--quick``, for tests).
        """
        raise NotImplementedError("Must be overridden in subclass")

    @classmethod
    def _test_params(cls) -> dict:
        """Keyword sets the shared tests run this model with.

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
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "precision": [StrOptions({"auto", "fp32", "bf16"})],
        "n_threads": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X is a list of (T_i, n_features) arrays or one (n, T, n_features) array; a 2-D array
        # is refused (it would be one sequence, or rows of unrelated samples).
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        # The same random_state gives the same model on the CPU (DESIGN.md, invariant 5); on
        # a GPU, cuDNN's and the atomics' summation order is not fixed.
        tags.non_deterministic = str(self.device) != "cpu" and torch.cuda.is_available()
        return tags

    # ------------------------------------------------------------------ fit
    def _fit(self, X, y, sample_weight, groups):
        """What every task's ``fit`` does (each documents its own ``y``): see
        :meth:`~sk_seqlabel._labeling.BaseSequenceLabeler.fit`."""
        data = self._training_data(X, y, sample_weight, groups)
        policy = self._device_policy(resolve_device(self.device))
        net, split_seed = self._train(data, policy)
        learnt = self._learn_after_training(net, policy, data, split_seed)
        # Only now, all together: a fit that raised above left the estimator as it was.
        self._set_fitted_state(
            net=net,
            n_features=data.X[0].shape[1],
            feature_names=data.feature_names,
            **data.targets.state,
            **learnt,
        )
        return self

    def _training_data(self, X, y, sample_weight, groups):
        """Check and encode what ``fit`` trains on; raise before anything is built."""
        name = type(self).__name__
        if is_multiindex_panel(X):
            X, y, _ = split_panel(X, y)
        X_list, _ = check_sequences(X, estimator_name=name)
        feature_names = sequence_feature_names(X)
        targets = self._encode_targets(y, X_list)
        # a LazySequences knows its lengths without loading the recordings again
        lengths = getattr(X_list, "lengths", None)
        if lengths is None:
            lengths = [len(x) for x in X_list]
        weights = check_sample_weight(sample_weight, lengths)
        groups = check_groups(groups, len(X_list))
        self._check_early_stopping_split(len(X_list), groups)
        return _TrainingData(
            X=X_list,
            targets=targets,
            weights=weights,
            groups=groups,
            feature_names=feature_names,
        )

    def _encode_targets(self, y, X_list) -> Targets:
        """Check ``y`` against the sequences and encode it for the loss (the task's)."""
        raise NotImplementedError("Must be overridden in subclass")

    def _learn_after_training(self, net, policy, data, seed) -> dict:
        """Fitted attributes a task learns from the trained net (names without ``_``)."""
        return {}

    def _criterion_params(self) -> dict:
        """The loss's keywords that come from the hyperparameters (the task's)."""
        return {}

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
            n_outputs=data.targets.n_outputs,
            loss_params=data.targets.loss_params,
            target_kind=data.targets.kind,
            shuffle_seed=int(shuffle_seed),
            split_seed=int(split_seed),
            groups=data.groups,
        )
        with _seeded(policy.device, int(torch_seed)), policy.torch_settings():
            net.fit(SequenceDataset(data.X, data.targets.values, data.weights), y=None)
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

    def _set_fitted_state(self, *, net, n_features, feature_names=None, **learnt):
        """Set every fitted attribute, together: the one place ``fit`` and ``load`` both use.

        ``learnt``: the task's :attr:`_fitted_attributes` (names without the underscore);
        one that is None or absent is not set (a model file written before it existed), and
        attributes of a previous fit that the new state lacks are removed.
        """
        unknown = set(learnt) - set(self._fitted_attributes)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no fitted attributes {sorted(unknown)}.")
        values = {f"{name}_": learnt.get(name) for name in self._fitted_attributes}
        values["feature_names_in_"] = feature_names
        for attr, value in values.items():
            if value is not None:
                setattr(self, attr, value)
            elif hasattr(self, attr):
                delattr(self, attr)
        self.n_features_in_ = int(n_features)
        self.net_ = net

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

    def _module_kwargs(self, stage_input=None):
        """The module's keywords: the model's hyperparameters, and what the task decides
        (``stage_input``: :meth:`_head`'s; default the task's :attr:`_stage_input`)."""
        kwargs = {p: getattr(self, p) for p in self._module_params}
        if "stage_input" in self._module_extras:
            kwargs["stage_input"] = self._stage_input if stage_input is None else stage_input
        return kwargs

    def _head(self, target_kind):
        """``(criterion, criterion_params, stage_input)`` for targets of ``target_kind``
        (:attr:`Targets.kind`): the one place that decides the loss, its keywords from the
        hyperparameters and what refinement stages read. A task with several kinds of target
        (the labelers' one class or several labels per step) overrides it."""
        return self._criterion, self._criterion_params(), self._stage_input

    #: Keywords of the module that the task, not the user, sets (see :meth:`_module_kwargs`).
    _module_extras: tuple[str, ...] = ()

    def _make_net(
        self,
        policy,
        *,
        n_features,
        n_outputs,
        shuffle_seed,
        split_seed,
        loss_params=None,
        groups=None,
        target_kind=None,
    ):
        """The skorch net of one fit: module, loss, optimizer, batching and callbacks.

        ``target_kind``: :attr:`Targets.kind` of the fit (``load`` passes the file's), from
        which :meth:`_head` decides the loss and the refinement stages' input."""
        criterion, criterion_params, stage_input = self._head(target_kind)
        batching = {
            "max_batch_timesteps": policy.train_batch_timesteps,
            "max_length": self._train_length(policy),
            "round_lengths": policy.round_lengths,
            "pin_memory": policy.pin_memory,
            "batch_overhead": self._batch_overhead_timesteps,
        }
        criterion_params = {**criterion_params, **(loss_params or {})}
        return SequenceNet(
            module=self._module,
            module__n_features=n_features,
            module__n_outputs=n_outputs,
            **{f"module__{k}": v for k, v in self._module_kwargs(stage_input).items()},
            criterion=criterion,
            **{f"criterion__{k}": v for k, v in criterion_params.items()},
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
                *self._validation_scores(),
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

    def _validation_scores(self):
        """``(name, callback)`` pairs that record the task's score on the validation side."""
        return []

    # ------------------------------------------------------------------ predict
    def _check_ready(self):
        """Once per public call: fitted, and the settings that may change after fitting
        (``max_batch_timesteps``, ``precision``, ``n_threads``, the decoder's) valid, with
        the same checks and errors as at fit."""
        check_is_fitted(self)
        self._validate_params()

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

    def _predict_panel(self, X, output, columns=None):
        """Per-step outputs of a pd-multiindex panel, as one DataFrame (or Series) on its
        index: ``output`` as for :meth:`_predict_outputs`."""
        import pandas as pd

        sequences, _, order = split_panel(X)
        values = np.concatenate(self._predict_outputs(sequences, output)[0])
        out = np.empty_like(values)
        out[order] = values
        if out.ndim == 1:
            return pd.Series(out, index=X.index)
        return pd.DataFrame(out, index=X.index, columns=columns)

    def _predict_outputs(self, X, output):
        """``(list of per-step outputs, was_3d)``: the task's ``output`` (its business)."""
        raise NotImplementedError("Must be overridden in subclass")


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
