"""The estimator shared by all labelers: scikit-learn on the outside, skorch on the inside."""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import EarlyStopping, ProgressBar
from skorch.dataset import ValidSplit

from ._batching import PAD_LABEL, SequenceDataset, bucketed_loader
from ._net import SequenceNet, TimestepAccuracy
from ._validation import check_sequences, check_targets
from .metrics import timestep_accuracy_score

__all__ = ["BaseSequenceLabeler", "cpu_has_native_bf16", "fill_shared_docs", "resolve_device"]

#: Padded timesteps per batch when ``max_batch_timesteps="auto"``. A GPU needs large batches to
#: be busy (these models are launch-bound at small sizes). On a CPU, batches of 65,536 steps
#: were measured 0.81x as fast to train as batches of ~2,000-8,000 (they fall out of cache),
#: see benchmarks/RESULTS.md.
AUTO_BATCH_TIMESTEPS = {"cpu": 2**13, "cuda": 2**18}
#: Whether batches are padded to lengths that repeat (``_batching.padded_length``): on a GPU
#: each new batch shape costs cuDNN a new plan; on a CPU the extra padding is pure cost.
ROUND_BATCH_LENGTHS = {"cpu": False, "cuda": True}

_SHARED_DOCS = """
    max_epochs : int, default=30
        Passes over the training sequences.
    lr : float, default=3e-3
        Learning rate of the Adam optimizer.
    batch_size : int, default=32
        At most this many sequences per batch.
    max_batch_timesteps : int or "auto", default="auto"
        At most this many padded timesteps (rows times the longest length) per batch. Batches
        hold sequences of similar length, so padding stays small. "auto" is 8,192 on a CPU
        and 262,144 on a GPU. Prediction cuts sequences longer than this into chunks, with the
        same result as in one piece (set it after fitting to change prediction alone).
    max_train_length : int or "auto", default="auto"
        Training cuts longer sequences into windows of at most this many steps, at new random
        offsets each epoch (every step is seen once per epoch), so memory is bounded by the
        batch cap, not by the longest recording. "auto" is ``max_batch_timesteps // 4`` (so
        a batch of windows has at least 4 rows), and for a TCN at least 4 receptive fields.
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
        Torch device to train and predict on; "auto" is CUDA when available, else the CPU.
    precision : {"auto", "fp32", "bf16"}, default="auto"
        Arithmetic of the forward pass. "bf16" runs matrix products and convolutions in
        bfloat16 under :func:`torch.autocast` (weights, optimizer and loss stay float32);
        "fp32" runs everything in float32. "auto" picks whichever was measured faster for
        this model on this kind of device (see the GPU page of the guide); it is "fp32"
        wherever bf16 was not measured faster. Read again at each ``predict``, so it may be
        changed after fitting.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, batch shuffling and the validation split. The
        same value gives the same model on the CPU.
    verbose : int, default=0
        0 is silent; 1 prints a table of losses per epoch and a progress bar.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks (learning-rate schedules, checkpoints, ...). They are copied
        at fit, so the objects passed are left untouched.
"""


def fill_shared_docs(cls):
    """Put the shared keywords' documentation where a labeler's docstring says ``{shared}``."""
    cls.__doc__ = cls.__doc__.replace("    {shared}\n", _SHARED_DOCS.lstrip("\n"))
    return cls


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AMX tiles or AVX512-BF16).

    Without it, bf16 autocast on the CPU is emulated and slower than float32. The checks are
    torch's own (private, so looked up defensively).
    """
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def resolve_device(device) -> str:
    """Turn the ``device`` parameter into a torch device string, checking it exists."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu' or 'cuda'."
        ) from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available; use device='auto' "
            "to fall back to the CPU."
        )
    return str(parsed)


class BaseSequenceLabeler(ClassifierMixin, BaseEstimator):
    """Shared fit / predict / predict_proba / score over lists of variable-length sequences.

    Subclasses set ``_module`` (an ``nn.Module`` class taking ``n_features, n_classes`` and
    keyword hyperparameters) and ``_module_params`` (the names of their ``__init__`` keywords
    that go to the module), and list every keyword explicitly in ``__init__``.
    """

    _module: type[torch.nn.Module]
    _module_params: tuple[str, ...] = ()

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
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X is a list of (T_i, n_features) arrays, not one 2-D array.
        tags.input_tags.two_d_array = False
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the model to labelled sequences.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features) or (T_i,), or ndarray of shape \
(n_sequences, T, n_features)
            Sequences of any lengths; DataFrames are accepted as elements.
        y : list of array-like of shape (T_i,) or ndarray of shape (n_sequences, T)
            One label per timestep; any sortable labels (ints, strings, bools).

        Returns
        -------
        self : object
            The fitted estimator, with ``classes_``, ``n_features_in_`` and ``net_`` (the
            skorch net, whose ``history`` holds the training log).
        """
        name = type(self).__name__
        X_list, _ = check_sequences(X, estimator_name=name)
        _y_list, pooled = check_targets(y, X_list)
        # fit then transform, not fit_transform: its np.unique(return_inverse=True) peaked at
        # 391 MiB on 10 M labels, against 76 MiB for the two steps (same codes).
        encoder = LabelEncoder().fit(pooled)
        codes = encoder.transform(pooled).astype(np.int64, copy=False)
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"{name} needs at least 2 classes in y; got only {encoder.classes_[0]!r}."
            )
        if self.early_stopping and len(X_list) < 2:
            raise ValueError(
                "early_stopping=True holds out whole sequences for validation, so it needs at "
                f"least 2 sequences; got {len(X_list)}."
            )
        self.classes_ = encoder.classes_
        self.n_features_in_ = X_list[0].shape[1]
        y_codes = np.split(codes, np.cumsum([len(x) for x in X_list])[:-1])

        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        torch_seed, shuffle_seed, split_seed = rng.randint(np.iinfo(np.int32).max, size=3)
        net = self._make_net(device, int(shuffle_seed), int(split_seed), pooled)
        cuda = torch.device(device)
        forked = (
            [cuda.index if cuda.index is not None else torch.cuda.current_device()]
            if (cuda.type == "cuda")
            else []
        )
        # Seed torch without disturbing the caller's global RNG state.
        with torch.random.fork_rng(devices=forked):
            torch.manual_seed(int(torch_seed))
            net.fit(SequenceDataset(X_list, y_codes), y=None)
        self.net_ = net
        return self

    def _batch_cap(self, device):
        if self.max_batch_timesteps == "auto":
            return AUTO_BATCH_TIMESTEPS[torch.device(device).type]
        return self.max_batch_timesteps

    #: Device types ("cpu" for a CPU with native bf16 matrix units, "cuda") on which bf16
    #: autocast measured faster for this model than fp32; there ``precision="auto"`` is bf16.
    _bf16_faster_on: frozenset[str] = frozenset()

    def _resolve_precision(self, device):
        """The precision ("fp32" or "bf16") to run with on ``device``."""
        kind = torch.device(device).type
        if self.precision == "bf16" and kind == "cuda" and not torch.cuda.is_bf16_supported():
            raise ValueError(
                "precision='bf16' was requested but this GPU has no bfloat16 support; use "
                "precision='fp32' or 'auto'."
            )
        if self.precision != "auto":
            return self.precision
        if kind == "cpu" and not cpu_has_native_bf16():
            return "fp32"
        return "bf16" if kind in self._bf16_faster_on else "fp32"

    def _min_train_length(self):
        """Shortest window "auto" may choose; models with a receptive field raise it."""
        return 1

    def _make_net(self, device, shuffle_seed, split_seed, pooled_labels):
        weight = None
        if self.class_weight is not None:
            weight = torch.as_tensor(
                compute_class_weight(self.class_weight, classes=self.classes_, y=pooled_labels),
                dtype=torch.float32,
            )
        cap = self._batch_cap(device)
        window = self.max_train_length
        if window == "auto":
            window = min(cap, max(cap // 4, self._min_train_length()))
        callbacks = []
        train_split = None
        if self.early_stopping:
            train_split = ValidSplit(
                self.validation_fraction, stratified=False, random_state=split_seed
            )
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
            callbacks.append(("progress_bar", ProgressBar()))
        callbacks += copy.deepcopy(self.callbacks or [])
        module_kwargs = {f"module__{p}": getattr(self, p) for p in self._module_params}
        return SequenceNet(
            module=self._module,
            module__n_features=self.n_features_in_,
            module__n_classes=len(self.classes_),
            **module_kwargs,
            criterion=torch.nn.CrossEntropyLoss,
            criterion__weight=weight,
            criterion__ignore_index=PAD_LABEL,
            optimizer=torch.optim.Adam,
            # One fused kernel per step instead of a few per parameter tensor: on the CPU the
            # bare TCN loop trained ~1.07x faster; on a GPU it saves ~10 launches per tensor.
            optimizer__fused=True,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train=bucketed_loader,
            iterator_train__shuffle=True,
            iterator_train__random_state=shuffle_seed,
            iterator_train__max_batch_timesteps=cap,
            iterator_train__max_length=window,
            iterator_train__round_lengths=ROUND_BATCH_LENGTHS[torch.device(device).type],
            iterator_valid=bucketed_loader,
            iterator_valid__max_batch_timesteps=cap,
            iterator_valid__max_length=window,
            iterator_valid__round_lengths=ROUND_BATCH_LENGTHS[torch.device(device).type],
            train_split=train_split,
            callbacks=callbacks,
            device=device,
            precision=self._resolve_precision(device),
            verbose=self.verbose,
        )

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
        proba, was_3d = self._predict_ragged(X, labels=False)
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
        codes, was_3d = self._predict_ragged(X, labels=True)
        labels = [self.classes_[c] for c in codes]
        return np.stack(labels) if was_3d else labels

    def _predict_ragged(self, X, labels):
        """Validate X, then class probabilities (or, with ``labels``, class indices) per step."""
        check_is_fitted(self)
        X_list, was_3d = check_sequences(
            X, n_features=self.n_features_in_, estimator_name=type(self).__name__
        )
        kind = torch.device(self.net_.device).type
        self.net_.precision = self._resolve_precision(self.net_.device)
        out = self.net_.predict_ragged(
            SequenceDataset(X_list),
            chunk_length=self._batch_cap(self.net_.device),
            round_lengths=ROUND_BATCH_LENGTHS[kind],
            labels=labels,
        )
        return out, was_3d

    def score(self, X, y, sample_weight=None):
        """Timestep accuracy pooled over all timesteps of all sequences (0..1).

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features)
        y : list of array-like of shape (T_i,)
        sample_weight : None
            Not supported; present for scikit-learn's signature.

        Returns
        -------
        score : float
        """
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by score().")
        return timestep_accuracy_score(y, self.predict(X))
